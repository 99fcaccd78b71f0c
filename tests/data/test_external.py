"""Scanners and the external-center cohort: the default scanner is today's renderer, the external
one is measurably noisier and blurrier, and its cohort folder is built like any other."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
from scipy import ndimage

from tests.data.profiles import TINY
from tmiclnet.data import cohort as cohorts
from tmiclnet.data import nifti
from tmiclnet.data.external import build_external, external_root
from tmiclnet.data.render import DEFAULT, EXTERNAL, FWHM_PER_SIGMA, Findings, render, scan
from tmiclnet.data.validate import validate

SHAPE = (12, 24, 24)
# sha256 of render(Findings(3.0, 1.18, 20.0), SHAPE, 7) (CT bytes, then mask bytes), recorded with
# the renderer before it had a scanner argument, on one torch thread as cohort builds run.
BEFORE_SCANNERS = "9836e18789f1b9d9b55de05cbe99baf4c3c5d78045db98c2916b8fad5f68dd2f"


def test_default_scanner_renders_byte_identically_to_before(one_thread) -> None:
    findings = Findings(fibrosis=3.0, liver_scale=1.18, ascites_mm=20.0)
    ct, mask = render(findings, SHAPE, 7)
    assert hashlib.sha256(ct.tobytes() + mask.tobytes()).hexdigest() == BEFORE_SCANNERS
    again, _ = render(findings, SHAPE, 7, scanner=DEFAULT)
    assert np.array_equal(ct, again)


def edge_width(profile: np.ndarray) -> float:
    """Standard deviation (voxels) of the line-spread function of a blurred unit step."""
    lsf = np.diff(profile)
    x = np.arange(len(lsf))
    mean = (x * lsf).sum() / lsf.sum()
    return float(np.sqrt(((x - mean) ** 2 * lsf).sum() / lsf.sum()))


def test_scanner_psf_and_noise_are_what_they_say() -> None:
    step = np.zeros((40, 40, 40), np.float32)
    step[20:] = 100.0
    rng = np.random.default_rng(0)
    for scanner in (DEFAULT, EXTERNAL):
        flat = scan(np.full((20, 40, 40), 50.0, np.float32), scanner, rng)
        assert flat.std() == pytest.approx(scanner.noise_hu, rel=0.05)
        clean = dataclasses.replace(scanner, noise_hu=0.0)
        for axis in range(3):
            edge = scan(np.moveaxis(step, 0, axis), clean, rng)
            profile = np.moveaxis(edge, axis, 0)[:, 20, 20] / 100.0
            want = scanner.psf_fwhm_vox[axis] / FWHM_PER_SIGMA
            assert edge_width(profile) == pytest.approx(want, abs=0.05), (scanner.name, axis)
    assert EXTERNAL.noise_hu > 2 * DEFAULT.noise_hu
    assert EXTERNAL.psf_fwhm_vox[0] > EXTERNAL.psf_fwhm_vox[1] > 0  # thick slices, soft in-plane


def high_pass_noise(ct: np.ndarray, mask: np.ndarray) -> float:
    """Noise (HU) from the second difference along W inside the liver (white noise: sd * sqrt 6)."""
    x = ct.astype(np.float64)
    second = x[:, :, 2:] - 2 * x[:, :, 1:-1] + x[:, :, :-2]
    inside = ndimage.binary_erosion(mask.astype(bool))[:, :, 1:-1]
    return float(second[inside].std() / np.sqrt(6))


def edge_contrast(ct: np.ndarray, mask: np.ndarray, axis: int) -> float:
    """Mean HU step across the liver edge between neighbours along `axis` (falls with blur)."""
    x, m = np.moveaxis(ct.astype(np.float64), axis, 0), np.moveaxis(mask.astype(bool), axis, 0)
    leaving, entering = m[:-1] & ~m[1:], ~m[:-1] & m[1:]
    steps = np.r_[x[:-1][leaving] - x[1:][leaving], x[1:][entering] - x[:-1][entering]]
    return float(np.abs(steps).mean())


@pytest.mark.parametrize("seed", [11, 12])
def test_external_scanner_images_the_same_liver_noisier_and_coarser(one_thread, seed) -> None:
    findings = Findings(fibrosis=1.0)
    ct, mask = render(findings, SHAPE, seed)
    ext, ext_mask = render(findings, SHAPE, seed, scanner=EXTERNAL)
    assert np.array_equal(mask, ext_mask) and not np.array_equal(ct, ext)
    assert high_pass_noise(ext, mask) > 1.8 * high_pass_noise(ct, mask)
    for axis in range(3):
        assert edge_contrast(ext, mask, axis) < 0.6 * edge_contrast(ct, mask, axis), axis


def test_external_cohort_validates_copies_tables_and_rebuilds_only_on_change(tmp_path) -> None:
    source = cohorts.build("pbc", TINY, tmp_path, n_jobs=1, verbose=False)
    root = build_external(source, verbose=False)
    assert root == external_root(source) == tmp_path / "pbc_external"
    assert validate(root) == []
    manifest = json.loads((root / "cohort.json").read_text())
    assert (
        manifest["name"] == "pbc_external" and manifest["scanner"]["noise_hu"] == EXTERNAL.noise_hu
    )
    assert manifest["source"]["key"] == json.loads((source / "cohort.json").read_text())["key"]
    ids = cohorts.load(root).ids
    assert ids == cohorts.load(source).ids
    copied = (
        "clinical.csv",
        "labels.csv",
        "findings.csv",
        f"notes/{ids[0]}.txt",
        f"masks/{ids[0]}.nii.gz",
    )
    for rel in copied:
        assert (root / rel).read_bytes() == (source / rel).read_bytes(), rel
    a, b = (nifti.read(folder / "images" / f"{ids[0]}.nii.gz") for folder in (source, root))
    assert np.allclose(a[1], b[1]) and not np.array_equal(a[0], b[0])

    image = root / "images" / f"{ids[0]}.nii.gz"
    mtime = image.stat().st_mtime_ns
    build_external(source, verbose=False)  # same inputs: reused
    assert image.stat().st_mtime_ns == mtime
    build_external(source, dataclasses.replace(EXTERNAL, noise_hu=30.0), verbose=False)
    assert json.loads((root / "cohort.json").read_text())["scanner"]["noise_hu"] == 30.0
    mtime = image.stat().st_mtime_ns
    cohorts.build("pbc", TINY, tmp_path, seed=1, n_jobs=1, verbose=False)  # the source changes
    build_external(source, dataclasses.replace(EXTERNAL, noise_hu=30.0), verbose=False)
    assert image.stat().st_mtime_ns != mtime
    assert json.loads((root / "cohort.json").read_text())["seed"] == 1
    assert validate(root) == []
