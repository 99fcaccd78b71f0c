"""The CT learning-rate study: its own store, the main run's folds, another training seed, a
validation-only reading, one-line errors; and the cpu profile's rate is the one its record backs."""

from __future__ import annotations

import pandas as pd
import pytest

from tests import tiny_cohort as tiny
from tests.cli.runner import one_line_error, run, run_both
from tmiclnet import results
from tmiclnet.book import measured
from tmiclnet.config import get_profile
from tmiclnet.study import ct_lr

QUICK = ["--profile", "quick"]


def test_a_variant_has_a_store_of_its_own(tmp_path) -> None:
    assert ct_lr.variant_store(tmp_path, 5e-4, 1) == tmp_path / "studies/ct_lr/lr0.0005/seed1"
    with pytest.raises(ValueError, match="lr > 0"):
        ct_lr.variant_store(tmp_path, 0.0, 1)


@pytest.mark.parametrize(
    "flag, value, expect",
    [("--lrs", "fast", "comma-separated floats"), ("--lrs", "0", "a learning rate is > 0"),
     ("--seed-offsets", "-1", "none negative")],
)  # fmt: skip
def test_bad_options_get_one_line(tmp_path, capsys, flag, value, expect) -> None:
    argv = ["study", "ct-lr", "--cohort", str(tmp_path / "pbc"), *QUICK, flag, value]
    one_line_error(argv, capsys, flag, expect)


def test_a_missing_cohort_is_named(tmp_path, capsys) -> None:
    argv = ["study", "ct-lr", "--cohort", str(tmp_path / "nowhere"), *QUICK]
    one_line_error(argv, capsys, str(tmp_path / "nowhere"), "no such cohort folder")


@pytest.mark.slow
def test_a_variant_trains_on_the_main_folds_with_another_seed(tiny_cohort, tmp_path, capsys,
                                                              monkeypatch) -> None:  # fmt: skip
    monkeypatch.setenv("TMICLNET_CACHE", str(tmp_path / "cache"))
    root = tiny_cohort()
    before = tiny.snapshot(root)
    argv = ["study", "ct-lr", "--cohort", str(root), *QUICK, "--lrs", "1e-3", "--seed-offsets", "1"]
    one_line_error(argv, capsys, "folds.csv", "train repeat 0 first")  # no main run yet
    assert run(["train", "--cohort", str(root), *QUICK, "--model", "ct_only"], capsys)[0] == 0
    code, out, _ = run_both(argv, capsys)
    assert code == 0 and "collapsed folds" in out
    store = ct_lr.variant_store(root.parent, 1e-3, 1)
    main = results.results_root(root.parent)
    assert (
        results.folds_path(store, root.name).read_text()
        == results.folds_path(main, root.name).read_text()
    )
    for k in range(get_profile("quick").folds):
        done = results.read_json(results.fold_dir(store, root.name, "ct_only", k) / "done.json")
        assert done["config"]["train"]["seed"] == 1000 + k  # seed 0 + offset 1 x 1000 + fold
        assert done["config"]["train"]["lr"] == 1e-3
    row = ct_lr.validation_rows(root.parent, root.name, 1e-3, 1, [0])
    assert row["folds"] == 2 and 0 <= row["collapsed folds"] <= 2
    assert tiny.snapshot(root) == before


def test_the_cpu_rate_is_the_one_its_record_backs() -> None:
    """The cpu profile's CT rate never let a fold's training die in the record, on either cohort
    or seed, and reads no worse on validation than any other rate recorded, cohort by cohort."""
    rec = measured.load("ct_lr").rows
    rate = get_profile("cpu").ct_lr
    rec["peak lr"] = rec["peak lr"].astype(float)
    assert rate in set(rec["peak lr"])
    assert (rec[rec["peak lr"] == rate]["collapsed folds"] == 0).all()
    mean = rec.groupby(["cohort", "peak lr"])["val AUC kept"].mean().unstack()
    assert (mean[rate] >= mean.max(axis=1) - 1e-9).all(), mean
    assert isinstance(rec, pd.DataFrame) and set(rec["cohort"]) == {"pbc", "synthetic"}
