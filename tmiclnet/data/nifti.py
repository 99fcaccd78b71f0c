"""Deterministic NIfTI bytes: the same array always gives the same .nii.gz (gzip mtime = 0)."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np

from tmiclnet.provenance import atomic_write_bytes


def to_bytes(array: np.ndarray, affine: np.ndarray) -> bytes:
    """A gzipped NIfTI-1 file's bytes, with no timestamp so rebuilds are byte-identical."""
    img = nib.Nifti1Image(np.ascontiguousarray(array), affine)
    img.header.set_xyzt_units("mm")
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    return gzip.compress(img.to_bytes(), compresslevel=6, mtime=0)


def write(path: Path, array: np.ndarray, affine: np.ndarray) -> None:
    atomic_write_bytes(path, to_bytes(array, affine))


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(array, affine) of a NIfTI file, read fully (a truncated file raises here)."""
    img = nib.load(str(path))
    return np.asarray(img.dataobj), img.affine
