"""The validator names every problem of a cohort folder (file, field, reason); load() refuses it."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.folders import ROW, write_case, write_folder
from tmiclnet.cli import data as cli
from tmiclnet.data import nifti
from tmiclnet.data.cohort import load
from tmiclnet.data.pbc import TEXT_FIELDS
from tmiclnet.data.problems import CohortError
from tmiclnet.data.validate import validate

IDS = ["p-1", "p-2", "p-3"]


@pytest.fixture()
def folder(tmp_path) -> Path:
    """A small valid folder in the cohort layout, made here (no renderer involved)."""
    return write_folder(tmp_path / "mine", IDS, [0, 1, 0])


def _problems(root: Path) -> list[str]:
    return [str(p) for p in validate(root)]


def _has(problems: list[str], *parts: str) -> bool:
    return any(all(part in p for part in parts) for p in problems)


def test_valid_folder_passes_and_loads(folder) -> None:
    assert validate(folder) == []
    cohort = load(folder)
    assert cohort.ids == IDS and cohort.labels.tolist() == [0, 1, 0]
    assert cohort.clinical.loc["p-2", "albumin"] == 3.6 and "Bilirubin" in cohort.note("p-1")
    assert cli.main(["validate", str(folder)]) == 0


def test_unreadable_nifti(folder) -> None:
    (folder / "images" / "p-1.nii.gz").write_bytes(b"not a nifti at all")
    assert _has(_problems(folder), "images/p-1.nii.gz", "unreadable or truncated")


def test_truncated_nifti(folder) -> None:
    path = folder / "images" / "p-2.nii.gz"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    assert _has(_problems(folder), "images/p-2.nii.gz", "unreadable or truncated")


def test_truncated_uncompressed_payload(folder) -> None:
    path = folder / "masks" / "p-2.nii.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: 352 + 10]))  # header intact, voxels cut
    assert _has(_problems(folder), "masks/p-2.nii.gz", "unreadable or truncated")


def test_shape_mismatch(folder) -> None:
    nifti.write(
        folder / "masks" / "p-1.nii.gz", np.ones((6, 8, 7), np.uint8), np.diag([2.0, 2, 2, 1])
    )
    assert _has(_problems(folder), "masks/p-1.nii.gz", "shape", "!= image shape")


def test_affine_mismatch(folder) -> None:
    write_case(folder, "p-3", mask_affine=np.diag([1.0, 2.0, 2.0, 1.0]))
    assert _has(_problems(folder), "masks/p-3.nii.gz", "affine")


def test_empty_mask(folder) -> None:
    write_case(folder, "p-1", mask=np.zeros((6, 8, 8), np.uint8))
    assert _has(_problems(folder), "masks/p-1.nii.gz", "values", "empty")


def test_non_binary_mask(folder) -> None:
    mask = np.zeros((6, 8, 8), np.uint8)
    mask[1:3] = 2
    write_case(folder, "p-1", mask=mask)
    assert _has(_problems(folder), "masks/p-1.nii.gz", "not binary")


def test_duplicate_id(folder) -> None:
    labels = pd.read_csv(folder / "labels.csv")
    pd.concat([labels, labels.iloc[:1]]).to_csv(folder / "labels.csv", index=False)
    assert _has(_problems(folder), "labels.csv", "id", "duplicate id 'p-1'")


def test_unknown_ids(folder) -> None:
    shutil.copy(folder / "notes" / "p-1.txt", folder / "notes" / "ghost.txt")
    clinical = pd.read_csv(folder / "clinical.csv")
    clinical.loc[len(clinical)] = {**ROW, "id": "stranger"}
    clinical.to_csv(folder / "clinical.csv", index=False)
    problems = _problems(folder)
    assert _has(problems, "notes/ghost.txt", "unknown id 'ghost'")
    assert _has(problems, "clinical.csv", "unknown id 'stranger'")


def test_missing_files(folder) -> None:
    (folder / "masks" / "p-3.nii.gz").unlink()
    (folder / "notes" / "p-2.txt").unlink()
    problems = _problems(folder)
    assert _has(problems, "masks/p-3.nii.gz", "file missing") and _has(
        problems, "notes/p-2.txt", "file missing"
    )


def test_labels_not_binary(folder) -> None:
    pd.DataFrame({"id": IDS, "label": [0, 2, "yes"]}).to_csv(folder / "labels.csv", index=False)
    problems = _problems(folder)
    assert _has(problems, "labels.csv", "label[p-2]", "not 0 or 1")
    assert _has(problems, "labels.csv", "label[p-3]", "not 0 or 1")


def test_missing_columns(folder) -> None:
    pd.read_csv(folder / "clinical.csv").drop(columns=["albumin", "bili"]).to_csv(
        folder / "clinical.csv", index=False
    )
    problems = _problems(folder)
    assert _has(problems, "clinical.csv", "albumin", "missing column")
    assert _has(problems, "clinical.csv", "bili", "missing column")
    assert "label" in pd.read_csv(folder / "labels.csv").columns
    pd.DataFrame({"id": IDS}).to_csv(folder / "labels.csv", index=False)
    assert _has(_problems(folder), "labels.csv", "label", "missing column")


def test_values_outside_physiological_ranges(folder) -> None:
    clinical = pd.read_csv(folder / "clinical.csv")
    clinical.loc[0, "albumin"] = 36.0  # g/L typed where g/dL is expected
    clinical.loc[1, "age"] = -3
    clinical.loc[2, "sex"] = "x"
    clinical.to_csv(folder / "clinical.csv", index=False)
    problems = _problems(folder)
    assert _has(problems, "clinical.csv", "albumin[p-1]", "outside the physiological range")
    assert _has(problems, "clinical.csv", "age[p-2]", "outside")
    assert _has(problems, "clinical.csv", "sex[p-3]", "not one of")


def test_non_utf8_note(folder) -> None:
    (folder / "notes" / "p-2.txt").write_bytes("Bilirubin 1,0 \u00b5mol".encode("latin-1"))
    assert _has(_problems(folder), "notes/p-2.txt", "not UTF-8")


def test_every_problem_listed_cli_fails_and_load_refuses(folder, capsys) -> None:
    (folder / "images" / "p-1.nii.gz").write_bytes(b"junk")
    (folder / "notes" / "p-3.txt").write_bytes(b"\xff\xfe\x00bad")
    pd.DataFrame({"id": IDS, "label": [0, 1, 5]}).to_csv(folder / "labels.csv", index=False)
    assert len(validate(folder)) == 3
    assert cli.main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "images/p-1.nii.gz" in out and "notes/p-3.txt" in out and "label[p-3]" in out
    with pytest.raises(CohortError) as err:
        load(folder)
    assert len(err.value.problems) == 3 and "3 problem(s)" in str(err.value)


def test_load_revalidates_after_a_change(folder) -> None:
    load(folder)  # valid: leaves a stamp
    (folder / "notes" / "p-1.txt").write_bytes(b"\xc3\x28")
    with pytest.raises(CohortError, match="not UTF-8"):
        load(folder)


def test_required_columns_are_the_text_fields() -> None:
    assert set(ROW) == set(TEXT_FIELDS)
