"""The voxel spacing radiomics measures at: the parameter file's, else the cohort's.

Texture features depend on the voxel size, so a cohort whose scans differ in spacing must be
resampled to one before extraction (pyradiomics' `resampledPixelSpacing`). A parameter file that
sets it is used as it is (`train --radiomics-params FILE` chooses one). Otherwise the cohort
decides: the spacing its schema declares, else, for scans of mixed spacings, their median. The
result is a derived parameter file in the cache, named by its content; a cohort on one grid (the
book's) keeps the profile's file untouched, so its features and cache keys do not change.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import yaml

from tmiclnet.provenance import atomic_write_text


def cohort_spacing(cohort) -> tuple[float, float, float] | None:
    """The spacing a cohort asks for: declared in its schema, or the median of mixed spacings."""
    from tmiclnet.data.facts import image_grid

    declared = getattr(cohort, "radiomics_spacing", None)
    if declared:
        return tuple(float(s) for s in declared)
    spacings = np.array([image_grid(cohort.image_path(pid))[1] for pid in cohort.ids])
    if len(spacings) == 0 or np.allclose(spacings, spacings[0], atol=1e-3):
        return None
    return tuple(round(float(s), 4) for s in np.median(spacings, axis=0))


def params_for(cohort, params: Path, cache_dir: Path | None = None) -> Path:
    """`params` itself, or a copy with `resampledPixelSpacing` set to the cohort's spacing.

    Args:
        cohort: the cohort to extract.
        params: the profile's (or the user's) pyradiomics parameter file.
        cache_dir: where derived parameter files go (default: the radiomics cache).
    """
    config = yaml.safe_load(Path(params).read_text()) or {}
    setting = config.setdefault("setting", {}) or {}
    if setting.get("resampledPixelSpacing"):
        return Path(params)
    spacing = cohort_spacing(cohort)
    if spacing is None:
        return Path(params)
    setting["resampledPixelSpacing"] = list(spacing)
    config["setting"] = setting
    text = f"# {Path(params).name} resampled to the cohort's spacing {list(spacing)} mm\n"
    text += yaml.safe_dump(config, sort_keys=True)
    if cache_dir is None:
        from tmiclnet.radiomics.cache import default_cache_dir

        cache_dir = default_cache_dir()
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = Path(cache_dir) / "params" / f"{Path(params).stem}-{digest}.yaml"
    if not path.exists():
        atomic_write_text(path, text)
    return path
