"""The validator's checks of what training would otherwise crash on, or silently learn from.

Each check appends `Problem(file, field, reason)` items; none raises. They cover the table format
(separator, header-only tables), identifiers that look like paths, label balance against the
folds, and each volume: three dimensions, finite voxels, Hounsfield-unit intensities and a mask
large enough for pyradiomics.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet.config import RADIOMICS_PARAMS_DIR
from tmiclnet.data.problems import Problem

# A patient id is a plain file-name stem: it becomes images/<id>.nii.gz, notes/<id>.txt, ...
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SEPARATORS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}
# Hounsfield units: air is -1000, water 0, liver about 40-70 (up to ~150 with contrast, negative
# when fatty). Scanners pad outside the field of view with values down to -3024.
HU_FLOOR = -3100.0
LIVER_MEDIAN_HU = (-200.0, 400.0)
NORMALISED_SPAN = 10.0  # every voxel within [-10, 10]: a normalised volume, not HU


def separator_problem(path: Path) -> str | None:
    """'separated by semicolons, not commas' when the header line says so, else None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return None
    if "," in header:
        return None
    for sep, name in SEPARATORS.items():
        if sep in header:
            return f"columns are separated by a {name} ({sep!r}), not a comma; save as CSV"
    return None


def id_problems(file: str, ids, problems: list) -> set[str]:
    """Name every id that is not a plain file-name stem; return them (their files are skipped)."""
    bad = {str(pid) for pid in ids if not ID_PATTERN.match(str(pid)) or ".." in str(pid)}
    for pid in sorted(bad):
        problems.append(
            Problem(
                file,
                "id",
                f"id {pid!r} is not a plain name (letters, digits, '-', '_', '.'; "
                "no '/' or '..'): ids become file names",
            )
        )
    return bad


def label_balance(labels: pd.Series, folds: int | None, problems: list) -> None:
    """A single class cannot be learned; fewer patients of a class than folds leaves a fold
    without that class, so its AUC does not exist.

    Args:
        labels: the 0/1 labels (index id).
        folds: the number of cross-validation folds, or None not to check against folds.
        problems: where problems are appended.
    """
    counts = labels.value_counts().to_dict()
    if len(counts) == 1:
        ((value, n),) = counts.items()
        problems.append(
            Problem("labels.csv", "label", f"a single class: all {n} patients have label {value}")
        )
        return
    for value in (0, 1):
        n = int(counts.get(value, 0))
        if folds and n < folds:
            problems.append(
                Problem(
                    "labels.csv",
                    "label",
                    f"only {n} patient(s) with label {value}, fewer than the {folds} folds",
                )
            )


def volume_problems(array: np.ndarray, mask: np.ndarray | None) -> list[tuple]:
    """(field, reason) pairs for one CT volume: dimensions, finiteness, Hounsfield units.

    Args:
        array: the voxels as read.
        mask: the liver mask on the same grid, if readable (for the liver's median HU).
    """
    if array.ndim != 3:
        return [("shape", f"a {array.ndim}-D image (shape {array.shape}); expected 3-D")]
    out = []
    values = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        n = int((~finite).sum())
        out.append(("voxels", f"{n} of {values.size} voxels are NaN or infinite"))
        if not finite.any():
            return out
        values = np.where(finite, values, np.nan)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if low >= -NORMALISED_SPAN and high <= NORMALISED_SPAN:
        out.append(
            (
                "intensity",
                f"values span [{low:g}, {high:g}]: not Hounsfield units (air is -1000, liver "
                "about 50); was the volume normalised?",
            )
        )
        return out
    if low < HU_FLOOR:
        out.append(("intensity", f"minimum {low:g} is below any Hounsfield unit ({HU_FLOOR:g})"))
    inside = values[mask > 0] if mask is not None and mask.shape == array.shape else []
    if np.isfinite(inside).any():
        liver = float(np.nanmedian(inside))
        lo, hi = LIVER_MEDIAN_HU
        if not lo <= liver <= hi:
            out.append(
                (
                    "intensity",
                    f"median {liver:g} inside the liver mask is outside [{lo:g}, {hi:g}] HU "
                    "(an offset or a scaled volume?)",
                )
            )
    return out


def roi_minimum() -> tuple[int, int]:
    """(minimumROISize, minimumROIDimensions): the strictest of the package's parameter files."""
    import yaml

    size, dims = 0, 0
    for path in sorted(RADIOMICS_PARAMS_DIR.glob("*.yaml")):
        setting = (yaml.safe_load(path.read_text()) or {}).get("setting", {}) or {}
        size = max(size, int(setting.get("minimumROISize") or 0))
        dims = max(dims, int(setting.get("minimumROIDimensions") or 1))
    return size, dims


def mask_problems(mask: np.ndarray, minimum: tuple[int, int]) -> list[tuple]:
    """(field, reason) pairs when a non-empty mask is below pyradiomics' minimum ROI.

    Args:
        mask: the binary liver mask.
        minimum: (minimumROISize, minimumROIDimensions) of the radiomics parameters.
    """
    size, dims = minimum
    inside = mask > 0
    n = int(inside.sum())
    if not n or inside.ndim != 3:
        return []
    out = []
    if n < size:
        out.append(("values", f"mask has {n} voxels; radiomics needs at least {size}"))
    spans = [int(np.any(inside, axis=tuple(j for j in range(3) if j != i)).sum()) for i in range(3)]
    extent = sum(span > 1 for span in spans)
    if extent < dims:
        out.append(("shape", f"mask extends in {extent} dimension(s); radiomics needs {dims}"))
    return out
