"""Evaluation sets apart what would mislead: unfinished folds, results of other code."""

from __future__ import annotations

import json

from tests.evaluate.fakes import fake_results
from tmiclnet import results
from tmiclnet.evaluate import report


def test_a_model_with_an_unfinished_fold_is_not_averaged(tmp_path) -> None:
    fake_results(tmp_path, models=("a", "b"), folds=2)
    (results.fold_dir(tmp_path, "toy", "b", 1) / "done.json").unlink()  # fold 1 never finished
    rep = report.build_report(tmp_path, "toy", n_boot=50)
    assert "b" not in rep.comparison.index and "a" in rep.comparison.index
    assert any(n.startswith("b: 1 of 2 folds finished") for n in rep.notes)


def test_results_of_other_code_are_set_apart(tmp_path) -> None:
    fake_results(tmp_path, models=("a", "b"), folds=2)
    for k in range(2):
        done = results.fold_dir(tmp_path, "toy", "a", k) / "done.json"
        done.write_text(json.dumps({**json.loads(done.read_text()), "code": "older code"}))
    usable, notes = report.usable_models(tmp_path, "toy")
    assert usable == ["b"]
    assert notes == [
        "a: trained by other code than the current; retrain it; left out of every table"
    ]


def test_robustness_variants_stay_out_of_the_catalogue_tables(tmp_path) -> None:
    fake_results(tmp_path, models=("a", "tmiclnet_tokens_md"), folds=2)
    usable, notes = report.usable_models(tmp_path, "toy")
    assert usable == ["a"]
    assert notes == [
        "tmiclnet_tokens_md: trained for the robustness page (modality dropout); "
        "left out of every table"
    ]
