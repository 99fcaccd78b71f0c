"""Patient-level stratified folds, saved once so every model sees the same patients.

The released code used an unstratified KFold and no validation split (epochs were chosen on the
test fold). Here each patient belongs to exactly one test fold, class balance is kept in every
fold, and a validation split is carved (stratified) from each training part for early stopping
and the decision threshold, so the test patients are touched only to be predicted. Repeated
cross-validation draws the folds again with another seed (`repeat_seed`), one folds.csv per repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from tmiclnet.provenance import atomic_write_text


@dataclass(frozen=True)
class FoldSplit:
    """The three disjoint patient lists of one fold."""

    fold: int
    train: list[str]  # the model learns from these (and the scaler is fitted on them)
    val: list[str]  # early stopping and threshold choice
    test: list[str]  # predicted once, at the end

    def check(self) -> None:
        """Raise if any patient sits in two parts (a leak)."""
        a, b, c = set(self.train), set(self.val), set(self.test)
        if a & b or a & c or b & c:
            raise ValueError(f"fold {self.fold}: train/val/test share patients")


def repeat_seed(seed: int, repeat: int) -> int:
    """The seed of cross-validation repeat `repeat`: `seed` itself for repeat 0 (the main run's
    folds), `seed + repeat` for the others."""
    if repeat < 0:
        raise ValueError(f"repeat {repeat}: must be >= 0")
    return int(seed) + int(repeat)


def make_folds(labels: pd.Series, n_folds: int, seed: int) -> pd.DataFrame:
    """DataFrame(id, label, fold): StratifiedKFold(n_folds, shuffle, seed) over patients."""
    labels = labels.astype(int).sort_index()
    counts = labels.value_counts()
    if len(counts) < 2 or counts.min() < n_folds:
        raise ValueError(
            f"cannot make {n_folds} stratified folds from class counts "
            f"{counts.to_dict()}: each class needs at least {n_folds} patients"
        )
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold = np.empty(len(labels), dtype=int)
    for k, (_, test_idx) in enumerate(skf.split(np.zeros(len(labels)), labels.to_numpy())):
        fold[test_idx] = k
    return pd.DataFrame({"id": labels.index.astype(str), "label": labels.to_numpy(), "fold": fold})


def load_or_make_folds(path: Path, labels: pd.Series, n_folds: int, seed: int) -> pd.DataFrame:
    """The folds saved at `path`, made and saved first if absent.

    A saved file that disagrees with the cohort (other patients, labels or fold count) raises
    instead of being silently reused or overwritten.
    """
    path = Path(path)
    if path.exists():
        folds = pd.read_csv(path, dtype={"id": str})
        want = labels.astype(int).sort_index()
        got = folds.set_index("id")["label"].sort_index()
        if (
            list(got.index) != list(want.index.astype(str))
            or not (got.to_numpy() == want.to_numpy()).all()
        ):
            raise ValueError(
                f"{path}: patients or labels differ from the cohort; delete the "
                "results folder (or pass another one) to make new folds"
            )
        if folds["fold"].nunique() != n_folds:
            raise ValueError(
                f"{path}: has {folds['fold'].nunique()} folds, the profile asks for {n_folds}"
            )
        return folds
    folds = make_folds(labels, n_folds, seed)
    atomic_write_text(path, folds.to_csv(index=False))
    return folds


def split(folds: pd.DataFrame, fold: int, val_fraction: float, seed: int) -> FoldSplit:
    """Fold `fold`'s test patients, and its training part divided (stratified) into train/val."""
    test = folds.loc[folds["fold"] == fold]
    rest = folds.loc[folds["fold"] != fold]
    if test.empty:
        raise ValueError(f"fold {fold} does not exist (folds {sorted(folds['fold'].unique())})")
    tr, va = train_test_split(
        rest, test_size=val_fraction, stratify=rest["label"], random_state=seed + fold
    )
    out = FoldSplit(fold, sorted(tr["id"]), sorted(va["id"]), sorted(test["id"]))
    out.check()
    return out
