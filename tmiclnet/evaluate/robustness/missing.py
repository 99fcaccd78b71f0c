"""Which models are asked to predict without a modality, and how each one does without it.

Only a model that learned to predict without a modality is asked to: a modality-dropout variant
(its stand-in for an absent modality was trained) or late fusion (it averages the unimodal models
a patient has). Any other model would meet an untrained stand-in, and its row would measure that
initialisation, not robustness.
"""

from __future__ import annotations

import pandas as pd

from tmiclnet.models.catalogue import BY_NAME, train_overrides


def model_names(models) -> list[str]:
    """Catalogue names from a list or a comma-separated string (as papermill passes it).

    Args:
        models: catalogue names, as a list or one comma-separated string.
    """
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in models if m not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; the catalogue has {sorted(BY_NAME)}")
    return list(models)


def modality_dropout_of(name: str) -> float:
    """The modality-dropout probability catalogue model `name` was trained with (0: none).

    Args:
        name: a catalogue name.
    """
    return float(train_overrides(name).get("modality_dropout", 0.0))


# How a model meets a missing modality: the long form (`missing_inputs`) and the table's tag.
_MISSING = {
    "late": (
        "averages the unimodal models of the modalities a patient has (no stand-in)",
        "averages the rest",
    ),
    "vector": (
        "a learned missing vector takes the absent modality's place in the concatenation",
        "learned vector",
    ),
    "mask": (
        "the absent modality is masked out of TCAF's keys and of the mean over modalities",
        "masked out",
    ),
}


def _missing_way(name: str) -> str | None:
    """ "late", "vector" or "mask": how `name` predicts without a modality; None: it did not
    learn to (or reads one modality)."""
    entry = BY_NAME[name]
    if len(entry.modalities) < 2:
        return None
    if entry.fusion == "late":
        return "late"
    if modality_dropout_of(name) <= 0:
        return None
    released = entry.options.get("variant") == "released"
    return "vector" if entry.fusion == "concat" or released else "mask"


def missing_inputs(name: str) -> str | None:
    """How model `name` predicts without a modality, when it learned to; None when it did not
    (then its drop-a-modality rows are not computed).

    Args:
        name: a catalogue name.
    """
    way = _missing_way(name)
    if way is None:
        return None
    how = _MISSING[way][0]
    return (
        how
        if way == "late"
        else f"trained with modality dropout p={modality_dropout_of(name):g}: {how}"
    )


def missing_inputs_table(models) -> pd.DataFrame:
    """One row per model: its modality-dropout p and, as a short tag, how it predicts without a
    modality ("not asked": it was not trained for missing inputs, so its rows are not computed).

    Used by notebook 12 (robustness), whose text spells out each tag.

    Args:
        models: catalogue names, as a list or one comma-separated string.
    """
    rows = []
    for name in model_names(models):
        way = _missing_way(name)
        if len(BY_NAME[name].modalities) < 2:
            tag = "one modality only"
        else:
            tag = _MISSING[way][1] if way else "not asked"
        rows.append({"model": name, "dropout p": modality_dropout_of(name), "without one": tag})
    return pd.DataFrame(rows).set_index("model")
