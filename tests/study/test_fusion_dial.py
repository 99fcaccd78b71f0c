"""The note dial: the default cohort unchanged, a setting rewrites the notes alone, the oracle
follows the dial, settings' results kept apart, and the summary's fusion gain."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch

from tests.data.profiles import TINY
from tmiclnet.config import Run
from tmiclnet.data import cohort as cohorts
from tmiclnet.data.synthetic import (
    NoteDial,
    SyntheticModel,
    dial_clinical,
    dial_oracle,
    generate,
    population_auc,
)
from tmiclnet.data.writer import _csv
from tmiclnet.inputs.features import CohortInputs, FoldInputs
from tmiclnet.inputs.folds import FoldSplit
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.study.fusion_dial import settings, tables
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, make_job

PANEL = ("bili", "albumin", "protime", "copper", "platelet")
PANEL_WORDS = ("bilirubin", "Albumin", "Prothrombin", "copper", "Platelets")

# sha256 of the tables in cohort.json of the cohorts main's generator built (quick: 40 patients,
# cpu: 300; seed 0): existing cohorts, caches and results stay valid only if these hold
GOLDEN = {
    40: {
        "clinical": "238e46e85e9552486fdeb7c31b21bb407f8dc88eaf335a3a9b650043ccea2d44",
        "labels": "8d0cddc7746c42360f7a5f36d5e62c4e8188a17c41176ea087ba55dd3029f9e5",
        "latents": "64c5327e24824e0c9d5ddb18417fbff16ad09f79cc020eb9f5cbdacfd1798fce",
        "findings": "676f3eb50bf388fa2cbe834281661e3efcd14cce5144ad71259a612e06f9feec",
    },
    300: {
        "clinical": "d01ce1fe2e2ad791d6ad806f731a183822a691459ae15857525dddf24f3efd18",
        "labels": "246ab48faa556b04d04d29745b8ded632af6ac8eea695859738866c7b4c9c306",
        "latents": "f0c8c1c2631a10cd9e1c3d36fa5c303ac562ba0bb1ee93430420ecaadcda07c3",
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


def test_dial_rewrites_the_liver_panel_only() -> None:
    out = generate(300, 0, SyntheticModel())
    a = dial_clinical(out["clinical"], out["latents"], NoteDial("text", 2.0), 0)
    b = dial_clinical(out["clinical"], out["latents"], NoteDial("ct", 2.0), 0)
    rest = [c for c in out["clinical"].columns if c not in PANEL]
    pd.testing.assert_frame_equal(a[rest], out["clinical"][rest])
    pd.testing.assert_frame_equal(b[rest], out["clinical"][rest])
    for col in PANEL:
        assert not a[col].equals(b[col]), col
    # each setting's panel follows its own factor: bilirubin's log tracks z_text, or z_ct
    z = out["latents"]
    assert np.corrcoef(np.log(a["bili"]), z["z_text"])[0, 1] > 0.7
    assert abs(np.corrcoef(np.log(a["bili"]), z["z_ct"])[0, 1]) < 0.2
    assert np.corrcoef(np.log(b["bili"]), z["z_ct"])[0, 1] > 0.7
    # strength 0 reveals nothing, whichever factor it names: one setting
    none_t = dial_clinical(out["clinical"], z, NoteDial("text", 0.0), 0)
    pd.testing.assert_frame_equal(none_t, dial_clinical(out["clinical"], z, NoteDial("ct", 0.0), 0))
    assert abs(np.corrcoef(np.log(none_t["bili"]), z["z_text"])[0, 1]) < 0.2


def test_oracle_rises_with_the_dial_for_complementary_signal_only() -> None:
    model = SyntheticModel()
    strengths = (0.0, 0.5, 1.0, 2.0, 8.0)
    comp = [dial_oracle(model, NoteDial("text", s)) for s in strengths]
    red = [dial_oracle(model, NoteDial("ct", s)) for s in strengths]
    assert all(x["all"] < y["all"] for x, y in zip(comp, comp[1:]))
    assert all(x["text"] < y["text"] for x, y in zip(red, red[1:]))  # the note alone: both rise
    assert len({r["all"] for r in red}) == 1  # the CT already shows what a redundant note says
    assert comp[0]["all"] == red[0]["all"] and abs(comp[0]["text"] - 0.5) < 0.01
    assert abs(comp[-1]["all"] - population_auc(model)["all"]) < 0.01  # a perfect note: the ceiling


@pytest.fixture(scope="module")
def tiny_synthetic(tiny_cohorts):
    return cohorts.load(tiny_cohorts["synthetic"])


def test_setting_notes_change_only_the_panel_lines(tiny_synthetic) -> None:
    built = tiny_synthetic.notes()
    notes = settings.setting_notes(tiny_synthetic, NoteDial("text", 2.0))
    assert sorted(notes) == sorted(built)
    changed = 0
    for pid, note in notes.items():
        old, new = built[pid].splitlines(), note.splitlines()
        assert len(old) == len(new)
        for a, b in zip(old, new):
            if a != b:
                assert any(w in a for w in PANEL_WORDS), (pid, a, b)
                changed += 1
    assert changed > 0


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
        ct=torch.randn(n, 1, 2, 4, 4),
        radiomics=pd.DataFrame(np.random.default_rng(0).normal(size=(n, 5)), index=ids),
        text=text,
        info={"ct_key": "ct-built", "radiomics_key": "rad-built", **info},
    )


def test_a_setting_changes_the_text_inputs_alone(tiny_synthetic, base_inputs) -> None:
    run = Run(TINY, tiny_synthetic.root.parent, 0, torch.device("cpu"))
    new = settings.setting_inputs(base_inputs, tiny_synthetic, NoteDial("text", 2.0), run)
    assert new.ct is base_inputs.ct and new.radiomics is base_inputs.radiomics
    assert torch.equal(new.labels, base_inputs.labels) and new.ids == base_inputs.ids
    assert new.info["ct_key"] == "ct-built" and new.info["radiomics_key"] == "rad-built"
    assert new.info["text_key"] != base_inputs.info["text_key"]
    assert not torch.equal(new.text["text_tokens"], base_inputs.text["text_tokens"])


def _job(inputs: CohortInputs, root, run: Run):
    ids = inputs.ids
    split = FoldSplit(0, ids[:2], ids[2:4], ids[4:])
    tensors = {"present": torch.ones(len(ids), 3, dtype=torch.bool), **inputs.text}
    fin = FoldInputs(TensorData(ids, tensors, inputs.labels), split)
    ctx = JobContext(inputs, "synthetic", True, "ct_only", run, root, SINGLE, False)
    return make_job("text_only", 0, fin, None, "volumes", ctx)


def test_two_settings_keep_their_results_apart(tiny_synthetic, base_inputs, tmp_path) -> None:
    run = Run(TINY, tmp_path, 0, torch.device("cpu"))
    jobs = {}
    for dial in (NoteDial("text", 1.0), NoteDial("text", 2.0), NoteDial("ct", 2.0)):
        inputs = settings.setting_inputs(base_inputs, tiny_synthetic, dial, run)
        jobs[dial] = _job(inputs, settings.setting_dir(tmp_path, dial), run)
    assert len({j.folder for j in jobs.values()}) == 3  # three folders
    assert len({j.key for j in jobs.values()}) == 3  # and three keys: none serves another
    again = settings.setting_inputs(base_inputs, tiny_synthetic, NoteDial("text", 2.0), run)
    assert _job(again, settings.setting_dir(tmp_path, NoteDial("text", 2.0)), run).key == (
        jobs[NoteDial("text", 2.0)].key
    )
    for profile in ("quick", "cpu", "gpu"):
        slugs = [settings.slug(d) for d in settings.dials_for(profile)]
        assert len(set(slugs)) == len(slugs)


def test_summary_gain_is_over_the_best_unimodal_model() -> None:
    rows = []
    aucs = {"ct_only": 0.60, "radiomics_only": 0.70, "text_only": 0.65}
    aucs |= {"early_fusion": 0.72, "tmiclnet_tokens": 0.75}
    for fold, shift in enumerate((-0.02, 0.0, 0.02)):
        for model, auc in aucs.items():
            rows.append({"model": model, "fold": fold, "auc": auc + shift})
    table = pd.DataFrame(rows).assign(
        setting="text-1", signal="complementary", reads="text", strength=1.0, rho=0.7071,
        oracle_all=0.8, oracle_ct=0.69, oracle_radiomics=0.69, oracle_text=0.63,
    )  # fmt: skip
    out = tables.summary(table).iloc[0]
    assert out["best_unimodal"] == "radiomics_only"
    assert out["gain_tmiclnet_tokens_mean"] == pytest.approx(0.05)
    assert out["gain_tmiclnet_tokens_sd"] == pytest.approx(0.0, abs=1e-12)  # shared fold shifts
    assert out["tmiclnet_tokens_sd"] == pytest.approx(0.02)
    assert out["tmiclnet_share_of_oracle"] == pytest.approx(0.75 / 0.8)
    assert tables.oracle_gain(tables.summary(table)).iloc[0] == pytest.approx(0.8 - 0.69)
    text = tables.takeaways(tables.summary(table), "quick")  # the prose reads the same numbers
    assert text.startswith("**What this run shows** (profile `quick`, 1 settings):")
    assert "from +0.050 to +0.050 (the oracle's own gain: +0.110 to +0.110)" in text
    assert "reaches 94% to 94% of the oracle" in text and "quick-profile" in text


def test_the_cpu_profile_trains_the_first_three_folds_and_quick_all() -> None:
    from tmiclnet.config import setup

    assert settings.folds_for(setup("cpu", device="cpu")) == [0, 1, 2]
    assert settings.folds_for(setup("quick", device="cpu")) == [0, 1]
