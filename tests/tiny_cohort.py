"""A tiny cohort folder in the documented layout, written here in a second (no renderer).

Sixteen patients, eight of each class, on a 12x16x16 grid of 2 mm voxels: air around a body of
fat, a liver box in it with some texture, a mask on the liver, a note per patient and a clinical
table with its drafted schema.yaml. Every value is plausible and no column gives the label away,
so the folder is valid for the quick profile; each test alters a copy of it. The `tiny_cohort`
fixture below makes one under the test's tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tmiclnet.data import nifti
from tmiclnet.data import schema as schemas

N = 16
IDS = [f"p-{i:02d}" for i in range(1, N + 1)]
LABELS = [i % 2 for i in range(N)]  # eight of each class
AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])
SHAPE = (12, 16, 16)
LIVER = (slice(2, 10), slice(3, 13), slice(3, 13))  # 800 voxels, 20 % of the volume


def image(rng: np.random.Generator, label: int) -> np.ndarray:
    """Air outside, fat in the body, a textured liver (HU, int16)."""
    volume = np.full(SHAPE, -1000, np.int16)
    volume[1:11, 1:15, 1:15] = -100
    liver = 55 + 10 * label + rng.normal(0, 12, volume[LIVER].shape)
    volume[LIVER] = liver.round().astype(np.int16)
    return volume


def mask() -> np.ndarray:
    out = np.zeros(SHAPE, np.uint8)
    out[LIVER] = 1
    return out


def clinical(rng: np.random.Generator) -> pd.DataFrame:
    """A hospital's table: its own column names, sex as M/F, one value missing."""
    table = pd.DataFrame(
        {
            "id": IDS,
            "age_years": rng.integers(35, 80, N),
            "gender": rng.choice(["F", "M"], N),
            "bilirubin_mg_dl": (rng.uniform(0.4, 3.0, N) + np.array(LABELS) * 0.8).round(1),
            "ALT": rng.integers(15, 250, N),
        }
    )
    table.loc[3, "ALT"] = np.nan
    return table


def note(row: pd.Series) -> str:
    return (
        f"Outpatient review, {row['age_years']}-year-old patient.\n"
        f"Bilirubin {row['bilirubin_mg_dl']} mg/dL.\n"
        "Liver edge palpable, no ascites.\n"
    )


def write(root: Path, seed: int = 0) -> Path:
    """Write the tiny cohort into `root` (a new folder) and return it.

    Args:
        root: the folder to create.
        seed: draws the voxels and the table.
    """
    rng = np.random.default_rng(seed)
    (root / "notes").mkdir(parents=True)
    table = clinical(rng)
    for label, (_, row) in zip(LABELS, table.iterrows()):
        pid = row["id"]
        nifti.write(root / "images" / f"{pid}.nii.gz", image(rng, label), AFFINE)
        nifti.write(root / "masks" / f"{pid}.nii.gz", mask(), AFFINE)
        (root / "notes" / f"{pid}.txt").write_text(note(row), "utf-8")
    table.to_csv(root / "clinical.csv", index=False)
    labels = pd.DataFrame({"id": IDS, "label": LABELS})
    labels.to_csv(root / "labels.csv", index=False)
    drafted = schemas.draft(table.set_index("id"), labels.set_index("id")["label"])
    schemas.write(root, drafted)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones too) with its bytes: to show nothing was changed."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def tiny_cohort(tmp_path):
    """A factory of tiny valid cohort folders under `tmp_path/own/` (`write`); imported by the
    conftest.py of tests/data and tests/cli."""

    def make(name: str = "mine", seed: int = 0) -> Path:
        return write(tmp_path / "own" / name, seed)

    return make
