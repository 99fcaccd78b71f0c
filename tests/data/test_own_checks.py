"""A user's cohort: what the validator names before training could fail or learn the wrong thing
(issue 28): outcome leaks, implausible CTs, masks and notes, malformed cells and schemas, and
what the profile's folds and the references need. Each test alters a tiny valid cohort."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest

from tests import tiny_cohort as tiny
from tmiclnet.__main__ import main as tmiclnet
from tmiclnet.config import get_profile
from tmiclnet.data import checks, nifti, places
from tmiclnet.data import schema as schemas
from tmiclnet.data.cohort import load
from tmiclnet.data.leaks import outcome_name
from tmiclnet.data.validate import validate
from tmiclnet.inputs.preflight import profile_problems
from tmiclnet.text import lines


def _lines(root) -> list[str]:
    return [str(p) for p in validate(root)]


def _set_column(root, name: str, values) -> None:
    table = pd.read_csv(root / "clinical.csv", dtype={"id": str})
    table[name] = values
    table.to_csv(root / "clinical.csv", index=False)


def _redraft(root) -> None:
    (root / "schema.yaml").unlink()
    assert tmiclnet(["data", "init", str(root / "clinical.csv")]) == 0


def test_the_tiny_cohort_is_valid_for_the_quick_profile(tiny_cohort) -> None:
    root = tiny_cohort()
    assert _lines(root) == []
    assert profile_problems(load(root), get_profile("quick")) == []


# -- outcome leakage -------------------------------------------------------------------------------
def test_data_init_leaves_out_what_gives_the_outcome_away(tiny_cohort, capsys) -> None:
    root = tiny_cohort()
    labels = np.array(tiny.LABELS)
    _set_column(root, "x42", np.where(labels == 1, "dead", "alive"))  # a copy, relabelled
    _set_column(root, "score", labels * 10 + np.arange(tiny.N) * 0.1)  # AUC 1, not two values
    _set_column(root, "fu_days", np.arange(tiny.N) * 30)  # named like an outcome
    _set_column(root, "autopsy", np.where(labels == 1, 1.5, np.nan))  # present for one class
    capsys.readouterr()
    _redraft(root)
    out = capsys.readouterr().out
    assert "x42: identical to the label up to a relabelling" in out
    assert "score: predicts the label almost perfectly on its own (AUC 1.00" in out
    assert "fu_days: named like an outcome" in out
    assert "autopsy: present for exactly the patients of one class" in out
    drafted = schemas.read(root)
    assert drafted.predictors() == ["age_years", "gender", "bilirubin_mg_dl", "ALT"]
    assert "x42" in drafted.columns and "Left out of references.logreg" in (
        root / "schema.yaml"
    ).read_text("utf-8")
    assert _lines(root) == []  # declared, checked, never a predictor


def test_validation_names_a_leaking_predictor_and_baseline_true_accepts_it(tiny_cohort) -> None:
    root = tiny_cohort()
    _set_column(root, "x42", np.array(tiny.LABELS) * 3 + 1)
    _redraft(root)
    text = (root / "schema.yaml").read_text("utf-8")
    (root / "schema.yaml").write_text(text.replace("  logreg:\n", "  logreg:\n  - x42\n"))
    assert _lines(root) == [
        "clinical.csv: x42: identical to the label up to a relabelling (one value per class); "
        "leave it out of schema.yaml's references (or mark it `baseline: true` if it was "
        "measured before the outcome)"
    ]
    text = (root / "schema.yaml").read_text("utf-8")
    (root / "schema.yaml").write_text(text.replace("  x42:\n", "  x42:\n    baseline: true\n"))
    assert _lines(root) == []


def test_an_outcome_named_predictor_in_the_schema_is_named(tiny_cohort) -> None:
    root = tiny_cohort()
    _set_column(root, "death_date_days", np.arange(tiny.N))
    _redraft(root)
    text = (root / "schema.yaml").read_text("utf-8")
    (root / "schema.yaml").write_text(
        text.replace("  logreg:\n", "  logreg:\n  - death_date_days\n")
    )
    assert _lines(root) == [
        "schema.yaml: references.logreg: 'death_date_days' is an outcome, not a predictor"
    ]


def test_real_predictors_are_not_called_leaks(tiny_cohort) -> None:
    root = tiny_cohort()
    assert (
        schemas.read(root).left_out == {}
        and schemas.draft(load(root).clinical, load(root).labels).left_out == {}
    )
    for name in ("prothrombin_time_s", "smoking_status", "urine_copper_ug_day", "alk.phos"):
        assert not outcome_name(name), name
    for name in ("time", "Status", "os_months", "vital_status", "Died", "survival_days"):
        assert outcome_name(name), name


# -- images, masks, notes --------------------------------------------------------------------------
def _write_image(root, pid: str, array) -> None:
    nifti.write(root / "images" / f"{pid}.nii.gz", array, tiny.AFFINE)


def test_ct_exported_as_8bit_windowed_images_is_named(tiny_cohort) -> None:
    root = tiny_cohort()
    hu, _ = nifti.read(root / "images" / "p-01.nii.gz")
    window = np.clip((hu.astype(float) + 160) / 400 * 255, 0, 255).round()
    _write_image(root, "p-01", window.astype(np.uint8))
    _write_image(root, "p-02", window.astype(np.int16))
    found = _lines(root)
    assert [line.split(": ")[0] for line in found] == ["images/p-01.nii.gz", "images/p-02.nii.gz"]
    for line in found:
        assert line.split(": ", 1)[1].startswith("intensity: values span [0, 161] with none below")
        assert "8-bit windowed export, not Hounsfield units" in line
        assert "export the original HU values" in line


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda: np.ones(tiny.SHAPE, np.uint8), "mask covers every voxel (more than 75%)"),
        (
            lambda: np.pad(np.ones((12, 14, 14), np.uint8), ((0, 0), (1, 1), (1, 1))),
            "mask covers 77% of the volume",
        ),
        (
            lambda: (np.random.default_rng(0).random(tiny.SHAPE) < 0.3).astype(np.uint8),
            "mask is scattered in",
        ),
    ],
)
def test_masks_that_are_not_a_liver_region(tiny_cohort, make, expect) -> None:
    root = tiny_cohort()
    nifti.write(root / "masks" / "p-03.nii.gz", make(), tiny.AFFINE)
    found = _lines(root)
    assert len(found) == 1 and found[0].startswith("masks/p-03.nii.gz: values: "), found
    assert expect in found[0]


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("1.2 3.4\n5 / 7\n", "notes/p-04.txt: -: note has no words (only numbers or symbols)"),
        (f"Bilirubin {'9' * 400} mg/dL\n", "notes/p-04.txt: number: a number of 400 characters"),
        ("  \n\n", "notes/p-04.txt: -: note is empty"),
    ],
)
def test_notes_the_text_model_cannot_read(tiny_cohort, text, expect) -> None:
    root = tiny_cohort()
    (root / "notes" / "p-04.txt").write_text(text, "utf-8")
    found = _lines(root)
    assert len(found) == 1 and found[0].startswith(expect), found


def test_the_note_number_pattern_is_the_text_models() -> None:
    assert checks.NOTE_NUMBER.pattern == lines.NUMBER.pattern


def test_a_folder_or_broken_link_in_place_of_a_file(tiny_cohort) -> None:
    root = tiny_cohort()
    (root / "notes" / "p-05.txt").unlink()
    (root / "notes" / "p-05.txt").mkdir()
    (root / "masks" / "p-06.nii.gz").unlink()
    os.symlink(root / "nowhere.nii.gz", root / "masks" / "p-06.nii.gz")
    assert _lines(root) == [
        "notes/p-05.txt: -: not a readable file (a folder, or a broken link)",
        "masks/p-06.nii.gz: -: not a readable file (a folder, or a broken link)",
    ]


def test_an_affine_that_cannot_place_the_voxels(tiny_cohort) -> None:
    assert checks.affine_problems(np.diag([2.0, 2.0, 2.0, 1.0])) == []
    broken = np.diag([2.0, 2.0, 2.0, 1.0])
    broken[0, 3] = np.nan
    assert checks.affine_problems(broken)[0][0] == "affine"
    assert "zero spacing" in checks.affine_problems(np.diag([0.0, 2.0, 2.0, 1.0]))[0][1]


# -- tables and cells ------------------------------------------------------------------------------
def _edit(path, old: str, new: str, count: int = 1) -> None:
    path.write_text(path.read_text("utf-8").replace(old, new, count), "utf-8")


@pytest.mark.parametrize(
    ("alter", "expect"),
    [
        (lambda r: _edit(r / "labels.csv", "p-01,", ","), "labels.csv: id: line 2: empty id"),
        (
            lambda r: _edit(r / "labels.csv", "p-01,", "NA,"),
            "labels.csv: id: line 2: id 'NA' reads as a missing value",
        ),
        (
            lambda r: _edit(r / "labels.csv", "p-01,", "x" * 300 + ","),
            "labels.csv: id: id 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (300 characters)",
        ),
        (
            lambda r: _edit(r / "labels.csv", "p-01,0", "p-01,2"),
            "labels.csv: label[p-01]: 2 is not",
        ),
        (
            lambda r: _edit(r / "labels.csv", "p-01,0", "p-01,"),
            "labels.csv: label[p-01]: empty: every patient needs a label",
        ),
        (
            lambda r: _edit(r / "clinical.csv", "\np-02,", "\np-02,1,"),
            "clinical.csv: -: line 3 has 6 fields, the header 5",
        ),
        (
            lambda r: _edit(r / "clinical.csv", "id,age_years,", "id,ALT,"),
            "clinical.csv: ALT: column named twice in the header",
        ),
        (
            lambda r: (r / "clinical.csv").write_bytes(
                (r / "clinical.csv").read_text().replace("F", "\u00e9").encode("latin-1")
            ),
            "clinical.csv: -: not UTF-8",
        ),
        (lambda r: (r / "labels.csv").write_text(""), "labels.csv: -: empty file (no header line)"),
    ],
)
def test_malformed_cells_and_tables_are_one_line_each(tiny_cohort, alter, expect) -> None:
    root = tiny_cohort()
    alter(root)
    found = _lines(root)
    assert any(line.startswith(expect) for line in found), found
    assert not any("np." in line or "Error" in line or "Expected" in line for line in found)


def test_a_byte_order_mark_and_an_infinite_cell(tiny_cohort) -> None:
    root = tiny_cohort()
    (root / "labels.csv").write_bytes(b"\xef\xbb\xbf" + (root / "labels.csv").read_bytes())
    assert _lines(root) == [] and load(root).labels.sum() == 8
    table = pd.read_csv(root / "clinical.csv", dtype={"id": str})
    table["ALT"] = table["ALT"].astype(object)
    table.loc[0, "ALT"] = "1e999"
    table.to_csv(root / "clinical.csv", index=False)
    assert _lines(root) == ["clinical.csv: ALT[p-01]: inf is not a finite number"]


def test_the_schemas_label_column_is_honoured(tiny_cohort) -> None:
    root = tiny_cohort()
    _edit(root / "labels.csv", "id,label", "id,poor_outcome")
    assert _lines(root) == [
        "labels.csv: label: missing column (it has ['poor_outcome']; schema.yaml's label.column "
        "names it)"
    ]
    _edit(root / "schema.yaml", "column: label", "column: poor_outcome")
    assert _lines(root) == []
    assert load(root).labels.tolist() == tiny.LABELS


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("    - 0\n    - 120", "    - zero\n    - 120", "columns.age_years.range: expected [low,"),
        ("columns:\n", "columns:\n  foo: numeric\n", "columns.foo: expected a mapping"),
        ("  logreg:\n", "  logreg:\n  - nosuch\n", "references.logreg: 'nosuch' is not a declared"),
        ("column: label", "column: 5", "label.column: 5 is not a column name of labels.csv"),
        (
            "    values:\n    - F\n    - M\n",
            "    values: []\n",
            "columns.gender.values: expected a non-empty list",
        ),
    ],
)
def test_a_malformed_schema_field_is_named(tiny_cohort, old, new, expect) -> None:
    root = tiny_cohort()
    _edit(root / "schema.yaml", old, new)
    found = _lines(root)
    assert len(found) == 1 and found[0].startswith(f"schema.yaml: {expect}"), found


def test_a_table_with_only_id_has_no_predictor(tiny_cohort) -> None:
    root = tiny_cohort()
    pd.read_csv(root / "clinical.csv")[["id"]].to_csv(root / "clinical.csv", index=False)
    _redraft(root)
    assert _lines(root) == [
        "schema.yaml: references.logreg: no predictor with a value in clinical.csv: the logistic "
        "regression reference needs at least one clinical column"
    ]


# -- what the profile needs ------------------------------------------------------------------------
def test_folds_whose_validation_split_cannot_be_made(tiny_cohort) -> None:
    root = tiny_cohort()
    keep = [pid for pid, y in zip(tiny.IDS, tiny.LABELS) if y == 0] + ["p-02", "p-04"]
    labels = pd.read_csv(root / "labels.csv", dtype={"id": str})
    labels[labels["id"].isin(keep)].to_csv(root / "labels.csv", index=False)
    clinical = pd.read_csv(root / "clinical.csv", dtype={"id": str})
    clinical[clinical["id"].isin(keep)].to_csv(root / "clinical.csv", index=False)
    for sub, suffix in (("images", ".nii.gz"), ("masks", ".nii.gz"), ("notes", ".txt")):
        for path in (root / sub).iterdir():
            if path.name[: -len(suffix)] not in keep:
                path.unlink()
    assert _lines(root) == []  # two of label 1: enough for two folds, not for their splits
    found = [str(p) for p in profile_problems(load(root), get_profile("quick"))]
    assert found[0].startswith(
        "labels.csv: label: fold 0: 5 training patients (4 with label 0, 1 with label 1) cannot "
        "be split 80%/20% into train and validation"
    )
    assert tmiclnet(["data", "validate", "--cohort", str(root), "--profile", "quick"]) == 1


def test_a_mayo_input_without_values_in_a_folds_training_patients(tiny_cohort) -> None:
    root = tiny_cohort()
    table = pd.read_csv(root / "clinical.csv", dtype={"id": str})
    table["albumin_g_dl"] = [3.5] + [np.nan] * (tiny.N - 1)
    table["prothrombin_time_s"] = np.linspace(10, 13, tiny.N).round(1)
    table["oedema"] = [0, 0.5, 1, 0] * 4
    table.to_csv(root / "clinical.csv", index=False)
    _redraft(root)
    assert schemas.read(root).mayo is not None and _lines(root) == []
    profile = dataclasses.replace(get_profile("quick"), folds=2)
    found = [str(p) for p in profile_problems(load(root), profile)]
    assert found == [  # p-01, its one value, is a test or a validation patient in both folds
        f"clinical.csv: albumin_g_dl: no value among fold {k}'s training patients: the Mayo "
        "score needs its albumin input (fill it in, or set references.mayo to null)"
        for k in (0, 1)
    ]


# -- where things are written ----------------------------------------------------------------------
def test_results_and_the_validation_record_go_beside_the_folder(tiny_cohort, monkeypatch) -> None:
    root = tiny_cohort()
    before = tiny.snapshot(root)
    monkeypatch.chdir(root)
    assert places.results_root_for(".") == root.parent / "results"
    assert places.results_root_for(root / "." / "notes" / "..") == root.parent / "results"
    load(".")
    assert places.validated_record(root).parent == root.parent / "results" / ".validated"
    assert tiny.snapshot(root) == before  # nothing written inside, not even a hidden file
    named = tiny_cohort("results")
    assert places.results_root_for(named) == named.parent / "tmiclnet-results"
    inside = tiny_cohort("inner")
    assert places.results_root_for(inside, "x", inside.parent) == inside.parent
    with pytest.raises(ValueError, match="overlaps the cohort folder"):
        places.results_root_for(inside, "inner", inside.parent)
    with pytest.raises(ValueError, match="overlaps the cohort folder"):
        places.results_root_for(inside, "inner", inside / "out")


def test_a_missing_file_names_one_of_another_format(tiny_cohort) -> None:
    root = tiny_cohort()
    (root / "images" / "p-07.nii.gz").rename(root / "images" / "p-07.nii")
    assert _lines(root) == [
        "images/p-07.nii.gz: -: file missing (found 'p-07.nii': another name or format)"
    ]
