"""The fusion study: the default cohort's images and notes unchanged, a regime rewrites the panel
lines alone, the oracle matches models fitted on the generator's own output and no model beats
it, regimes' results kept apart, and the summary's gains and intervals."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch

from tests.data.profiles import TINY
from tmiclnet.config import Run
from tmiclnet.data import cohort as cohorts
from tmiclnet.data.oracle import panel_matrix
from tmiclnet.data.synthetic import (
    NoteDial,
    SyntheticModel,
    _findings,
    _liver_panel,
    dial_clinical,
    dial_oracle,
    generate,
    population_auc,
    sample_oracle,
)
from tmiclnet.data.writer import _csv
from tmiclnet.inputs.features import CohortInputs, FoldInputs
from tmiclnet.inputs.folds import FoldSplit
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.study.fusion import heads, prose, regimes, tables
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, make_job

PANEL, PANEL_WORDS = regimes.PANEL, regimes.PANEL_WORDS

# sha256 of the tables of the default cohorts (quick: 40 patients, cpu: 300; seed 0). The clinical
# table and findings (so every image, mask and note, and their radiomics and text caches) are
# those main's generator built before the fusion study; the labels and the latents' risk column
# changed once, when the note's factor's weight went from 1.0 to 1.5 (the same draws).
GOLDEN = {
    40: {
        "clinical": "238e46e85e9552486fdeb7c31b21bb407f8dc88eaf335a3a9b650043ccea2d44",
        "labels": "d22b72290b1450fe130d2936e259e30875129dcd7c7dd964ebe3663847e27346",
        "latents": "9c22a035cb8d7019155b89e506f771367b67c0d9c0884cb979c07e7ef702964d",
        "findings": "676f3eb50bf388fa2cbe834281661e3efcd14cce5144ad71259a612e06f9feec",
    },
    300: {
        "clinical": "d01ce1fe2e2ad791d6ad806f731a183822a691459ae15857525dddf24f3efd18",
        "labels": "a6d4acd62eee320f6269de684fc0525961acc460894afaccad04de1551344a95",
        "latents": "5a012dc851a1a80e33f57c37a5af2ebaf2ff69f2a8b1f0c93eff248a83c09729",
        "findings": "9fdb404a6d8c3d0a6b558bc79f70363acdd741380d7b101e27757a555d1f6d16",
    },
}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("n", sorted(GOLDEN))
def test_default_synthetic_cohort_is_byte_identical(n: int) -> None:
    out = generate(n, 0, SyntheticModel())
    tables = {
        "clinical": out["clinical"],
        "labels": out["labels"].rename("label").to_frame(),
        "latents": out["latents"],
        "findings": out["findings"],
    }
    assert {k: _sha(_csv(v)) for k, v in tables.items()} == GOLDEN[n]


def test_regimes_rewrite_the_liver_panel_only_each_from_its_own_factor() -> None:
    out = generate(300, 0, SyntheticModel())
    z = out["latents"]
    tables_ = {g.name: dial_clinical(out["clinical"], z, g.dial, 0) for g in regimes.REGIMES}
    rest = [c for c in out["clinical"].columns if c not in PANEL]
    for t in tables_.values():
        pd.testing.assert_frame_equal(t[rest], out["clinical"][rest])
    for col in PANEL:
        assert len({tuple(t[col]) for t in tables_.values()}) == 3, col
    bili = {k: np.log(t["bili"]) for k, t in tables_.items()}
    assert np.corrcoef(bili["complementary"], z["z_text"])[0, 1] > 0.8
    assert abs(np.corrcoef(bili["complementary"], z["z_ct"])[0, 1]) < 0.2
    assert np.corrcoef(bili["redundant"], z["z_ct"])[0, 1] > 0.8
    assert abs(np.corrcoef(bili["redundant"], z["z_text"])[0, 1]) < 0.2
    assert np.corrcoef(bili["harmful"], z["z_text"])[0, 1] < 0.4


@pytest.fixture(scope="module")
def tiny_synthetic(tiny_cohorts):
    return cohorts.load(tiny_cohorts["synthetic"])


def test_the_three_regimes_notes_differ_only_in_the_panel_lines(tiny_synthetic) -> None:
    built = tiny_synthetic.notes()
    notes = {g.name: regimes.regime_notes(tiny_synthetic, g) for g in regimes.REGIMES}
    changed = dict.fromkeys(notes, 0)
    for name, these in notes.items():
        assert sorted(these) == sorted(built)
        for other in (built, *notes.values()):
            for pid, note in these.items():
                old, new = other[pid].splitlines(), note.splitlines()
                assert len(old) == len(new)
                for a, b in zip(old, new):
                    if a != b:
                        assert any(w in a for w in PANEL_WORDS), (name, pid, a, b)
                        assert a.split()[:2] == b.split()[:2]  # the same lab, another value
                        changed[name] += other is built
    assert all(changed.values())


def _simulate(n: int, seed: int, dial: NoteDial, model: SyntheticModel):
    """Labels, findings and the written panel of `n` patients, by the generator's own code."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    y = (rng.random(n) < model.risk(z)).astype(int)
    w = dial.revealed(z, rng.standard_normal(n))
    panel = panel_matrix(_liver_panel(w, rng))
    f = _findings(z[:, 0], z[:, 1])
    image = f[["fibrosis", "liver_scale", "ascites_mm"]].to_numpy()
    return y, {"image": image, "text": panel, "all": np.column_stack([image, panel])}


