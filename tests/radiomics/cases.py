"""Textured ellipsoid 'livers' written as NIfTI cases, for the radiomics tests."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from tmiclnet.radiomics.extract import Case

SPACING = (4.0, 4.0, 4.0)


def write_case(
    folder: Path,
    case_id: str,
    seed: int,
    shape=(20, 24, 24),
    radius=0.7,
    mask_override: np.ndarray | None = None,
) -> Case:
    """An ellipsoid 'liver' with textured noise, as int16 HU + uint8 mask NIfTI (x, y, z order)."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    inside = (grid**2).sum(0) < radius**2
    image = rng.normal(-100, 30, shape) + inside * (160 + 40 * np.sin(6 * grid[1] + seed))
    image += inside * rng.normal(0, 15 + 5 * seed, shape)
    mask = inside.astype(np.uint8) if mask_override is None else mask_override.astype(np.uint8)
    affine = np.diag([*SPACING, 1.0])
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    img_path, mask_path = (
        folder / "images" / f"{case_id}.nii.gz",
        folder / "masks" / f"{case_id}.nii.gz",
    )
    nib.save(nib.Nifti1Image(image.round().astype(np.int16), affine), img_path)
    nib.save(nib.Nifti1Image(mask, affine), mask_path)
    return Case(case_id, img_path, mask_path)
