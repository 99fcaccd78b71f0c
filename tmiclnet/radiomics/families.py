"""Feature families: one group per (image filter, feature class), e.g. "wavelet-LLH_glcm".

pyradiomics names every feature `<image type>_<class>_<feature>` and feature names contain no
underscore, so the family is everything before the last underscore. A model can give each family
one token (TMI-CLNet's radiomics branch); `family_indices` gives the column groups it needs.
"""

from __future__ import annotations

from collections.abc import Sequence

CLASSES = ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")

# What each class measures, in one line (shown in the notebook and usable as token names).
DESCRIPTIONS = {
    "shape": "size and form of the mask itself (volume, surface, sphericity, elongation)",
    "firstorder": "the histogram of intensities inside the mask (mean, spread, skewness, entropy)",
    "glcm": "how often pairs of neighbouring voxels have given grey levels (co-occurrence)",
    "glrlm": "lengths of straight runs of voxels with the same grey level",
    "glszm": "sizes of connected zones with the same grey level",
    "gldm": "how many neighbours depend on (are within a level of) each voxel",
    "ngtdm": "difference between each voxel and its neighbourhood mean (coarseness, busyness)",
}


def family_of(column: str) -> str:
    """The family of one feature column; a ValueError names a column that is not pyradiomics'."""
    family, _, feature = column.rpartition("_")
    image_type, _, cls = family.rpartition("_")
    if not feature or not image_type or cls not in CLASSES:
        raise ValueError(
            f"{column!r} is not a pyradiomics feature name (<image type>_<class>_<feature>)"
        )
    return family


def feature_families(columns: Sequence[str]) -> dict[str, list[str]]:
    """Ordered family name -> its columns, in the order families first appear in `columns`.

    Args:
        columns: radiomic feature columns, named as pyradiomics names them
            (``original_glcm_Contrast``).
    """
    families: dict[str, list[str]] = {}
    for column in columns:
        families.setdefault(family_of(column), []).append(column)
    return families


def family_indices(columns: Sequence[str]) -> list[list[int]]:
    """Column-index groups, one per family, for a model's `rad_families` config.

    Args:
        columns: radiomic feature columns, named as pyradiomics names them
            (``original_glcm_Contrast``).
    """
    position = {c: i for i, c in enumerate(columns)}
    return [[position[c] for c in cols] for cols in feature_families(columns).values()]


def image_type_of(family: str) -> str:
    """'wavelet-LLH_glcm' -> 'wavelet-LLH'."""
    return family.rpartition("_")[0]
