"""The validator's checks of what training would otherwise crash on, or silently learn from.

Each check appends `Problem(file, field, reason)` items (or returns (field, reason) pairs); none
raises. They cover the table format (separator, header-only tables), identifiers that look like
paths, label balance against the folds, each volume (three dimensions, a usable affine, finite
voxels, Hounsfield units rather than a normalised or 8-bit windowed export), each mask (large
enough for pyradiomics, and a region rather than the whole volume or scattered voxels) and each
note (words, and numbers that are finite). The thresholds are documented in book/own_data.md.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet.config import RADIOMICS_PARAMS_DIR
from tmiclnet.data.problems import Problem

# A patient id is a plain file-name stem: it becomes images/<id>.nii.gz, notes/<id>.txt, ...
# (at most 128 characters: file systems refuse names of more than 255 bytes).
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SEPARATORS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}
# Hounsfield units: air is -1000, water 0, liver about 40-70 (up to ~150 with contrast, negative
# when fatty). Scanners pad outside the field of view with values down to -3024.
HU_FLOOR = -3100.0
LIVER_MEDIAN_HU = (-200.0, 400.0)
NORMALISED_SPAN = 10.0  # every voxel within [-10, 10]: a normalised volume, not HU
EIGHT_BIT = 255  # no voxel below 0 and none above 255: a windowed 8-bit export, not HU
# A liver is a few percent of an abdominal CT, up to about half of one cropped around it (the
# generated cohorts: 19-45 %). A mask over more than this share of its volume is not a liver.
MASK_MAX_SHARE = 0.75
# The liver is one region; a mask whose largest connected piece holds less than this share of its
# voxels is scattered (noise, or another label map), not a liver.
MASK_MIN_LARGEST = 0.5
# What the text model reads as a note's number (tmiclnet.text.lines.NUMBER; a test keeps the two
# equal), and a word: two letters in a row.
NOTE_NUMBER = re.compile(r"(?<![A-Za-z0-9.^])\d+(?:\.\d+)?")
WORD = re.compile(r"[^\W\d_]{2,}")


def shown(value) -> str:
    """A cell's value as a message shows it: numbers plainly (`2`, `1.5`, not `np.int64(2)`),
    text quoted, a missing cell as `empty`.

    Args:
        value: the cell as pandas read it.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "empty"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):g}"
    return repr(str(value))


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
                f"id {shown_id(pid)} is not a plain name (letters, digits, '-', '_', '.'; "
                "no '/' or '..'; at most 128 characters): ids become file names",
            )
        )
    return bad


def shown_id(pid: str) -> str:
    """An id as a message quotes it: cut to 40 characters, so that one line stays readable.

    Args:
        pid: the id as read.
    """
    pid = str(pid)
    return repr(pid) if len(pid) <= 40 else f"{pid[:40]!r}... ({len(pid)} characters)"


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
    if windowed(array, low, high):
        out.append(
            (
                "intensity",
                f"values span [{low:g}, {high:g}] with none below 0: an 8-bit windowed export, "
                "not Hounsfield units (air is -1000, fat about -100); export the original HU "
                "values (rescale slope and intercept applied, no window)",
            )
        )
        return out
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


def windowed(array: np.ndarray, low: float, high: float) -> bool:
    """True for an 8-bit windowed export: an 8-bit type, or whole numbers from 0 up to at most
    255 (a window maps air to 0). A volume of HU never lacks negative values this way: air and fat
    are below 0.

    Args:
        array: the voxels as read.
        low: their minimum (finite voxels).
        high: their maximum (finite voxels).
    """
    if array.dtype in (np.uint8, np.int8):
        return True
    if low != 0 or high > EIGHT_BIT or high <= NORMALISED_SPAN:
        return False
    return bool(np.all(np.mod(array, 1) == 0))


def affine_problems(affine: np.ndarray) -> list[tuple]:
    """(field, reason) pairs when the affine cannot place the voxels (NaN, or a zero spacing).

    Args:
        affine: the image's 4x4 voxel-to-world matrix.
    """
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        return [("affine", "not a finite 4x4 matrix: the voxels have no position or spacing")]
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    if spacing.min() <= 1e-6 or abs(np.linalg.det(affine[:3, :3])) <= 1e-12:
        return [
            ("affine", f"spacing {spacing.round(4).tolist()} mm: a zero spacing or a flat grid")
        ]
    return []


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
    return out + region_problems(inside)


def region_problems(inside: np.ndarray) -> list[tuple]:
    """(field, reason) pairs when a mask is not a liver region: the whole volume (or more of it
    than `MASK_MAX_SHARE`), or voxels scattered in pieces (`MASK_MIN_LARGEST`).

    Args:
        inside: the mask as booleans (3-D, not empty).
    """
    from scipy import ndimage

    share = float(inside.mean())
    if share > MASK_MAX_SHARE:
        whole = "every voxel" if share == 1 else f"{share:.0%} of the volume"
        return [
            (
                "values",
                f"mask covers {whole} (more than {MASK_MAX_SHARE:.0%}): not a liver region; "
                "radiomics would measure the whole scan (was the body or the image exported?)",
            )
        ]
    pieces, n = ndimage.label(inside)
    if n > 1:
        largest = np.bincount(pieces.ravel())[1:].max() / inside.sum()
        if largest < MASK_MIN_LARGEST:
            share = f"{largest:.0%}" if largest >= 0.01 else "under 1%"
            return [
                (
                    "values",
                    f"mask is scattered in {n} pieces, the largest {share} of it (less than "
                    f"{MASK_MIN_LARGEST:.0%}): not one liver region",
                )
            ]
    return []


def note_problems(text: str) -> list[tuple]:
    """(field, reason) pairs of one note: empty, no words, or a number that is not finite.

    Args:
        text: the note, decoded.
    """
    if not text.strip():
        return [("-", "note is empty")]
    out = []
    if not WORD.search(text):
        out.append(("-", "note has no words (only numbers or symbols): the text model reads words"))
    for match in NOTE_NUMBER.finditer(text):
        if not math.isfinite(float(match.group())):
            digits = match.group()
            out.append(
                (
                    "number",
                    f"a number of {len(digits)} characters ({digits[:12]}...) overflows to "
                    "infinity: the text model reads each line's number",
                )
            )
            break
    return out