@pytest.mark.parametrize("regime", regimes.REGIMES, ids=lambda g: g.name)
def test_the_oracle_matches_models_fitted_on_the_generators_output(regime) -> None:
    """A flexible model fitted on a large simulated sample of what the generator writes (the
    findings the renderer draws, the panel the note states) reaches the oracle and never
    exceeds it beyond Monte Carlo noise (sd of an AUC on 40,000 patients: about 0.003)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = SyntheticModel()
    oracle = dial_oracle(model, regime.dial)
    y, x = _simulate(40_000, 1, regime.dial, model)
    y_test, x_test = _simulate(40_000, 2, regime.dial, model)
    for part, key in (("image", "image"), ("text", "text"), ("all", "all")):
        fit = HistGradientBoostingClassifier(max_iter=150, random_state=0).fit(x[part], y)
        auc = heads.auc(y_test, fit.predict_proba(x_test[part])[:, 1])
        assert auc <= oracle[key] + 0.01, (part, auc, oracle[key])
        assert auc >= oracle[key] - 0.015, (part, auc, oracle[key])


def test_both_image_models_see_both_image_factors() -> None:
    """The renderer scales the CT and its mask with z_ct, and radiomics measures shape: the
    radiomics ceiling is the image's, above what z_rad alone allows."""
    model = SyntheticModel()
    o = population_auc(model, n=60_000)
    assert o["radiomics"] == o["ct"] == o["image"]
    rng = np.random.default_rng(0)
    z = rng.standard_normal((60_000, 3))
    y = rng.random(60_000) < model.risk(z)
    one_factor = heads.auc(y, z[:, 1])
    assert o["radiomics"] > one_factor + 0.03


def test_the_oracle_on_a_cohorts_own_patients_tends_to_the_populations() -> None:
    """`sample_oracle` scores the same Bayes rule on one cohort: on a large one it is the
    population's, on 300 patients it differs by sampling alone."""
    model = SyntheticModel()
    big = generate(20_000, 5, model)
    here = sample_oracle(model, None, big["findings"], big["clinical"], big["labels"])
    population = population_auc(model)
    for key in ("image", "text", "all"):
        assert abs(here[key] - population[key]) < 0.012, (key, here[key], population[key])
    small = generate(300, 0, model)
    dial = regimes.BY_NAME["harmful"].dial
    clinical = dial_clinical(small["clinical"], small["latents"], dial, 0)
    here = sample_oracle(model, dial, small["findings"], clinical, small["labels"])
    assert abs(here["text"] - dial_oracle(model, dial)["text"]) < 0.1


def test_no_unimodal_head_exceeds_its_ceiling_on_a_large_sample() -> None:
    """The study's logistic regressions, fitted on 4,000 simulated patients with the richest
    inputs a modality could give (the findings themselves, the panel's true values), stay under
    their oracle on 20,000 more."""
    model = SyntheticModel()
    for regime in regimes.REGIMES:
        oracle = dial_oracle(model, regime.dial)
        y, x = _simulate(4_000, 3, regime.dial, model)
        y_test, x_test = _simulate(20_000, 4, regime.dial, model)
        for part, key in (("image", "image"), ("text", "text"), ("all", "all")):
            fit = heads.fit_lr(x[part], y)
            auc = heads.auc(y_test, fit.decision_function(x_test[part]))
            assert auc <= oracle[key] + 0.01, (regime.name, part, auc, oracle[key])


