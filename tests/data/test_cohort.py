"""PBC labels and notes, cohort build/load, byte-identical rebuilds, resume, synthetic oracle."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import torch

from tests.data.profiles import TINY
from tmiclnet.config import get_profile
from tmiclnet.data import cohort as cohorts
from tmiclnet.data import pbc, tables
from tmiclnet.data.dataset import CTDataset
from tmiclnet.data.notes import write_note
from tmiclnet.data.synthetic import SyntheticModel, population_auc
from tmiclnet.provenance import sha256_file


def test_pbc_labels_at_five_years_and_horizon_is_a_parameter() -> None:
    table = pbc.load_table()
    assert len(table) == 418 and table.index[0] == "pbc-0001"
    counts = pbc.label_counts(table)
    assert (counts["eligible"], counts["events"]) == (312, 115)
    three = pbc.label_counts(table, horizon_days=3 * 365)
    assert three["eligible"] != 312 and three["events"] < 115
    labels = pbc.label_table(table)
    assert not table.loc[labels.index[labels == 0], "time"].le(pbc.HORIZON_DAYS).any()


def test_kaplan_meier_matches_hand_computation() -> None:
    km = pbc.kaplan_meier(np.array([1, 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0]))
    # t=1: 4/5; t=2: 4/5*3/4 = 0.6 (one event, one censored at 2); t=3: 0.6*1/2 = 0.3
    assert km["time"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert np.allclose(km["survival"], [1.0, 0.8, 0.6, 0.3])


def test_survival_table_keeps_every_patient_with_death_as_the_event() -> None:
    table = pbc.load_table()
    surv = pbc.survival_table(table)
    assert len(surv) == 418 and surv["time"].gt(0).all()
    assert int(surv["event"].sum()) == int((table["status"] == 2).sum()) == 161
    assert not (surv["event"] & surv["transplant"]).any()
    # the censored-before-horizon patients the binary label drops: all without an observed death
    dropped = surv.index.difference(pbc.label_table(table).index)
    assert len(dropped) == 106 and not surv.loc[dropped, "event"].any()


def test_notes_never_mention_image_fields_and_say_missing_values_in_words() -> None:
    table = pbc.load_table()
    forbidden = re.compile(r"stage|hepatomegal|ascit|\bnan\b|enlarged liver", re.I)
    for pid, row in table.iterrows():
        note = write_note(row.to_dict(), 1)
        assert not forbidden.search(note), (pid, note)
    note = write_note(table.loc["pbc-0400"].to_dict(), 1)  # a non-trial patient: many gaps
    assert "not randomised" in note and re.search(r"Serum cholesterol: (not|result)", note)
    first = write_note(table.loc["pbc-0001"].to_dict(), 1)
    assert "Total bilirubin 14.5 mg/dL (ref 0.1-1.2) H" in first and "Albumin 2.60 g/dL" in first


def test_stratified_subset_is_deterministic_and_balanced() -> None:
    labels = pbc.label_table(pbc.load_table())
    ids = tables.stratified_subset(labels, 40)
    assert ids == tables.stratified_subset(labels, 40) and len(ids) == 40
    assert labels[ids].sum() == round(40 * labels.mean())


def test_built_folders_load_with_the_contracted_api(tiny_cohorts) -> None:
    c = cohorts.load(tiny_cohorts["pbc"])
    assert c.name == "pbc" and len(c.ids) == 6 and c.ids == sorted(c.ids) and c.oracle_auc is None
    assert list(c.clinical.columns) == list(pbc.TEXT_FIELDS) and set(c.labels.unique()) <= {0, 1}
    assert c.image_path(c.ids[0]).exists() and c.mask_path(c.ids[0]).exists()
    assert set(c.notes()) == set(c.ids) and "Laboratory results" in c.note(c.ids[0])
    files = c.manifest["files"]
    assert all(sha256_file(c.root / rel) == sha for rel, sha in files.items())
    assert {f"images/{i}.nii.gz" for i in c.ids} <= set(files)
    s = cohorts.load(tiny_cohorts["synthetic"])
    assert s.name == "synthetic" and 0.5 < s.oracle_auc < 1.0 and len(s.ids) == 6


def test_rebuild_is_byte_identical(tiny_cohorts, tmp_path) -> None:
    built = tiny_cohorts["pbc"]
    again = cohorts.build("pbc", TINY, tmp_path, n_jobs=1, verbose=False)
    first = json.loads((built / "cohort.json").read_text())
    second = json.loads((again / "cohort.json").read_text())
    assert first["files"] == second["files"]
    assert (built / "cohort.json").read_bytes() == (again / "cohort.json").read_bytes()


def test_interrupted_build_resumes_and_new_parameters_rebuild(tmp_path, capsys) -> None:
    root = cohorts.build("synthetic", TINY, tmp_path, n_jobs=1)
    keep = sorted(root.glob("images/*.nii.gz"))[1]
    mtime = keep.stat().st_mtime_ns
    (root / "cohort.json").unlink()  # as if the build had stopped before the end
    sorted(root.glob("images/*.nii.gz"))[0].unlink()
    cohorts.build("synthetic", TINY, tmp_path, n_jobs=1)
    assert "rendering 1 of 6" in capsys.readouterr().out and keep.stat().st_mtime_ns == mtime
    cohorts.build("synthetic", TINY, tmp_path, seed=1, n_jobs=1)
    assert "rendering 6 of 6" in capsys.readouterr().out
    assert json.loads((root / "cohort.json").read_text())["seed"] == 1


def test_synthetic_oracle_follows_the_signal_strengths() -> None:
    weak = population_auc(SyntheticModel({"ct": 0.5, "radiomics": 0.5, "text": 0.0}), n=50_000)
    strong = population_auc(SyntheticModel({"ct": 2.0, "radiomics": 2.0, "text": 2.0}), n=50_000)
    assert weak["text"] == 0.5 and strong["all"] > weak["all"] > 0.55
    assert strong["all"] > max(strong["ct"], strong["radiomics"], strong["text"])


def test_ct_dataset_items(tiny_cohorts) -> None:
    c = cohorts.load(tiny_cohorts["pbc"])
    for train in (False, True):
        ds = CTDataset(c, c.ids[:3], get_profile("quick"), train=train)
        item = ds[0]
        assert item["id"] == c.ids[0] and item["label"].dtype == torch.long
        assert tuple(item["ct"].shape) == (1, *get_profile("quick").volume_shape)
        assert (
            item["ct"].dtype == torch.float32
            and item["ct"].min() >= 0.0
            and item["ct"].max() <= 1.0
        )
    a = CTDataset(c, c.ids[:2], TINY, train=False)[1]["ct"]
    assert torch.equal(a, CTDataset(c, c.ids[:2], TINY, train=False)[1]["ct"])


def test_findings_table_records_what_was_rendered(tiny_cohorts) -> None:
    findings = pd.read_csv(tiny_cohorts["pbc"] / "findings.csv", index_col="id")
    table = pbc.load_table().loc[findings.index]
    assert (findings["fibrosis"][table["stage"].notna()] == table["stage"].dropna() - 1).all()
