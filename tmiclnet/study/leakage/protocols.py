"""The protocols: switches on how a cross-validation treats its test fold, and one control.

A protocol is data, not code: its switches enter every fold key of the study (`assembly`), and
what each switch does to the folds, the splits and the scaler is written in `assembly`.

Stopping on the test fold changes two things at once: the test fold chooses the epoch (a leak),
and the validation patients join the training part (25 % more patients to learn from, no leak).
The control `fixed epochs` separates them: no validation split either, so it trains on exactly
the patients that `stop on test` trains on, for a fixed number of epochs, and keeps the last
one. Its gap to ours is the extra data; the gap from it to `stop on test` is the leak. The
released code waits 50 epochs without improvement (`RELEASE_PATIENCE`) before it stops, not the
profile's patience: the protocols that stop on the test fold use it, so the test fold picks from
as many epochs as the release lets it.
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
    # the control: no validation split, a fixed number of epochs (the profile's), the last kept;
    # the threshold is chosen on the training patients, the only ones it has
    fixed_epochs: bool = False
    patience: int | None = None  # epochs without improvement before stopping; None = profile's

    @property
    def leaks(self) -> list[str]:
        """The switches that are on, in words."""
        words = {
            "scaler_on_all": "scaler on all patients",
            "stop_on_test": "stopping on the test fold",
            "unstratified": "unstratified folds",
        }
        return [w for f, w in words.items() if getattr(self, f)]


# The released code's early-stopping patience, in epochs (book/released_vs_paper.md)
RELEASE_PATIENCE = 50

OURS = Protocol("ours")
FIXED_EPOCHS = Protocol("fixed epochs", fixed_epochs=True)
PROTOCOLS = (
    OURS,
    Protocol("scaler on all", scaler_on_all=True),
    FIXED_EPOCHS,
    Protocol("stop on test", stop_on_test=True, patience=RELEASE_PATIENCE),
    Protocol("unstratified", unstratified=True),
    Protocol(
        "released",
        scaler_on_all=True,
        stop_on_test=True,
        unstratified=True,
        patience=RELEASE_PATIENCE,
    ),
)
BY_NAME = {p.name: p for p in PROTOCOLS}
# the kinds of labels a replicate of the study has (`replicates`)
KINDS = ("real", "permuted")
# On permuted labels only a switch that reads labels can lift the AUC above chance: the scaler reads
# none, and unstratified folds change each fold's class balance, not what it knows. So there the
# release is `stop on test` plus noise, and the replicated study runs its many permuted labellings
# under ours, the control and `stop on test` only (`replicates.kind_protocols`); the real labels'
# repeats run every protocol. This keeps chapter 11 within its minutes (notebook 11 says so).
LABEL_READING = (OURS, FIXED_EPOCHS, BY_NAME["stop on test"])
# The protocols the training page's own path runs (`training.run_study`): every one but the
# control, whose last-epoch rule that path has no setting for (`replicates` runs it)
TRAINING_PATH = tuple(p for p in PROTOCOLS if not p.fixed_epochs)


def kind_protocols(
    kind: str,
    protocols: tuple[Protocol, ...],
    permuted: tuple[Protocol, ...] | None = LABEL_READING,
) -> tuple[Protocol, ...]:
    """The protocols one kind of labels runs: all of `protocols` on the real labels; on permuted
    ones those of them in `permuted` (default: those that can read labels, `LABEL_READING`), in
    `protocols`' order.

    Args:
        kind: "real" or "permuted".
        protocols: the protocols asked for.
        permuted: the protocols permuted labels run; None: all of `protocols`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if kind == "real" or permuted is None:
        return tuple(protocols)
    return tuple(p for p in protocols if p in permuted)


def protocols_table(protocols: tuple[Protocol, ...] = PROTOCOLS) -> pd.DataFrame:
    """One row per protocol, one column per switch (True = that leak is on). The patience is left
    out, for the page's width: the release's 50 epochs wherever `stop_on_test` is on, the
    profile's elsewhere.

    Args:
        protocols: the protocols to list (default: all).
    """
    rows = [{k: v for k, v in dataclasses.asdict(p).items()} for p in protocols]
    return pd.DataFrame(rows).set_index("name").drop(columns="patience")


def labels_tag(permute_seed: int | None) -> str:
    """The folder name of one labelling: `real`, or `permuted-<seed>`."""
    return "real" if permute_seed is None else f"permuted-{permute_seed}"