def test_the_oracle_predicts_the_three_regimes() -> None:
    o = regimes.oracle_table(SyntheticModel())
    assert o.loc["complementary", "gain"] > 0.08  # the note adds a factor no image shows
    assert abs(o.loc["redundant", "gain"]) < 0.005  # it repeats the image's
    assert 0 <= o.loc["harmful", "gain"] < 0.02  # it says almost nothing
    assert o.loc["harmful", "note"] < 0.6 < o.loc["redundant", "note"]


def _fake_text_inputs(cohort, profile):
    """Stands in for the frozen text encoder: a content key and tensors from the notes."""
    texts = [cohort.note(pid) for pid in cohort.ids]
    key = _sha("".join(texts))[:16]
    g = torch.Generator().manual_seed(int(key[:8], 16))
    tokens = torch.randn(len(texts), 3, 4, generator=g)
    mask = torch.ones(len(texts), 3, dtype=torch.bool)
    return {"text_tokens": tokens, "text_mask": mask}, {"text_dim": 4, "text_key": key}


@pytest.fixture
def base_inputs(tiny_synthetic, monkeypatch):
    import tmiclnet.text

    monkeypatch.setattr(tmiclnet.text, "text_inputs", _fake_text_inputs)
    n, ids = len(tiny_synthetic.ids), list(tiny_synthetic.ids)
    text, info = _fake_text_inputs(tiny_synthetic, TINY)
    return CohortInputs(
        ids=ids,
        labels=torch.tensor(tiny_synthetic.labels.to_numpy(), dtype=torch.long),
        radiomics=pd.DataFrame(np.random.default_rng(0).normal(size=(n, 5)), index=ids),
        text=text,
        info={"radiomics_key": "rad-built", **info},
    )


def _job(inputs: CohortInputs, root, run: Run):
    ids = inputs.ids
    split = FoldSplit(0, ids[:2], ids[2:4], ids[4:])
    tensors = {"present": torch.ones(len(ids), 3, dtype=torch.bool), **inputs.text}
    fin = FoldInputs(TensorData(ids, tensors, inputs.labels), split)
    ctx = JobContext(inputs, "synthetic", False, None, run, root, SINGLE, False)
    return make_job("text_only", 0, fin, None, "volumes", ctx)


def test_regimes_change_the_text_inputs_alone_and_keep_results_apart(
    tiny_synthetic, base_inputs, tmp_path
) -> None:
    run = Run(TINY, tmp_path, 0, torch.device("cpu"))
    jobs = {}
    for g in regimes.REGIMES:
        new = regimes.regime_inputs(base_inputs, tiny_synthetic, g, run)
        assert new.radiomics is base_inputs.radiomics and new.ids == base_inputs.ids
        assert torch.equal(new.labels, base_inputs.labels)
        assert new.info["text_key"] != base_inputs.info["text_key"]
        jobs[g.name] = _job(new, regimes.regime_dir(tmp_path, g), run)
    assert len({j.folder for j in jobs.values()}) == 3  # three folders
    assert len({j.key for j in jobs.values()}) == 3  # and three keys: none serves another
    again = regimes.regime_inputs(base_inputs, tiny_synthetic, regimes.REGIMES[0], run)
    first = regimes.REGIMES[0]
    assert _job(again, regimes.regime_dir(tmp_path, first), run).key == jobs[first.name].key


def _per_fold(gains: dict[str, float], shifts=(-0.02, 0.0, 0.02, 0.01, -0.01)) -> pd.DataFrame:
    rows = []
    for regime, gain in gains.items():
        aucs = {"image_lr": 0.70, "text_only": 0.62, "panel_lr": 0.68}
        aucs |= {"late_fusion": 0.70 + gain, "panel_image_lr": 0.70 + gain}
        for fold, shift in enumerate(shifts):
            noise = 0.01 * (-1) ** fold  # the fused model's own fold-to-fold difference
            for model, auc in aucs.items():
                fused = model in ("late_fusion", "panel_image_lr")
                rows.append({"regime": regime, "repeat": 0, "fold": fold, "model": model,
                             "auc": auc + shift + (noise if fused else 0.0)})  # fmt: skip
    return pd.DataFrame(rows)


