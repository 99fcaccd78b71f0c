"""The validator names what training would crash on or silently learn from (issue 12)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.folders import AFFINE, liver_image, liver_mask, write_folder
from tmiclnet.__main__ import main as tmiclnet_main
from tmiclnet.cli import data as cli
from tmiclnet.data import nifti, places
from tmiclnet.data.cohort import STAMP, load
from tmiclnet.data.manifest import content_digest
from tmiclnet.data.problems import CohortError
from tmiclnet.data.validate import validate

IDS = ["p-1", "p-2", "p-3", "p-4"]


@pytest.fixture()
def folder(tmp_path) -> Path:
    """Four patients, two of each label: enough for two folds, too few for five."""
    return write_folder(tmp_path / "mine", IDS, [0, 1, 0, 1])


def _lines(root: Path, **kw) -> list[str]:
    return [str(p) for p in validate(root, **kw)]


def test_the_fixture_is_valid_and_loads_without_cohort_json(folder) -> None:
    assert _lines(folder) == [] and not (folder / "cohort.json").exists()
    assert load(folder).ids == IDS


@pytest.mark.parametrize(
    ("array", "expect"),
    [
        (np.where(liver_image() > 0, np.nan, -1000).astype(np.float32), "NaN or infinite"),
        (np.full((6, 8, 8), np.nan, np.float32), "384 of 384 voxels are NaN or infinite"),
        (np.where(liver_image() > 0, np.inf, -1000).astype(np.float32), "NaN or infinite"),
        ((liver_image().astype(np.float32) + 1000) / 1060, "not Hounsfield units"),
        (liver_image() + 1024, "outside [-200, 400] HU"),
        (np.full((6, 8, 8), -9000, np.int16), "below any Hounsfield unit"),
        (np.zeros((8, 8), np.int16), "a 2-D image"),
        (np.zeros((6, 8, 8, 2), np.int16), "a 4-D image"),
    ],
)
def test_images_training_cannot_use_are_named(folder, array, expect) -> None:
    nifti.write(folder / "images" / "p-2.nii.gz", array, AFFINE)
    lines = _lines(folder)
    assert any(line.startswith("images/p-2.nii.gz: ") and expect in line for line in lines), lines


def test_masks_below_the_radiomics_minimum(folder) -> None:
    small = np.zeros((6, 8, 8), np.uint8)
    small[2, 2:5, 2:5] = 1  # 9 voxels, flat
    nifti.write(folder / "masks" / "p-3.nii.gz", small, AFFINE)
    lines = _lines(folder)
    assert "masks/p-3.nii.gz: values: mask has 9 voxels; radiomics needs at least 64" in lines
    assert "masks/p-3.nii.gz: shape: mask extends in 2 dimension(s); radiomics needs 3" in lines


def test_a_single_class_and_too_few_of_a_class_for_the_folds(folder) -> None:
    assert _lines(folder, folds=2) == []
    assert _lines(folder, folds=5) == [
        "labels.csv: label: only 2 patient(s) with label 0, fewer than the 5 folds",
        "labels.csv: label: only 2 patient(s) with label 1, fewer than the 5 folds",
    ]
    pd.DataFrame({"id": IDS, "label": 0}).to_csv(folder / "labels.csv", index=False)
    assert _lines(folder) == ["labels.csv: label: a single class: all 4 patients have label 0"]


def test_path_like_ids_are_named_not_reported_missing(folder) -> None:
    labels = pd.DataFrame({"id": [*IDS, "../x", "a/b"], "label": [0, 1, 0, 1, 0, 1]})
    labels.to_csv(folder / "labels.csv", index=False)
    lines = _lines(folder)
    assert any(line.startswith("labels.csv: id: id '../x' is not a plain name") for line in lines)
    assert any("id 'a/b' is not a plain name" for line in lines)
    assert not any("file missing" in line for line in lines), lines


def test_header_only_table_says_no_patients(folder) -> None:
    (folder / "labels.csv").write_text("id,label\n")
    assert _lines(folder) == ["labels.csv: -: no patients (a header and no rows)"]


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_a_separator_that_is_not_a_comma(folder, sep, name) -> None:
    table = pd.read_csv(folder / "clinical.csv")
    table.to_csv(folder / "clinical.csv", index=False, sep=sep)
    assert _lines(folder) == [
        f"clinical.csv: -: columns are separated by a {name} ({sep!r}), not a comma; save as CSV"
    ]


def test_cli_reports_grid_facts_and_writes_a_manifest(folder, capsys) -> None:
    nifti.write(folder / "images" / "p-4.nii.gz", liver_image(), np.diag([-2.0, -2.0, 2.0, 1.0]))
    nifti.write(folder / "masks" / "p-4.nii.gz", liver_mask(), np.diag([-2.0, -2.0, 2.0, 1.0]))
    assert cli.main(["validate", "--cohort", str(folder), "--write-manifest"]) == 0
    out = capsys.readouterr().out
    assert "fact: orientation: RAS (3), LPS (1) - mixed" in out
    assert "fact: spacing_mm: 2x2x2 (4)" in out and "fact: shape: 6x8x8 (4)" in out
    files = json.loads((folder / "cohort.json").read_text())["files"]
    assert set(files) >= {"labels.csv", "clinical.csv", "images/p-1.nii.gz", "notes/p-4.txt"}
    assert tmiclnet_main(["data", "validate", "--cohort", str(folder), "--write-manifest"]) == 1
    assert "cohort.json: exists; not overwritten" in capsys.readouterr().err  # never twice
    assert validate(folder) == []


def test_content_digest_without_cohort_json_follows_the_files(folder) -> None:
    before = content_digest(folder)
    assert before == content_digest(folder)
    (folder / "notes" / "p-1.txt").write_text("Bilirubin 1.1 mg/dL.\n", "utf-8")
    assert content_digest(folder) != before


def test_a_change_with_the_same_size_and_time_is_noticed(folder) -> None:
    load(folder)
    assert places.validated_record(folder).exists()  # recorded beside the folder
    assert not (folder / STAMP).exists() and not (folder.parent / "results" / "mine").exists()
    note = folder / "notes" / "p-2.txt"
    stat = note.stat()
    note.write_bytes(b"\xff" + note.read_bytes()[1:])  # same size, no longer UTF-8
    os.utime(note, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same time
    assert note.stat().st_size == stat.st_size and note.stat().st_mtime_ns == stat.st_mtime_ns
    with pytest.raises(CohortError, match="not UTF-8"):
        load(folder)
