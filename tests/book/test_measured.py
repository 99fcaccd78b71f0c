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
    table = measured.versus_now(rec, new, "toy", ["a", "b"], 0.2, 0)
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
    table = measured.versus_now(rec, new, "toy", ["a"], 0.2, 0)
    assert not table["paired"].any() and pd.isna(table.loc["a", "now"])


def test_missing_record_is_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="toy.csv: missing"):
        measured.load("toy", tmp_path)


def test_kept_counts_and_display(tmp_path):
    rows = pd.DataFrame(
        {"model": ["ct_only"] * 4 + ["x"], "kept_epoch": [0, 1, 0, 5, 0], "epochs": [5, 6, 5, 9, 1]}
    )
    assert measured.kept_counts(rows) == {
        "epoch 0": 2,
        "epoch 0 or 1": 3,
        "folds": 4,
        "epochs run": 6.25,
    }
    change = pd.DataFrame(
        {
            "recorded": [0.6],
            "now": [0.7],
            "paired": [True],
            "change": [0.1],
            "low": [0.02],
            "high": [0.18],
            "p": [0.0004],
            "folds": [15],
        },
        index=["ct_only"],
    )
    shown = measured.display_change(change)
    assert shown.loc["ct_only", "now − before [95%]"] == "+0.100 [+0.020, +0.180]"
    assert shown.loc["ct_only", "p"] == "< 0.001"


def test_the_learning_rate_note_counts_dead_trainings_per_rate():
    rows = pd.DataFrame(
        {"cohort": ["pbc", "pbc", "synthetic", "synthetic"], "peak lr": ["0.001", "0.0005"] * 2,
         "seed offset": [0] * 4, "folds": [15] * 4, "val AUC kept": [0.64, 0.65, 0.71, 0.72],
         "collapsed folds": [3, 0, 2, 0]}
    )  # fmt: skip
    meta = {"what": "Toy.", "commit": "abc", "date": "2026-12-07", "command": "cmd"}
    note = measured.ct_lr_note(measured.Record(rows, meta))
    assert "at 0.001, 5 of 30; at 0.0005, 0 of 30" in note and "`abc`" in note
