"""Repeated CV and permuted labels: layouts, seeds, keys, and shuffling of the labels only."""

from __future__ import annotations

import json

import pytest

from tests.train.test_cv import MODEL, RUN
from tests.train.tiny import cv, labels_of, radiomics_inputs, small_run
from tmiclnet import results
from tmiclnet.config import PROFILES
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.permute import permute_inputs, permuted_labels
from tmiclnet.train.repeats import COMPARISON_MODELS

pytestmark = pytest.mark.usefixtures("one_thread")


def test_profiles_repeat_more_where_there_is_time() -> None:
    assert [PROFILES[p].cv_repeats for p in ("quick", "cpu", "gpu")] == [1, 3, 5]


def test_comparison_models_are_in_the_catalogue() -> None:
    from tmiclnet.models.catalogue import BY_NAME

    assert set(COMPARISON_MODELS) <= set(BY_NAME)
    assert {"tmiclnet_tokens", "ct_only", "text_only", "radiomics_only"} <= set(COMPARISON_MODELS)


def test_repeat_zero_is_the_old_single_run(tmp_path) -> None:
    """Repeat 0 writes where, and exactly what, a run without repeats wrote before: folds.csv is
    StratifiedKFold with the run's seed, byte for byte, under <results>/<cohort>/."""
    run, out = small_run(tmp_path, **RUN), tmp_path / "results"
    inputs = radiomics_inputs()
    cv(inputs, run, out, [MODEL], repeat=0)
    path = results.folds_path(out, "syn")
    old = folds_mod.make_folds(labels_of(inputs), run.profile.folds, run.seed)
    assert path.read_text() == old.to_csv(index=False)
    assert results.repeat_dir(out, 0) == out and results.run_dir(out) == out
    assert sorted(p.name for p in (out / "syn").iterdir()) == ["folds.csv", MODEL]


def test_repeats_draw_other_folds_apart_with_other_keys(tmp_path) -> None:
    run, out = small_run(tmp_path, **RUN), tmp_path / "results"
    inputs = radiomics_inputs()
    cv(inputs, run, out, [MODEL], repeat=0)
    second = cv(inputs, run, out, [MODEL], repeat=1)
    assert list(second["status"]) == ["trained", "trained"]  # nothing of repeat 0 is reused
    f0 = results.read_folds(out, "syn").set_index("id")["fold"]
    r1 = results.repeat_dir(out, 1)
    assert r1 == out / "repeat1"
    f1 = results.read_folds(r1, "syn").set_index("id")["fold"]
    assert (f0 != f1).any()  # other folds...
    again = folds_mod.make_folds(labels_of(inputs), run.profile.folds, run.seed + 1)
    assert (again.set_index("id")["fold"] == f1).all()  # ... drawn with seed + 1
    for k in range(2):
        k0 = results.read_json(results.fold_dir(out, "syn", MODEL, k) / "done.json")
        k1 = results.read_json(results.fold_dir(r1, "syn", MODEL, k) / "done.json")
        assert k0["config_hash"] != k1["config_hash"]
    assert list(cv(inputs, run, out, [MODEL], repeat=1)["status"]) == ["skipped", "skipped"]


def test_permutation_moves_labels_only() -> None:
    inputs = radiomics_inputs()
    labels = labels_of(inputs)
    perm_inputs, perm = permute_inputs(inputs, labels, seed=3)
    assert list(perm.index) == list(labels.index)  # same patients
    assert sorted(perm) == sorted(labels) and (perm != labels).any()  # same labels, moved
    assert (perm_inputs.labels.numpy() == perm.loc[inputs.ids].to_numpy()).all()
    assert perm_inputs.radiomics is inputs.radiomics  # the inputs stay with their patients
    assert perm_inputs.ids == inputs.ids
    assert perm_inputs.info == {**inputs.info, "labels": "permuted:3"}
    assert (permuted_labels(labels, 3) == perm).all()  # seeded
    assert (permuted_labels(labels.iloc[::-1], 3) == perm).all()  # row order does not matter
    assert not (permuted_labels(labels, 4) == perm).all()


def test_permuted_results_are_kept_apart(tmp_path) -> None:
    run, out = small_run(tmp_path, **RUN), tmp_path / "results"
    inputs = radiomics_inputs()
    cv(inputs, run, out, [MODEL])
    real = {p: p.read_bytes() for p in (out / "syn").rglob("*") if p.is_file()}
    rows = cv(inputs, run, out, [MODEL], permute_labels=5)
    assert list(rows["status"]) == ["trained", "trained"]
    assert {p: p.read_bytes() for p in (out / "syn").rglob("*") if p.is_file()} == real
    where = results.permuted_dir(out, 5)
    assert where == out / "permuted5" and results.run_dir(out, 2, 5) == where / "repeat2"
    folds = results.read_folds(where, "syn").set_index("id")["label"]
    perm = permuted_labels(labels_of(inputs), 5)
    assert (folds == perm.loc[folds.index]).all()  # folds stratified on the permuted labels
    pred = results.load_predictions(where, "syn", MODEL)
    assert (pred["label"].to_numpy() == perm.loc[pred["id"]].to_numpy()).all()
    done = json.loads((results.fold_dir(where, "syn", MODEL, 0) / "done.json").read_text())
    real_done = json.loads((results.fold_dir(out, "syn", MODEL, 0) / "done.json").read_text())
    assert done["config_hash"] != real_done["config_hash"]


def test_repeat_seed() -> None:
    assert [folds_mod.repeat_seed(7, r) for r in range(3)] == [7, 8, 9]
    with pytest.raises(ValueError):
        folds_mod.repeat_seed(0, -1)


def test_repeats_option() -> None:
    from tmiclnet.cli.train import repeat_list
    from tmiclnet.errors import UsageError

    assert repeat_list("", 3) == [0] and repeat_list("all", 3) == [0, 1, 2]
    assert repeat_list("2,1", 3) == [1, 2]
    for bad in ("x", "3", "-1"):
        with pytest.raises(UsageError):
            repeat_list(bad, 3)


def test_bad_repeat_options_stop_before_any_work(tmp_path) -> None:
    from tmiclnet.cli.train import main
    from tmiclnet.errors import UsageError

    base = ["--model", MODEL, "--cohort", str(tmp_path), "--profile", "cpu"]
    with pytest.raises(UsageError, match="--permute-labels -1"):
        main([*base, "--permute-labels", "-1"])
    with pytest.raises(UsageError, match="repeats 0..2"):
        main([*base, "--repeats", "5"])
