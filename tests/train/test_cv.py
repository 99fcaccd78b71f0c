"""The CV runner on a synthetic cohort: results layout, skip/retrain, and no leak from test rows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from tests.train.tiny import cv, labels_of, radiomics_inputs, small_run
from tmiclnet import keys, results
from tmiclnet.config import setup
from tmiclnet.inputs.features import CohortInputs, scale_radiomics
from tmiclnet.threshold import choose_threshold

MODEL = "radiomics_only"
RUN = {"epochs": 3, "batch_size": 16}  # pinned here, whatever the quick profile comes to say


pytestmark = pytest.mark.usefixtures("one_thread")


def test_results_layout_then_skip_then_retrain(tmp_path) -> None:
    run, out = small_run(tmp_path, **RUN), tmp_path / "results"
    first = cv(radiomics_inputs(), run, out, [MODEL])
    assert list(first["status"]) == ["trained", "trained"]
    folds = pd.read_csv(results.folds_path(out, "syn"), dtype={"id": str})
    for k in range(2):
        d = results.fold_dir(out, "syn", MODEL, k)
        for name in (
            "predictions.csv",
            "threshold.json",
            "history.csv",
            "checkpoint.pt",
            "done.json",
        ):
            assert (d / name).exists(), name
        pred = pd.read_csv(d / "predictions.csv", dtype={"id": str})
        test_ids = set(folds.loc[folds["fold"] == k, "id"])
        assert set(pred.loc[pred["split"] == "test", "id"]) == test_ids
        assert not set(pred.loc[pred["split"] == "val", "id"]) & test_ids
        hist = pd.read_csv(d / "history.csv")
        assert {"epoch", "train_loss", "val_loss", "val_auc", "seconds", "data_seconds"} <= set(
            hist
        )
    preds = results.load_predictions(out, "syn", MODEL)
    assert list(preds.columns) == ["id", "label", "prob", "split", "fold", "threshold"]
    assert sorted(preds.loc[preds["split"] == "test", "id"]) == sorted(radiomics_inputs().ids)
    net, _ = results.load_model(results.fold_dir(out, "syn", MODEL, 0))  # from the checkpoint
    assert not net.training and sum(p.numel() for p in net.parameters()) > 0
    again = cv(radiomics_inputs(), run, out, [MODEL])
    assert list(again["status"]) == ["skipped", "skipped"]
    forced = cv(radiomics_inputs(), run, out, [MODEL], retrain=True, folds=[1])
    assert list(forced["status"]) == ["trained"]
    # a changed config (more epochs) is not served from the old results
    longer = run.replace(profile=dataclasses.replace(run.profile, epochs=4))
    assert list(cv(radiomics_inputs(), longer, out, [MODEL], folds=[0])["status"]) == ["trained"]


def test_changed_model_code_retrains(tmp_path, monkeypatch) -> None:
    run, out = small_run(tmp_path, **RUN), tmp_path / "results"
    assert list(cv(radiomics_inputs(), run, out, [MODEL], folds=[0])["status"]) == ["trained"]
    assert list(cv(radiomics_inputs(), run, out, [MODEL], folds=[0])["status"]) == ["skipped"]
    monkeypatch.setattr(keys, "code_hash", lambda: "edited model code")
    assert list(cv(radiomics_inputs(), run, out, [MODEL], folds=[0])["status"]) == ["trained"]


def test_test_patients_shape_nothing_fitted(tmp_path) -> None:
    """Garbage in fold 0's test rows leaves its scaler, early stopping and threshold unchanged."""
    run = small_run(tmp_path, **RUN)
    clean = radiomics_inputs()
    cv(clean, run, tmp_path / "a", [MODEL], folds=[0])
    folds = pd.read_csv(results.folds_path(tmp_path / "a", "syn"), dtype={"id": str})
    test_ids = list(folds.loc[folds["fold"] == 0, "id"])
    dirty = radiomics_inputs()
    dirty.radiomics.loc[test_ids] = dirty.radiomics.loc[test_ids] * 1000 + 1e6
    cv(dirty, run, tmp_path / "b", [MODEL], folds=[0])
    a, b = (results.fold_dir(tmp_path / r, "syn", MODEL, 0) for r in ("a", "b"))
    pa, pb = (pd.read_csv(d / "predictions.csv") for d in (a, b))
    val = pa["split"] == "val"
    np.testing.assert_array_equal(pa.loc[val, "prob"], pb.loc[val, "prob"])
    assert not np.allclose(pa.loc[~val, "prob"], pb.loc[~val, "prob"])  # test rows did change
    ta, tb = (results.read_json(d / "threshold.json") for d in (a, b))
    assert ta == tb
    chosen = choose_threshold(pa.loc[val, "label"], pa.loc[val, "prob"])["threshold"]
    assert ta["threshold"] == pytest.approx(chosen, rel=1e-6)  # from validation rows alone


def test_radiomics_scaler_is_fitted_on_training_rows_only() -> None:
    inputs = radiomics_inputs()
    labels = labels_of(inputs)
    train = inputs.ids[:40]
    raw = inputs.radiomics.copy()
    raw.loc[inputs.ids[40:]] += 1e4  # held-out rows far away
    scaled, columns, families = scale_radiomics(raw, labels, train, setup("quick").profile)
    x = scaled.numpy()
    np.testing.assert_allclose(x[:40].mean(0), 0, atol=1e-5)  # train rows standardised
    assert (x[40:].mean(0) > 50).all()  # held-out rows were not used for the scaling
    assert [len(f) for f in families] == [6, 6] and len(columns) == 12


def test_youden_threshold_separates_a_clean_validation_set() -> None:
    t = choose_threshold([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.9])
    assert 0.3 < t["threshold"] <= 0.7 and t["youden_j"] == 1.0 and t["rule"] == "youden"


def _with_text(inputs: CohortInputs, seed: int = 1) -> CohortInputs:
    g = torch.Generator().manual_seed(seed)
    n = len(inputs.ids)
    tokens = torch.randn(n, 5, 8, generator=g) + inputs.labels.float()[:, None, None]
    inputs.text = {"text_tokens": tokens, "text_mask": torch.ones(n, 5, dtype=torch.bool)}
    inputs.info.update(text_dim=8, text_key="t")
    return inputs


def test_parallel_workers_give_the_sequential_results(tmp_path) -> None:
    """Two single-threaded workers train a fold's models exactly as one thread does in turn."""
    names = ["radiomics_only", "text_only", "radiomics_text"]
    inputs = _with_text(radiomics_inputs())
    outs = {}
    for jobs in (1, 2):
        run = small_run(tmp_path, **RUN, n_jobs=jobs)
        out = tmp_path / f"jobs{jobs}"
        table = cv(inputs, run, out, names)
        assert sorted(table["model"]) == sorted(names * 2) and set(table["status"]) == {"trained"}
        outs[jobs] = {m: results.load_predictions(out, "syn", m) for m in names}
    for m in names:
        pd.testing.assert_frame_equal(outs[1][m], outs[2][m], check_exact=True)
