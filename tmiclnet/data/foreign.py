"""A "foreign" cohort: a built cohort re-exported the way another hospital would hand it over.

The own-data page's worked example. The same patients as the source cohort, but with other column
names and codes (`age_years`, `gender` as M/F, `bilirubin_mg_dl`, ...), notes in another style,
other ids, images stored in LPS orientation, and a third of them rescanned at a coarser spacing.
No cohort.json and no schema.yaml: `data init` drafts the schema, `data validate` checks it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tmiclnet.data import nifti
from tmiclnet.provenance import atomic_write_text

RENAME = {
    "age": "age_years",
    "sex": "gender",
    "bili": "bilirubin_mg_dl",
    "albumin": "albumin_g_dl",
    "protime": "prothrombin_time_s",
    "edema": "oedema",
    "platelet": "platelets",
    "copper": "urine_copper_ug_day",
    "ast": "AST",
    "alk.phos": "alkaline_phosphatase",
    "chol": "cholesterol",
}
COARSE = 40 / 48  # every third patient is resampled to 5/6 of the voxels per in-plane axis


def foreign_id(number: int) -> str:
    return f"case_{number:03d}"


def note(row: pd.Series) -> str:
    """A terse discharge-letter style, unlike the book's registration notes."""

    def val(col: str, fmt: str) -> str:
        v = row.get(col)
        return "n/a" if pd.isna(v) else format(float(v), fmt)

    age = "unknown age" if pd.isna(row["age_years"]) else f"{int(row['age_years'])} y"
    return (
        f"Pt {age}, {row['gender']}. Seen in liver clinic.\n"
        f"Labs: bili {val('bilirubin_mg_dl', '.1f')} mg/dL; alb {val('albumin_g_dl', '.2f')} g/dL;"
        f" PT {val('prothrombin_time_s', '.1f')} s; plt {val('platelets', '.0f')}; "
        f"urine Cu {val('urine_copper_ug_day', '.0f')} ug/d; AST {val('AST', '.0f')}.\n"
        f"Oedema grade {val('oedema', 'g')}.\n"
    )


def to_lps(array: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same voxels in the same world positions, stored with x and y reversed (LPS)."""
    flipped = np.ascontiguousarray(array[::-1, ::-1, :])
    out = affine.copy()
    for axis in (0, 1):
        out[:, 3] += affine[:, axis] * (array.shape[axis] - 1)
        out[:, axis] = -affine[:, axis]
    return flipped, out


def rescan(
    image: np.ndarray, mask: np.ndarray, affine: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image and mask resampled to COARSE of the in-plane voxels, spacing grown to keep the FOV."""
    shape = (image.shape[0], round(image.shape[1] * COARSE), round(image.shape[2] * COARSE))

    def resize(a: np.ndarray, mode: str) -> np.ndarray:
        t = torch.from_numpy(a.astype(np.float32))[None, None]
        kw = {"align_corners": False} if mode == "trilinear" else {}
        return torch.nn.functional.interpolate(t, size=shape, mode=mode, **kw)[0, 0].numpy()

    scale = np.diag([1.0, image.shape[1] / shape[1], image.shape[2] / shape[2], 1.0])
    img = np.round(resize(image, "trilinear")).astype(np.int16)
    msk = (resize(mask, "nearest") > 0.5).astype(np.uint8)
    return img, msk, affine @ scale


def export(source, dest: str | Path) -> Path:
    """Write the foreign copy of a loaded cohort `source` into `dest` (a new folder).

    Args:
        source: a loaded cohort (tmiclnet.data.cohort.Cohort).
        dest: where to write; must not exist yet (nothing is overwritten).
    """
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest}: exists; the foreign export writes a new folder only")
    ids = {pid: foreign_id(i + 1) for i, pid in enumerate(source.ids)}
    clinical = source.clinical.drop(columns=["trt", "spiders", "trig"]).rename(columns=RENAME)
    clinical["gender"] = clinical["gender"].str.upper()
    clinical.index = pd.Index([ids[p] for p in clinical.index], name="id")
    dest.mkdir(parents=True)
    atomic_write_text(dest / "clinical.csv", clinical.to_csv(lineterminator="\n"))
    labels = pd.Series(source.labels.to_numpy(), index=clinical.index, name="label")
    atomic_write_text(dest / "labels.csv", labels.to_frame().to_csv(lineterminator="\n"))
    for i, (pid, new) in enumerate(ids.items()):
        atomic_write_text(dest / "notes" / f"{new}.txt", note(clinical.loc[new]))
        image, affine = nifti.read(source.image_path(pid))
        mask, _ = nifti.read(source.mask_path(pid))
        if i % 3 == 2:
            image, mask, affine = rescan(image, mask, affine)
        lps_image, lps_affine = to_lps(image, affine)
        nifti.write(dest / "images" / f"{new}.nii.gz", lps_image, lps_affine)
        nifti.write(dest / "masks" / f"{new}.nii.gz", to_lps(mask, affine)[0], lps_affine)
    return dest
