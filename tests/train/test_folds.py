"""Folds: patient-level, stratified, disjoint, saved once and reused; val carved from training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmiclnet.inputs import folds


def _labels(n: int = 103, pos: float = 0.37, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < pos).astype(int)
    return pd.Series(y, index=[f"p-{i:04d}" for i in range(n)])


def test_folds_partition_patients_and_keep_class_balance() -> None:
    labels = _labels()
    table = folds.make_folds(labels, 5, seed=0)
    assert sorted(table["id"]) == sorted(labels.index) and table["id"].is_unique
    rate = labels.mean()
    for k, part in table.groupby("fold"):
        assert abs(len(part) - len(labels) / 5) <= 1
        # stratified: each fold's positive rate within one patient of the cohort's
        assert abs(part["label"].mean() - rate) <= 1.5 / len(part), k


def test_split_is_disjoint_and_validation_stratified() -> None:
    labels = _labels()
    table = folds.make_folds(labels, 5, seed=0)
    tests = []
    for k in range(5):
        s = folds.split(table, k, val_fraction=0.2, seed=0)
        tr, va, te = set(s.train), set(s.val), set(s.test)
        assert not (tr & va) and not (tr & te) and not (va & te)
        assert tr | va | te == set(labels.index)
        assert set(table.loc[table["fold"] == k, "id"]) == te
        assert abs(labels[list(va)].mean() - labels[list(tr)].mean()) < 0.1
        tests += s.test
    assert sorted(tests) == sorted(labels.index)  # every patient is tested exactly once


def test_folds_saved_once_and_reused(tmp_path) -> None:
    labels = _labels()
    path = tmp_path / "folds.csv"
    first = folds.load_or_make_folds(path, labels, 5, seed=0)
    again = folds.load_or_make_folds(
        path, labels, 5, seed=123
    )  # another seed: still the saved file
    pd.testing.assert_frame_equal(first, again)
    flipped = labels.copy()
    flipped.iloc[0] = 1 - flipped.iloc[0]
    with pytest.raises(ValueError, match="differ"):
        folds.load_or_make_folds(path, flipped, 5, seed=0)
    with pytest.raises(ValueError, match="folds"):
        folds.load_or_make_folds(path, labels, 3, seed=0)


def test_too_few_patients_per_class_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="stratified"):
        folds.make_folds(pd.Series([0, 0, 0, 1, 1], index=list("abcde")), 5, seed=0)
