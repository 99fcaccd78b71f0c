"""Recorded measurements: written with provenance, read back, paired only on the same folds."""

import pandas as pd
import pytest

from tests.evaluate.fakes import fake_results
from tmiclnet.book import measured


def test_record_round_trip_and_pairing(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    fake_results(old, "toy", ("a", "b"), seed=0)
    fake_results(new, "toy", ("a", "b"), seed=1)  # same folds, other predictions
    rows = measured.fold_rows(old, "toy", ["a", "b"], [0])
    assert len(rows) == 4 and set(rows.columns) >= {"auc", "kept_epoch", "folds_sha"}
    measured.record("toy", rows, "what", "cmd", "abc123", tmp_path / "m")
    rec = measured.load("toy", tmp_path / "m")
    assert rec.meta["commit"] == "abc123" and rec.meta["rows"] == 4
    table = measured.versus_now(rec, new, "toy", ["a", "b"], 0.3125)
    assert table["paired"].all()
    now = measured.fold_rows(new, "toy", ["a"], [0])["auc"].mean()
    assert table.loc["a", "now"] == pytest.approx(now)
    assert table.loc["a", "change"] == pytest.approx(now - rows[rows.model == "a"]["auc"].mean())


def test_other_folds_are_not_paired(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    fake_results(old, "toy", ("a",), seed=0)
    fake_results(new, "toy", ("a",), seed=0)
    folds = pd.read_csv(new / "toy" / "folds.csv")
    folds["fold"] = 1 - folds["fold"]  # the same patients in the other fold
    folds.to_csv(new / "toy" / "folds.csv", index=False)
    rec = measured.Record(measured.fold_rows(old, "toy", ["a"], [0]), {})
    table = measured.versus_now(rec, new, "toy", ["a"], 0.3125)
    assert not table["paired"].any() and pd.isna(table.loc["a", "now"])


def test_missing_record_is_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="toy.csv: missing"):
        measured.load("toy", tmp_path)
