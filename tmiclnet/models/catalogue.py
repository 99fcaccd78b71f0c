"""Every model the book trains, by name: `catalogue()` lists them, `build(name, **config)` builds
one.

Like fusilli's model list: each entry declares its modalities and fusion type, so experiments can
filter and always compare a fusion model with unimodal baselines on the same folds.
`variant` in the config applies to every entry except the two TMI-CLNet entries, whose name fixes
it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from torch import nn

from tmiclnet.batch import MODALITIES
from tmiclnet.config import CtStrategy, Profile
from tmiclnet.models.baselines import LateFusion
from tmiclnet.models.cox import CoxModel
from tmiclnet.models.tmiclnet import TMICLNet

ALL = MODALITIES


@dataclass(frozen=True)
class Entry:
    name: str
    modalities: tuple[str, ...]
    fusion: str  # none | tcaf | concat | late
    description: str
    options: dict = field(default_factory=dict)  # TMICLNet arguments fixed by the entry
    train: dict = field(default_factory=dict)  # TrainConfig overrides (e.g. modality_dropout)
    target: str = "binary"  # binary: the label; survival: time to event (models.cox.CoxModel)


ENTRIES = [
    Entry(
        "tmiclnet_tokens",
        ALL,
        "tcaf",
        "TMI-CLNet as the paper describes it: token IMA, multi-head "
        "cross-attention TCAF, TMFF loss",
        {"variant": "tokens"},
    ),
    Entry(
        "tmiclnet_released",
        ALL,
        "tcaf",
        "TMI-CLNet as the released code computes it: one-token IMA, "
        "27-parameter scalar TCAF, 1-D DenseNet head, TMFF loss",
        {"variant": "released"},
    ),
    Entry("ct_only", ("ct",), "none", "CT encoder + IMA + MLP head, cross-entropy"),
    Entry(
        "radiomics_only",
        ("radiomics",),
        "none",
        "radiomics encoder + IMA + MLP head, cross-entropy",
    ),
    Entry("text_only", ("text",), "none", "text encoder + IMA + MLP head, cross-entropy"),
    Entry(
        "ct_radiomics",
        ("ct", "radiomics"),
        "tcaf",
        "TMI-CLNet on CT and radiomics only (SDM on the pair)",
    ),
    Entry("ct_text", ("ct", "text"), "tcaf", "TMI-CLNet on CT and text only (SDM on the pair)"),
    Entry(
        "radiomics_text",
        ("radiomics", "text"),
        "tcaf",
        "TMI-CLNet on radiomics and text only (SDM on the pair)",
    ),
    Entry(
        "early_fusion",
        ALL,
        "concat",
        "concatenated encoder vectors (no IMA, no TCAF) + MLP, cross-entropy",
        {"ima": False, "fusion": "concat", "w2": 0.0},
    ),
    Entry(
        "late_fusion",
        ALL,
        "late",
        "three unimodal models, probabilities averaged over the modalities a patient has",
    ),
    Entry(
        "no_ima",
        ALL,
        "tcaf",
        "ablation: TMI-CLNet without IMA (tokens mean-pooled)",
        {"ima": False},
    ),
    Entry(
        "no_tcaf",
        ALL,
        "concat",
        "ablation: TMI-CLNet with concatenation instead of TCAF",
        {"fusion": "concat"},
    ),
    Entry(
        "no_tmff",
        ALL,
        "tcaf",
        "ablation: TMI-CLNet trained with cross-entropy only (w2 = 0)",
        {"w2": 0.0},
    ),
]
# Variants trained on demand for the robustness page (tmiclnet.study.dropout_variants), not by the
# training page: the same models trained with modality dropout, so that a dropped modality at
# test time meets a model that has learned to predict without it.
MODALITY_DROPOUT = 0.3
DROPOUT_VARIANTS = [
    Entry(
        "tmiclnet_tokens_md",
        ALL,
        "tcaf",
        f"tmiclnet_tokens trained with modality dropout p={MODALITY_DROPOUT} (an absent "
        "modality is masked out of TCAF and of the mean over modalities)",
        {"variant": "tokens"},
        {"modality_dropout": MODALITY_DROPOUT},
    ),
    Entry(
        "early_fusion_md",
        ALL,
        "concat",
        f"early_fusion trained with modality dropout p={MODALITY_DROPOUT} (an absent "
        "modality's vector is replaced by a learned missing vector)",
        {"ima": False, "fusion": "concat", "w2": 0.0},
        {"modality_dropout": MODALITY_DROPOUT},
    ),
]
# Variants trained on time to event for the survival page (tmiclnet.train.survival), on every
# patient, censored included: the base model with the Cox partial likelihood as its loss.
COX_SUFFIX = "_cox"
SURVIVAL_BASES = ("tmiclnet_tokens", "ct_only", "radiomics_only", "text_only")
_BASES = {e.name: e for e in ENTRIES}
SURVIVAL_VARIANTS = [
    Entry(
        f"{b}{COX_SUFFIX}",
        _BASES[b].modalities,
        _BASES[b].fusion,
        f"{b} trained with the Cox partial likelihood on time to event, censored patients in",
        _BASES[b].options,
        target="survival",
    )
    for b in SURVIVAL_BASES
]
BY_NAME = {e.name: e for e in ENTRIES + DROPOUT_VARIANTS + SURVIVAL_VARIANTS}


def cox_name(base: str) -> str:
    """The Cox-trained variant of catalogue model `base` (one of `SURVIVAL_BASES`).

    Args:
        base: a catalogue name.
    """
    if base not in SURVIVAL_BASES:
        raise ValueError(f"no Cox-trained variant of {base!r}; there are of {SURVIVAL_BASES}")
    return f"{base}{COX_SUFFIX}"


CONFIG_KEYS = {
    "rad_features",
    "rad_families",
    "rad_hidden",
    "text_model",
    "text_dim",
    "text_finetune",
    "use_text_tokens",
    "ct_depth",
    "ct_widen",
    "use_ct_tokens",
    "ct_token_dim",
    "ct_conv1_stride",
    "ct_conv1_size",
    "ct_channels_last",
    "ct_norm",
    "variant",
    "dim",
    "heads",
    "dropout",
    "head",
    "w1",
    "w2",
}


def catalogue(variants: bool = False) -> pd.DataFrame:
    """name, modalities, fusion, description - one row per model, in the book's order.

    Args:
        variants: also list the modality-dropout variants (`DROPOUT_VARIANTS`), which the
            robustness page trains on demand; "all" models of the training page are the others.
    """
    return pd.DataFrame(
        [
            {
                "name": e.name,
                "modalities": ",".join(e.modalities),
                "fusion": e.fusion,
                "description": e.description,
            }
            for e in ENTRIES + (DROPOUT_VARIANTS if variants else [])
        ]
    )


def train_overrides(name: str) -> dict:
    """TrainConfig fields that catalogue model `name` fixes (its modality dropout), {} for most.

    Args:
        name: a catalogue name.
    """
    if name not in BY_NAME:
        raise ValueError(f"unknown model {name!r}; the catalogue has {list(BY_NAME)}")
    return dict(BY_NAME[name].train)


def modalities_of(name: str) -> tuple[str, ...]:
    """The modalities catalogue model `name` reads, in `MODALITIES` order."""
    if name not in BY_NAME:
        raise ValueError(f"unknown model {name!r}; the catalogue has {list(BY_NAME)}")
    return BY_NAME[name].modalities


def ct_only_name() -> str:
    """The catalogue's CT-only model: it trains the CT encoder whose tokens the cached-CT models
    read (`CtStrategy.CACHED`)."""
    names = [e.name for e in ENTRIES if e.modalities == ("ct",)]
    if not names:
        raise ValueError("the catalogue has no CT-only model; use ct_strategy='end_to_end'")
    return names[0]


def trains_ct_encoder(name: str, profile: Profile) -> bool:
    """Whether catalogue model `name` trains a CT encoder under `profile`: the CT-only model when
    the fold's CT tokens are cached, every model that reads CT when each trains its own.

    Args:
        name: a catalogue name.
        profile: the run's profile (its `ct_strategy`).
    """
    if "ct" not in modalities_of(name):
        return False
    return profile.ct_strategy is CtStrategy.END_TO_END or name == ct_only_name()


def build(name: str, **config) -> nn.Module:
    """A freshly initialised catalogue model (seed torch first for reproducible weights).

    Args:
        name: a catalogue name (`tmiclnet.models.catalogue()` lists them), e.g. ``tmiclnet_tokens``.
        **config: rad_features (required when the model reads radiomics; default 1 otherwise), and
            any of CONFIG_KEYS; `tmiclnet.models.model_config(profile)` gives the profile's sizes.
    """
    if name not in BY_NAME:
        raise ValueError(f"unknown model {name!r}; the catalogue has {list(BY_NAME)}")
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        raise TypeError(
            f"build({name!r}): unknown config keys {sorted(unknown)}; valid: {sorted(CONFIG_KEYS)}"
        )
    entry = BY_NAME[name]
    if "radiomics" in entry.modalities and "rad_features" not in config:
        raise ValueError(f"build({name!r}) needs rad_features (number of radiomic columns)")
    config.setdefault("rad_features", 1)
    if name.startswith("tmiclnet_"):
        config.pop("variant", None)
    if entry.fusion == "late":
        config.pop("w2", None)
        return LateFusion(entry.modalities, **config)
    model = TMICLNet(entry.modalities, **{**config, **entry.options})
    return CoxModel(model) if entry.target == "survival" else model


def catalogue_names(spec: str) -> list[str]:
    """'all' = the whole catalogue, else the comma-separated names (as given; `run_cv` checks them).

    Used by notebook 08 (training).

    Args:
        spec: ``all`` or comma-separated catalogue names.
    """
    if spec.strip() == "all":
        return [e.name for e in ENTRIES]
    return [m.strip() for m in spec.split(",") if m.strip()]
