"""Test-time perturbations: missing modalities, CT noise in HU, a coarser 'external' scanner."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from tmiclnet.evaluate import robustness as rb


def _inputs(n=4, shape=(8, 16, 16)):
    g = torch.Generator().manual_seed(0)
    ct = torch.rand((n, 1, *shape), generator=g) * 0.5 + 0.25
    return {"ct": ct, "radiomics": torch.randn(n, 5, generator=g), "present": torch.ones(n, 3, dtype=torch.bool)}


def test_drop_marks_one_modality_absent_and_leaves_data() -> None:
    x = _inputs()
    out = rb.perturb(x, rb.Condition("drop_radiomics", drop="radiomics"), seed=0)
    assert out["present"][:, 1].sum() == 0 and out["present"][:, [0, 2]].all()
    assert x["present"].all()  # the original is untouched
    assert torch.equal(out["ct"], x["ct"]) and torch.equal(out["radiomics"], x["radiomics"])


def test_noise_has_the_requested_hu_and_is_seeded() -> None:
    x = _inputs()
    cond = rb.Condition("ct_noise_25HU", noise_hu=25)
    a, b = rb.perturb(x, cond, seed=1)["ct"], rb.perturb(x, cond, seed=1)["ct"]
    assert torch.equal(a, b) and not torch.equal(a, rb.perturb(x, cond, seed=2)["ct"])
    sd_hu = float((a - x["ct"]).std()) * rb.window_width_hu()
    assert sd_hu == pytest.approx(25, rel=0.05)
    assert a.min() >= 0 and a.max() <= 1


def test_external_center_blurs_but_keeps_the_grid() -> None:
    x = _inputs()
    out = rb.resample_down_up(x["ct"], 2.0)
    assert out.shape == x["ct"].shape
    # white noise loses most of its variance when resampled at half resolution
    assert float(out.std()) < 0.7 * float(x["ct"].std())
    assert torch.equal(rb.resample_down_up(x["ct"], 1.0), x["ct"])


def test_conditions_apply_only_where_meaningful() -> None:
    names = {c.name: c for c in rb.default_conditions()}
    assert rb.applies(names["drop_ct"], ("ct", "radiomics", "text"))
    assert not rb.applies(names["drop_ct"], ("ct",))  # nothing left to predict from
    assert not rb.applies(names["drop_text"], ("ct", "radiomics"))
    assert not rb.applies(names["external"], ("radiomics", "text"))
    assert rb.applies(names["none"], ("text",))


def test_summary_and_change_tables() -> None:
    df = pd.DataFrame({"model": ["m"] * 4, "fold": [0, 0, 1, 1], "condition": ["none", "drop_ct"] * 2,
                       "auc": [0.8, 0.6, 0.9, 0.8], "n": 10})
    assert rb.summary_table(df).loc["m", "none"] == pytest.approx(0.85)
    assert rb.drop_table(df).loc["m", "drop_ct"] == pytest.approx(-0.15)
