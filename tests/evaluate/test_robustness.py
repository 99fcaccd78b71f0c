"""Test-time perturbations: missing modalities, CT noise in HU, an external center's rescan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tmiclnet.config import get_profile
from tmiclnet.data.render import EXTERNAL
from tmiclnet.evaluate.rescan import Rescanned, rescan, rescanned_inputs
from tmiclnet.evaluate.robustness import conditions, tables

QUICK = get_profile("quick")


def _inputs(n=4, shape=(8, 16, 16)):
    g = torch.Generator().manual_seed(0)
    ct = torch.rand((n, 1, *shape), generator=g) * 0.5 + 0.25
    return {
        "ct": ct,
        "radiomics": torch.randn(n, 5, generator=g),
        "present": torch.ones(n, 3, dtype=torch.bool),
    }


def test_drop_marks_one_modality_absent_and_leaves_data() -> None:
    x = _inputs()
    out = conditions.perturb(x, conditions.Condition("drop_radiomics", drop="radiomics"), seed=0)
    assert out["present"][:, 1].sum() == 0 and out["present"][:, [0, 2]].all()
    assert x["present"].all()  # the original is untouched
    assert torch.equal(out["ct"], x["ct"]) and torch.equal(out["radiomics"], x["radiomics"])


def test_noise_has_the_requested_hu_and_is_seeded() -> None:
    x = _inputs()
    cond = conditions.Condition("ct_noise_25HU", noise_hu=25)
    a, b = conditions.perturb(x, cond, seed=1)["ct"], conditions.perturb(x, cond, seed=1)["ct"]
    assert torch.equal(a, b) and not torch.equal(a, conditions.perturb(x, cond, seed=2)["ct"])
    sd_hu = float((a - x["ct"]).std()) * conditions.window_width_hu()
    assert sd_hu == pytest.approx(25, rel=0.05)
    assert a.min() >= 0 and a.max() <= 1


def _fold(n=12, n_features=5, seed=0):
    """A fold's inputs assembled by the trainer's own code from random CT and radiomics."""
    from types import SimpleNamespace

    from tmiclnet.inputs.features import CohortInputs, fold_inputs
    from tmiclnet.inputs.folds import FoldSplit

    g = torch.Generator().manual_seed(seed)
    ids = [f"p{i:02d}" for i in range(n)]
    raw = pd.DataFrame(
        torch.randn(n, n_features, generator=g).numpy() * 10 + 50,
        index=pd.Index(ids, name="id"),
        columns=[f"original_firstorder_f{j}" for j in range(n_features)],
    )
    inputs = CohortInputs(
        ids,
        torch.tensor([i % 2 for i in range(n)]),
        ct=torch.rand((n, 1, 4, 4, 4), generator=g),
        radiomics=raw,
    )
    split = FoldSplit(0, train=ids[:6], val=ids[6:8], test=ids[8:])
    fin = fold_inputs(inputs, split, QUICK)
    return SimpleNamespace(test=fin.data.subset(split.test), fin=fin), inputs


def test_rescanned_inputs_take_the_rescan_scaled_on_the_original_training_rows() -> None:
    fold, inputs = _fold()
    order = list(reversed(inputs.ids))  # the rescan's rows in another order: matched by id
    rows = torch.tensor([inputs.ids.index(i) for i in order])
    same = Rescanned(order, inputs.ct.index_select(0, rows), inputs.radiomics.loc[order])
    out = rescanned_inputs(fold, inputs, same, QUICK)
    assert torch.equal(out["ct"], fold.test.inputs["ct"])
    assert torch.allclose(out["radiomics"], fold.test.inputs["radiomics"], atol=1e-6)
    assert torch.equal(out["present"], fold.test.inputs["present"])

    ct = torch.rand_like(same.ct)
    shifted = Rescanned(order, ct, same.radiomics + 1.0)  # every feature one unit higher
    out = rescanned_inputs(fold, inputs, shifted, QUICK)
    rows = torch.tensor([order.index(i) for i in fold.test.ids])
    assert torch.equal(out["ct"], ct.index_select(0, rows))
    train_sd = inputs.radiomics.loc[fold.fin.split.train].std(ddof=0).to_numpy()
    change = (out["radiomics"] - fold.test.inputs["radiomics"]).numpy()
    # the shift survives, in units of the TRAINING rows' spread (a pipeline refitted on the
    # rescanned rows would centre it away)
    assert change == pytest.approx(np.broadcast_to(1.0 / train_sd, change.shape), rel=1e-4)


def test_conditions_apply_only_where_meaningful() -> None:
    names = {c.name: c for c in conditions.default_conditions()}
    assert conditions.applies(names["drop_ct"], ("ct", "radiomics", "text"))
    assert not conditions.applies(names["drop_ct"], ("ct",))  # nothing left to predict from
    assert not conditions.applies(names["drop_text"], ("ct", "radiomics"))
    assert conditions.applies(
        names["external"], ("radiomics", "text")
    )  # its radiomics are re-extracted
    assert not conditions.applies(names["external"], ("text",))
    assert conditions.applies(names["none"], ("text",))
    table = conditions.conditions_table()
    assert table.loc["external", "scanner"] == "external" and table.loc["drop_ct", "drop"] == "ct"


def test_summary_and_change_tables() -> None:
    df = pd.DataFrame(
        {
            "model": ["m"] * 4,
            "fold": [0, 0, 1, 1],
            "condition": ["none", "drop_ct"] * 2,
            "auc": [0.8, 0.6, 0.9, 0.8],
            "n": 10,
        }
    )
    assert tables.summary_table(df).loc["m", "none"] == "0.85 ± 0.07"
    assert tables.summary_table(df).loc["m", "no CT"] == "0.70 ± 0.14"
    assert "no CT" in tables.summary_table(df, part="missing").columns
    assert "no CT" not in tables.summary_table(df, part="shift").columns
    assert tables.drop_table(df).loc["m", "no CT"] == pytest.approx(-0.15)
    assert tables.drop_table(df, "std").loc["m", "no CT"] == pytest.approx(
        np.std([-0.2, -0.1], ddof=1)
    )


def test_rescan_extracts_radiomics_of_the_requested_patients_only(monkeypatch, tmp_path) -> None:
    """The external center's radiomics (the costly part) are extracted for `ids` only."""
    from types import SimpleNamespace

    import tmiclnet.data.external as external_mod
    import tmiclnet.inputs.features as features_mod
    import tmiclnet.radiomics.extract as extract_mod
    from tmiclnet.data import cohort as cohort_mod

    ids = ["a", "b", "c", "d"]
    other = SimpleNamespace(ids=ids, root=tmp_path)
    seen = {}

    def fake_extract(cohort, profile, ids=None, **kw):
        seen["ids"] = list(ids)
        return SimpleNamespace(features=pd.DataFrame({"f": range(len(ids))}, index=list(ids)))

    monkeypatch.setattr(external_mod, "build_external", lambda *a, **k: tmp_path)
    monkeypatch.setattr(cohort_mod, "load", lambda root: other)
    monkeypatch.setattr(features_mod, "ct_volumes", lambda c, p: (torch.zeros(4, 1, 2, 2, 2), "k"))
    monkeypatch.setattr(extract_mod, "extract", fake_extract)
    run = SimpleNamespace(profile=SimpleNamespace(n_jobs=1))
    scan = rescan(SimpleNamespace(ids=ids, root=tmp_path), run, EXTERNAL, ["d", "b"])
    assert seen["ids"] == ["b", "d"] and list(scan.radiomics.index) == ["b", "d"]
    assert scan.ids == ids and scan.ct.shape[0] == 4
