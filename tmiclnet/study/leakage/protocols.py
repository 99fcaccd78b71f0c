"""The protocols: three switches on how a cross-validation treats its test fold.

A protocol is data, not code: its switches enter every fold key of the study (`assembly`), and
what each switch does to the folds, the splits and the scaler is written in `assembly`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Protocol:
    """How a cross-validation treats its test fold: our protocol has every switch off."""

    name: str
    scaler_on_all: bool = False  # radiomics imputed and z-scored on every patient, before folds
    stop_on_test: bool = False  # no validation split: early stopping, best epoch, threshold on test
    unstratified: bool = False  # KFold (the release's) instead of StratifiedKFold

    @property
    def leaks(self) -> list[str]:
        """The switches that are on, in words."""
        words = {
            "scaler_on_all": "scaler on all patients",
            "stop_on_test": "stopping on the test fold",
            "unstratified": "unstratified folds",
        }
        return [w for f, w in words.items() if getattr(self, f)]


OURS = Protocol("ours")
PROTOCOLS = (
    OURS,
    Protocol("scaler on all", scaler_on_all=True),
    Protocol("stop on test", stop_on_test=True),
    Protocol("unstratified", unstratified=True),
    Protocol("released", scaler_on_all=True, stop_on_test=True, unstratified=True),
)
BY_NAME = {p.name: p for p in PROTOCOLS}


def protocols_table(protocols: tuple[Protocol, ...] = PROTOCOLS) -> pd.DataFrame:
    """One row per protocol, one column per switch (True = that leak is on).

    Args:
        protocols: the protocols to list (default: all).
    """
    rows = [{k: v for k, v in dataclasses.asdict(p).items()} for p in protocols]
    return pd.DataFrame(rows).set_index("name")


def labels_tag(permute_seed: int | None) -> str:
    """The folder name of one labelling: `real`, or `permuted-<seed>`."""
    return "real" if permute_seed is None else f"permuted-{permute_seed}"
