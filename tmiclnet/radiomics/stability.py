"""Feature stability: ICC of each feature under small perturbations of the mask and the image.

A radiomic feature is only worth learning from if it measures the patient rather than the exact
contour or the scanner noise. We re-extract a few cases after eroding or dilating the mask by one
voxel and after adding Gaussian noise, and compute for each feature the intraclass correlation
ICC(2,1) (two-way random effects, absolute agreement, single measurement; Shrout & Fleiss 1979)
between the original and the perturbed values. ICC >= 0.75 is the usual "good" threshold
(Koo & Li 2016).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from tmiclnet.provenance import atomic_write_bytes, sha256_file
from tmiclnet.radiomics.extract import Case, extract_cases

PERTURBATIONS = ("erode", "dilate", "noise")


def icc_2_1(ratings: np.ndarray) -> np.ndarray:
    """ICC(2,1) of ratings shaped (subjects, raters[, features]); NaN where subjects do not vary.

    MSR, MSC, MSE are the two-way ANOVA mean squares for rows (subjects), columns (raters) and
    error: ICC = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n).
    """
    x = np.asarray(ratings, dtype=np.float64)
    squeeze = x.ndim == 2
    x = x[..., None] if squeeze else x
    n, k = x.shape[:2]
    if n < 2 or k < 2:
        raise ValueError(f"ICC needs at least 2 subjects and 2 raters, got {n} x {k}")
    grand = x.mean(axis=(0, 1))
    rows, cols = x.mean(axis=1), x.mean(axis=0)
    ss_rows = k * ((rows - grand) ** 2).sum(axis=0)
    ss_cols = n * ((cols - grand) ** 2).sum(axis=0)
    ss_err = ((x - grand) ** 2).sum(axis=(0, 1)) - ss_rows - ss_cols
    msr, msc, mse = ss_rows / (n - 1), ss_cols / (k - 1), ss_err / ((n - 1) * (k - 1))
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        icc = np.where(denom > 0, (msr - mse) / denom, np.nan)
    return icc[0] if squeeze else icc


def perturb(case: Case, kind: str, out_dir: Path, seed: int = 0, noise_hu: float = 10.0) -> Case:
    """A copy of `case` with its mask eroded/dilated by one voxel or its image given N(0, noise_hu).

    Files are named by the source file's hash, so a re-run reuses them (and their cached features).
    """
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; choose one of {PERTURBATIONS}")
    source = case.image if kind == "noise" else case.mask
    digest = sha256_file(source)[:16]
    target = Path(out_dir) / kind / f"{case.id}-{digest}-{seed}-{noise_hu:g}.nii.gz"
    if not target.exists():
        img = nib.load(source)
        data = np.asarray(img.dataobj)
        if kind == "noise":
            rng = np.random.default_rng(_seed(case.id, seed))
            data = np.clip(np.round(data + rng.normal(0.0, noise_hu, data.shape)), -32768, 32767)
        else:
            op = ndimage.binary_erosion if kind == "erode" else ndimage.binary_dilation
            data = op(data == 1, structure=ndimage.generate_binary_structure(3, 1))
        new = nib.Nifti1Image(data.astype(img.get_data_dtype()), img.affine, img.header)
        atomic_write_bytes(target, gzip.compress(new.to_bytes(), mtime=0))
    image, mask = (target, case.mask) if kind == "noise" else (case.image, target)
    return Case(case.id, image, mask)


def _seed(case_id: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{case_id}/{seed}".encode()).digest()[:4], "little")


def stability(
    cases: Sequence[Case],
    params: str | Path,
    work_dir: str | Path,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    noise_hu: float = 10.0,
    n_jobs: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """ICC(2,1) per feature of each perturbation against the original (index feature).

    Columns: one per perturbation ("erode", "dilate", "noise") and "all" (all four versions as
    raters). Features constant over the cases have NaN.

    Args:
        cases: at least 3 cases (`tmiclnet.radiomics.extract.cohort_cases`).
        params: the pyradiomics parameter file (`tmiclnet.radiomics.extract.params_path`).
        work_dir: folder the perturbed images and masks are written to.
        cache_dir: the feature cache folder; None: the default cache.
        seed: seed of the added noise.
        noise_hu: standard deviation of the added noise, in HU.
        n_jobs: worker processes.
        progress: show a progress bar.
    """
    cases = list(cases)
    if len(cases) < 3:
        raise ValueError(f"stability needs at least 3 cases, got {len(cases)}")
    run = dict(params=params, cache_dir=cache_dir, n_jobs=n_jobs, progress=progress)
    base = extract_cases(cases, **run).features
    versions = {"original": base}
    for kind in PERTURBATIONS:
        perturbed = [perturb(c, kind, Path(work_dir), seed, noise_hu) for c in cases]
        versions[kind] = extract_cases(perturbed, **run).features.loc[base.index, base.columns]
    out = {
        kind: icc_2_1(np.stack([base.to_numpy(), versions[kind].to_numpy()], axis=1))
        for kind in PERTURBATIONS
    }
    out["all"] = icc_2_1(np.stack([v.to_numpy() for v in versions.values()], axis=1))
    return pd.DataFrame(out, index=pd.Index(base.columns, name="feature"))
