"""Radiomics: pyradiomics features per case (parallel, cached), families, fold-safe preprocessing.

`features(cohort, profile)` is the feature table; `feature_families(columns)` groups its columns
by (image filter, feature class); `preprocess.make_pipeline(profile)` is the per-fold impute/scale/
select pipeline, to be fitted on training rows only. `extract.extract(cohort, profile)` gives the
table with the warnings summary and cache counts.

Names are loaded lazily so that joblib workers, which import `tmiclnet.radiomics.worker`, do not
pay for pandas and friends.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Extraction": "extract",
    "RadiomicsCaseError": "extract",
    "extract_cases": "extract",
    "features": "extract",
    "params_path": "extract",
    "feature_families": "families",
    "family_indices": "families",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
