"""Cohort folders made by hand (no renderer), for the validator and schema tests.

A box of soft tissue in air, its mask, the PBC row the validator accepts: one copy, so
that what "a valid folder" means is changed in one place when the validator learns a new check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet.data import nifti

SHAPE = (6, 8, 8)
AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])  # 2 mm voxels, RAS
# every PBC text field, each inside its physiological range
ROW = {"age": 50.0, "sex": "f", "trt": 1, "spiders": 0, "edema": 0.0, "bili": 1.0, "chol": 250,
       "albumin": 3.6, "copper": 40, "alk.phos": 900, "ast": 80.0, "trig": 100, "platelet": 200,
       "protime": 10.5}  # fmt: skip


def liver_image(value: float = 60.0) -> np.ndarray:
    """Air (-1000 HU) around a 4x4x4 box of `value` HU: soft tissue, inside the HU checks."""
    image = np.full(SHAPE, -1000, np.int16)
    image[1:5, 2:6, 2:6] = value
    return image


def liver_mask() -> np.ndarray:
    """The box of `liver_image`: 64 voxels, the radiomics minimum, extending in 3 dimensions."""
    mask = np.zeros(SHAPE, np.uint8)
    mask[1:5, 2:6, 2:6] = 1
    return mask


def write_case(
    root: Path,
    pid: str,
    mask: np.ndarray | None = None,
    mask_affine: np.ndarray = AFFINE,
    image: np.ndarray | None = None,
) -> None:
    """Write images/<pid>.nii.gz and masks/<pid>.nii.gz (by default `liver_image`/`liver_mask`,
    both on `AFFINE`); the mask's own affine lets a test put it on another grid."""
    nifti.write(
        root / "images" / f"{pid}.nii.gz", liver_image() if image is None else image, AFFINE
    )
    nifti.write(
        root / "masks" / f"{pid}.nii.gz", liver_mask() if mask is None else mask, mask_affine
    )


def write_folder(root: Path, ids: list[str], labels: list[int]) -> Path:
    """A valid cohort folder at `root`: every id with its case, a one-line note and `ROW`."""
    (root / "notes").mkdir(parents=True)
    for pid in ids:
        write_case(root, pid)
        (root / "notes" / f"{pid}.txt").write_text("Bilirubin 1.0 mg/dL.\n", "utf-8")
    pd.DataFrame([{"id": pid, **ROW} for pid in ids]).to_csv(root / "clinical.csv", index=False)
    pd.DataFrame({"id": ids, "label": labels}).to_csv(root / "labels.csv", index=False)
    return root
