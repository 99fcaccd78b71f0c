"""The pooled schedule (tmiclnet.train.schedule) trains what the per-fold schedule trains."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from tmiclnet import results
from tmiclnet.config import setup
from tmiclnet.inputs.features import CohortInputs
from tmiclnet.train.cv import cross_validate

NAMES = ["ct_only", "ct_radiomics", "radiomics_only"]

pytestmark = pytest.mark.usefixtures("one_thread")


def _inputs(n: int = 40) -> CohortInputs:
    """Tiny CT volumes and radiomics, both carrying the label."""
    rng = np.random.default_rng(0)
    ids = [f"syn-{i:04d}" for i in range(n)]
    y = (rng.random(n) < 0.4).astype(int)
    ct = torch.from_numpy(rng.normal(size=(n, 1, 8, 16, 16)).astype(np.float32))
    ct += torch.from_numpy(y.astype(np.float32)).view(-1, 1, 1, 1, 1)
    cols = [f"original_firstorder_f{j}" for j in range(6)]
    raw = pd.DataFrame(rng.normal(size=(n, 6)) + y[:, None], index=ids, columns=cols)
    info = {"radiomics_key": "t", "ct_key": "t"}
    return CohortInputs(ids, torch.tensor(y), ct=ct, radiomics=raw, info=info)


def _train(tmp_path, schedule: str, name: str) -> tuple[pd.DataFrame, dict]:
    run = setup("quick", tmp_path, seed=0, device="cpu")
    profile = dataclasses.replace(
        run.profile, volume_shape=(8, 16, 16), folds=2, epochs=2, n_jobs=2, train_schedule=schedule
    )
    run, inputs, out = run.replace(profile=profile), _inputs(), tmp_path / name
    labels = pd.Series(inputs.labels.numpy(), index=inputs.ids)
    table = cross_validate(inputs, "syn", labels, NAMES, run, out)
    preds = {m: results.load_predictions(out, "syn", m) for m in NAMES}
    tokens = [
        torch.load(results.fold_dir(out, "syn", "ct_only", k) / "ct_tokens.pt")["tokens"]
        for k in range(2)
    ]
    return table, {"preds": preds, "tokens": tokens}


def _assert_same(a: dict, b: dict) -> None:
    for m in NAMES:
        pd.testing.assert_frame_equal(a["preds"][m], b["preds"][m], check_exact=True)
    for ta, tb in zip(a["tokens"], b["tokens"]):
        assert torch.equal(ta, tb)


def test_pooled_gives_the_per_fold_results_bit_for_bit_reproducibly(tmp_path) -> None:
    """Same rows in the same order and the same numbers as the per-fold schedule; a second pooled
    run repeats them bit for bit; the per-fold one, into its folder, only reads what is done."""
    per_fold, a = _train(tmp_path, "per_fold", "per_fold")
    pooled, b = _train(tmp_path, "pooled", "one")
    assert list(pooled[["model", "fold"]].itertuples(index=False)) == list(
        per_fold[["model", "fold"]].itertuples(index=False)
    )
    assert set(pooled["status"]) == {"trained"} and pooled["requested"].all()
    _assert_same(a, b)
    _, c = _train(tmp_path, "pooled", "two")
    _assert_same(b, c)
    # the per-fold schedule's joblib.Parallel after the pool, in the same process, reads the same
    again, _ = _train(tmp_path, "per_fold", "one")
    assert set(again["status"]) == {"skipped"} and len(again) == len(pooled)