def _oracles() -> pd.DataFrame:
    return pd.DataFrame(
        {"image": 0.75, "note": 0.74, "all": 0.85, "gain": [0.10, 0.0, 0.01]},
        index=pd.Index(["complementary", "redundant", "harmful"], name="regime"),
    )


def test_summary_gain_is_over_the_better_single_model_with_its_interval() -> None:
    per_fold = _per_fold({"complementary": 0.08, "redundant": 0.0, "harmful": -0.05})
    table = tables.summary(per_fold, _oracles(), ratio=0.3125)
    assert set(table["best_single"]) == {"image_lr"}  # 0.70 beats text 0.62 and panel 0.68
    row = table.set_index(["regime", "comparison"]).loc[("complementary", "control")]
    assert row["gain"] == pytest.approx(0.08 + 0.002)  # + the mean of the fused model's noise
    half = tables.resolvable_gain(row["sd"], 5, 0.3125)
    assert row["high"] - row["gain"] == pytest.approx(half)
    verdicts = tables.verdict_table(table)["verdict"]
    assert verdicts[("complementary", "pipeline")] == "gains"
    assert verdicts[("redundant", "pipeline")] == "unresolved"
    assert verdicts[("harmful", "control")] == "loses"
    text = prose.takeaways(table, _oracles(), "quick")  # the prose reads the same numbers
    assert f"{row['gain']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]" in text
    assert "fusion lost (" in text and "quick-profile" in text
    summary = prose.summary_lines(table, _oracles(), per_fold)  # so does the Summary
    assert f"complementary {row['gain']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]" in summary
    assert "+0.100 (complementary), +0.000 (redundant), +0.010 (harmful)" in summary
    said = prose.answer(table)  # and the introduction's box
    assert f"gains {row['gain']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}] AUC" in said


def test_models_table_reports_the_share_above_chance() -> None:
    per_fold = _per_fold({"complementary": 0.08})
    out = tables.models_table(per_fold, _oracles())
    text = out.loc[("complementary", "text network")]
    assert text["share"] == pytest.approx((0.622 - 0.5) / (0.74 - 0.5), abs=0.01)
    assert tables.ceiling_breaches(per_fold, _oracles(), 0.3125) == []
    high = per_fold.assign(auc=per_fold["auc"] + 0.2)  # 0.90 against a note ceiling of 0.74
    assert "complementary/text_only" in tables.ceiling_breaches(high, _oracles(), 0.3125)


def test_patients_needed_scales_with_the_resolvable_gain() -> None:
    r = tables.resolvable_gain(0.05, 15, 0.3125)
    assert r == pytest.approx(2.145 * np.sqrt(1 / 15 + 0.3125) * 0.05, rel=1e-3)
    assert tables.patients_needed(r, 0.05, 300, 15, 0.3125) == 300
    assert tables.patients_needed(r / 2, 0.05, 300, 15, 0.3125) == 1200
    assert tables.patients_needed(0.0, 0.05, 300, 15, 0.3125) == -1


def test_late_fusion_learns_the_weights_on_validation_patients() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 400))
    y = (a + b + 0.5 * rng.standard_normal(400) > 0).astype(int)
    scores = np.column_stack([a, b])
    fused = heads.late_fusion(scores[:200], y[:200], scores[200:])
    assert heads.auc(y[200:], fused) > max(heads.auc(y[200:], a[200:]), heads.auc(y[200:], b[200:]))


def test_cli_bad_input_is_one_line(tiny_cohorts, capsys) -> None:
    from tmiclnet.__main__ import main

    cases = (
        (["--cohort", "/no/such/cohort"], "--cohort /no/such/cohort: no such folder"),
        (["--cohort", str(tiny_cohorts["pbc"])], "not a synthetic cohort"),
    )
    for args, needle in cases:
        assert main(["study", "fusion", *args, "--profile", "quick"]) != 0
        err = capsys.readouterr().err.strip()
        assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err
