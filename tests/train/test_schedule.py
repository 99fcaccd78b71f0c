"""The pooled schedule (tmiclnet.train.schedule) trains what the per-fold schedule trains."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from tests.train.tiny import ct_radiomics_inputs, cv, small_run
from tmiclnet import results

NAMES = ["ct_only", "ct_radiomics", "radiomics_only"]
SHAPE = (8, 16, 16)  # the CT volumes' shape, and the profile's

pytestmark = pytest.mark.usefixtures("one_thread")


def _train(tmp_path, schedule: str, name: str) -> tuple[pd.DataFrame, dict]:
    run = small_run(tmp_path, volume_shape=SHAPE, n_jobs=2, train_schedule=schedule)
    out = tmp_path / name
    table = cv(ct_radiomics_inputs(40, shape=SHAPE, features=6), run, out, NAMES)
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
