"""The rendered images show the findings they were given (measured on the volumes themselves)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tmiclnet.data.render import Findings, affine_for, render, spacing_for

SHAPE = (24, 48, 48)
SEEDS = (11, 12, 13)


def heterogeneity(ct: np.ndarray, mask: np.ndarray) -> float:
    """HU standard deviation of the liver's interior (one voxel in from the edge)."""
    return float(ct[ndimage.binary_erosion(mask.astype(bool))].std())


def irregularity(mask: np.ndarray) -> float:
    """Boundary voxels per volume^(2/3): scale-free, grows as the surface gets nodular."""
    m = mask.astype(bool)
    return float((m & ~ndimage.binary_erosion(m)).sum() / m.sum() ** (2 / 3))


def fluid_fraction(ct: np.ndarray, mask: np.ndarray) -> float:
    """Share of voxels within two voxels outside the liver that have water density."""
    dist = ndimage.distance_transform_edt(~mask.astype(bool))
    rim = (dist > 0) & (dist <= 2)
    return float(((ct[rim] > -10) & (ct[rim] < 30)).mean())


@pytest.fixture(scope="module")
def by_stage() -> dict[int, list]:
    return {
        stage: [render(Findings(fibrosis=stage - 1.0), SHAPE, s) for s in SEEDS]
        for stage in (1, 2, 3, 4)
    }


def test_output_types_and_affine() -> None:
    ct, mask = render(Findings(fibrosis=1.0), SHAPE, 0)
    assert ct.dtype == np.int16 and mask.dtype == np.uint8 and ct.shape == mask.shape == SHAPE
    assert set(np.unique(mask)) == {0, 1} and ct.min() >= -1024 and ct.max() <= 3071
    assert np.allclose(np.diag(affine_for(SHAPE))[:3], spacing_for(SHAPE))
    assert spacing_for((128, 128, 128)) == (2.5, 2.5, 2.5)


def test_same_seed_same_volume_other_seed_differs() -> None:
    a, _ = render(Findings(fibrosis=2.0), SHAPE, 5)
    b, _ = render(Findings(fibrosis=2.0), SHAPE, 5)
    c, _ = render(Findings(fibrosis=2.0), SHAPE, 6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_texture_heterogeneity_increases_with_stage(by_stage) -> None:
    means = [np.mean([heterogeneity(ct, m) for ct, m in by_stage[s]]) for s in (1, 2, 3, 4)]
    assert all(b > a for a, b in zip(means, means[1:])), means


def test_surface_irregularity_increases_with_stage(by_stage) -> None:
    means = [np.mean([irregularity(m) for _, m in by_stage[s]]) for s in (1, 2, 3, 4)]
    assert all(b > a for a, b in zip(means, means[1:])), means


def test_hepatomegaly_enlarges_the_liver() -> None:
    for seed in SEEDS:
        _, normal = render(Findings(fibrosis=1.0, liver_scale=1.0), SHAPE, seed)
        _, big = render(Findings(fibrosis=1.0, liver_scale=1.18), SHAPE, seed)
        assert big.sum() > 1.2 * normal.sum()  # part of the larger liver leaves the field of view


def test_ascites_puts_fluid_around_the_liver() -> None:
    for seed in SEEDS:
        dry = fluid_fraction(*render(Findings(fibrosis=2.0, ascites_mm=0.0), SHAPE, seed))
        wet = fluid_fraction(*render(Findings(fibrosis=2.0, ascites_mm=15.0), SHAPE, seed))
        assert wet > dry + 0.15, (dry, wet)
