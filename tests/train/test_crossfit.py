"""Cross-fitted CT tokens (tmiclnet.train.crossfit): no training patient's token comes from an
encoder that trained on it; validation and test tokens stay the CT-only model's; the token source
is in the fusion models' keys; a retrain makes the halves and their tokens anew."""

from __future__ import annotations

import dataclasses
import shutil

import pandas as pd
import pytest
import torch

from tests.train.tiny import CT_MODELS, ct_radiomics_inputs, cv, small_run
from tmiclnet import results
from tmiclnet.batch import rows_of
from tmiclnet.config import CtTokens, setup
from tmiclnet.inputs.folds import FoldSplit
from tmiclnet.train import crossfit
from tmiclnet.train.ct_tokens import extract_ct_tokens

pytestmark = pytest.mark.usefixtures("one_thread")
MODES = tuple(m.value for m in CtTokens)


def _fold0(out, mode: str, schedule: str = "per_fold", **kw) -> pd.DataFrame:
    """Fold 0 of the CT models into `out`, their CT tokens made the `mode` way."""
    run = small_run(out.parent, n_jobs=2, ct_tokens=mode, train_schedule=schedule)
    return cv(ct_radiomics_inputs(), run, out, CT_MODELS, folds=[0], **kw)


def _tokens(folder) -> torch.Tensor:
    return torch.load(folder / "ct_tokens.pt", weights_only=True)["tokens"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Fold 0 trained once cross-fitted and once in_fold (per-fold schedule)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("crossfit")
    out = {mode: root / mode for mode in MODES}
    tables = {mode: _fold0(path, mode) for mode, path in out.items()}
    torch.set_num_threads(before)
    return out, tables


def _ct_folder(out):
    return results.fold_dir(out, "syn", "ct_only", 0)


def test_a_training_patients_token_never_comes_from_an_encoder_that_trained_on_it(trained):
    out, _ = trained
    folder = _ct_folder(out["crossfit"])
    record = results.read_json(crossfit.crossfit_dir(folder) / "record.json")
    seen = _tokens(crossfit.crossfit_dir(folder))  # what the fusion models read
    inputs = ct_radiomics_inputs()
    train = record["full"]["train"]
    half0, half1 = record["halves"]["half0"], record["halves"]["half1"]
    assert sorted(half0["train"] + half1["train"]) == sorted(train)
    assert half0["held_out"] == half1["train"] and half1["held_out"] == half0["train"]
    encoders = {"full": _tokens(folder)}  # the CT-only model's tokens of every patient
    for part in ("half0", "half1"):
        model, _ = results.load_model(crossfit.crossfit_dir(folder) / part)
        encoders[part] = extract_ct_tokens(model, inputs.ct, torch.device("cpu"))
        # the half's own files say the same: it predicted (never trained on) its held-out half
        preds = pd.read_csv(crossfit.crossfit_dir(folder) / part / "predictions.csv", dtype=str)
        assert (
            sorted(preds.loc[preds["split"] == "test", "id"]) == record["halves"][part]["held_out"]
        )
    trained_on = {
        "full": set(train),
        **{p: set(record["halves"][p]["train"]) for p in encoders if p != "full"},
    }
    for pid in train:
        row = rows_of(inputs.ids, [pid])[0]
        sources = [p for p, t in encoders.items() if torch.equal(t[row], seen[row])]
        assert sources, f"{pid}: its token comes from none of the fold's encoders"
        assert all(pid not in trained_on[p] for p in sources), (pid, sources)


def test_validation_and_test_tokens_are_the_ct_only_models_in_both_modes(trained):
    out, tables = trained
    folder = _ct_folder(out["crossfit"])
    seen = _tokens(crossfit.crossfit_dir(folder))
    full = _tokens(folder)
    assert torch.equal(full, _tokens(_ct_folder(out["in_fold"])))  # one CT-only model for both
    split = results.read_json(crossfit.crossfit_dir(folder) / "record.json")
    others = sorted(set(ct_radiomics_inputs().ids) - set(split["full"]["train"]))
    rows = rows_of(ct_radiomics_inputs().ids, others)
    assert torch.equal(seen[rows], full[rows])
    train_rows = rows_of(ct_radiomics_inputs().ids, split["full"]["train"])
    assert not torch.equal(seen[train_rows], full[train_rows])
    a, b = (results.load_predictions(out[m], "syn", "ct_only") for m in MODES)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_the_token_source_is_in_the_fusion_models_key(trained):
    out, _ = trained
    done = {
        m: results.read_json(results.fold_dir(out[m], "syn", name, 0) / "done.json")["config_hash"]
        for m in MODES
        for name in ["ct_radiomics"]
    }
    ct_only = {m: results.read_json(_ct_folder(out[m]) / "done.json")["config_hash"] for m in MODES}
    assert done["crossfit"] != done["in_fold"]
    assert ct_only["crossfit"] == ct_only["in_fold"]


def test_retrain_makes_the_halves_and_their_tokens_anew(trained, tmp_path) -> None:
    out, _ = trained
    copy = tmp_path / "results"
    shutil.copytree(out["crossfit"], copy)
    cf = crossfit.crossfit_dir(_ct_folder(copy))
    before = {p: torch.load(cf / p / "ct_tokens.pt", weights_only=True) for p in ("half0", "half1")}
    before["."] = torch.load(cf / "ct_tokens.pt", weights_only=True)
    again = _fold0(copy, "crossfit")
    assert set(again["status"]) == {"skipped"}  # nothing changed: nothing trains
    for p, saved in before.items():  # what an earlier run of the encoders left, under their keys
        torch.save(
            {"key": saved["key"], "tokens": torch.zeros_like(saved["tokens"])},
            cf / p / "ct_tokens.pt",
        )
    table = _fold0(copy, "crossfit", retrain=True)
    assert set(table["status"]) == {"trained"}
    for p, saved in before.items():
        now = torch.load(cf / p / "ct_tokens.pt", weights_only=True)
        assert now["key"] == saved["key"] and torch.equal(now["tokens"], saved["tokens"])
        assert now["tokens"].abs().sum() > 0


def test_the_pooled_schedule_cross_fits_the_same_tokens(trained, tmp_path) -> None:
    out, _ = trained
    pooled = tmp_path / "pooled"
    table = _fold0(pooled, "crossfit", schedule="pooled")
    assert set(table["status"]) == {"trained"}
    a, b = (crossfit.crossfit_dir(_ct_folder(o)) for o in (out["crossfit"], pooled))
    assert torch.equal(_tokens(a), _tokens(b))
    assert results.read_json(a / "record.json") == results.read_json(b / "record.json")
    for model in CT_MODELS:
        pd.testing.assert_frame_equal(
            results.load_predictions(out["crossfit"], "syn", model),
            results.load_predictions(pooled, "syn", model),
            check_exact=True,
        )


def test_halves_are_stratified_seeded_and_cover_the_training_split() -> None:
    ids = [f"p{i:02d}" for i in range(40)]
    labels = {pid: int(i % 4 == 0) for i, pid in enumerate(ids)}
    split = FoldSplit(1, ids, [], [])
    a, b = crossfit.halves(split, labels, seed=0)
    assert sorted(a + b) == ids and not set(a) & set(b)
    assert sum(labels[i] for i in a) == sum(labels[i] for i in b) == 5
    assert crossfit.halves(split, labels, seed=0) == (a, b)
    assert crossfit.halves(split, labels, seed=1) != (a, b)
    with pytest.raises(ValueError, match="fewer than 2"):
        crossfit.halves(split, {pid: int(i == 0) for i, pid in enumerate(ids)}, seed=0)


def test_an_unknown_token_source_is_refused() -> None:
    with pytest.raises(ValueError, match="ct_tokens"):
        dataclasses.replace(setup("quick").profile, ct_tokens="crossfitted")
