"""One grid for the CNN when a cohort's volumes differ in spacing or shape.

The CT encoder reads every volume resized to the profile's shape. For volumes on one grid that is
all it takes; for volumes of different spacings or shapes, resizing alone would stretch each
patient's anatomy by a different factor. Such a cohort is first resampled to its median spacing
and padded or cropped to its median field of view, so that a voxel means the same millimetres in
every patient before the resize. A cohort on one grid (the book's) skips both steps entirely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tmiclnet.data.facts import image_grid


@dataclass(frozen=True)
class CommonGrid:
    """Target spacing (mm) and shape (voxels at that spacing), RAS axis order."""

    spacing: tuple[float, float, float]
    shape: tuple[int, int, int]


def _ras_grid(path) -> tuple[np.ndarray, np.ndarray]:
    """Spacing and shape of one image once reoriented to RAS (axes permuted as Orientationd)."""
    import nibabel as nib

    codes, spacing, shape = image_grid(path)
    order = nib.orientations.io_orientation(nib.load(str(path)).affine)[:, 0].astype(int)
    ras_spacing, ras_shape = np.zeros(3), np.zeros(3)
    for axis, target in enumerate(order):
        ras_spacing[target], ras_shape[target] = spacing[axis], shape[axis]
    return ras_spacing, ras_shape


def common_grid(cohort) -> CommonGrid | None:
    """The grid every volume is resampled to, or None when they already share one.

    Args:
        cohort: a loaded cohort (`tmiclnet.data.cohort.Cohort`); every patient counts.
    """
    grids = [_ras_grid(cohort.image_path(pid)) for pid in cohort.ids]
    spacings = np.array([g[0] for g in grids])
    shapes = np.array([g[1] for g in grids])
    if np.allclose(spacings, spacings[0], atol=1e-3) and (shapes == shapes[0]).all():
        return None
    spacing = np.median(spacings, axis=0)
    extent = np.median(spacings * shapes, axis=0)
    shape = np.maximum(1, np.round(extent / spacing)).astype(int)
    return CommonGrid(tuple(float(s) for s in spacing), tuple(int(n) for n in shape))
