"""Images are read in one orientation and, for mixed cohorts, on one grid (issue 12)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from tmiclnet.config import get_profile
from tmiclnet.data import nifti
from tmiclnet.data.dataset import CTDataset, ct_transforms
from tmiclnet.data.grid import common_grid
from tmiclnet.radiomics.spacing import params_for

PROFILE = dataclasses.replace(get_profile("quick"), volume_shape=(12, 16, 16))
SPACING = (2.0, 2.5, 3.0)


@dataclasses.dataclass
class Folder:
    """Just what CTDataset and the grid helpers read of a cohort."""

    root: Path
    ids: list[str]

    @property
    def labels(self) -> pd.Series:
        return pd.Series(0, index=self.ids)

    def image_path(self, pid: str) -> Path:
        return self.root / "images" / f"{pid}.nii.gz"


def _anatomy(shape=(20, 24, 28), texture: int = 40) -> np.ndarray:
    """An asymmetric volume: a mirrored copy would not match it."""
    rng = np.random.default_rng(0)
    vol = np.full(shape, -1000, np.int16)
    vol[4:14, 3:15, 5:25] = 60 + rng.integers(0, texture + 1, (10, 12, 20))
    vol[2:5, 18:22, 20:26] = 300  # a bright lump in one corner
    return vol


def _ras(spacing=SPACING) -> np.ndarray:
    return np.diag([*spacing, 1.0])


def _lps(shape, spacing=SPACING) -> np.ndarray:
    """The same world grid with the first two axes reversed (x to the left, y to the back)."""
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    affine[0, 3], affine[1, 3] = spacing[0] * (shape[0] - 1), spacing[1] * (shape[1] - 1)
    return affine


def _tensors(root: Path, volumes: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    for pid, (array, affine) in volumes.items():
        nifti.write(root / "images" / f"{pid}.nii.gz", array, affine)
    folder = Folder(root, sorted(volumes))
    ds = CTDataset(folder, folder.ids, PROFILE, train=False)
    return {pid: ds[i]["ct"] for i, pid in enumerate(folder.ids)}


def test_ras_and_lps_copies_give_identical_tensors(tmp_path) -> None:
    vol = _anatomy()
    lps = vol[::-1, ::-1, :]
    ras_t = _tensors(tmp_path / "ras", {"a": (vol, _ras())})["a"]
    lps_t = _tensors(tmp_path / "lps", {"a": (np.ascontiguousarray(lps), _lps(vol.shape))})["a"]
    assert ras_t.shape == (1, *PROFILE.volume_shape)
    assert torch.equal(ras_t, lps_t)
    flipped = _tensors(tmp_path / "wrong", {"a": (np.ascontiguousarray(lps), _ras())})["a"]
    assert not torch.equal(ras_t, flipped)  # the test can fail: orientation does matter


def test_mixed_orientation_cohort_reads_each_patient_the_same(tmp_path) -> None:
    vol = _anatomy()
    out = _tensors(
        tmp_path / "mixed",
        {"a": (vol, _ras()), "b": (np.ascontiguousarray(vol[::-1, ::-1, :]), _lps(vol.shape))},
    )
    assert torch.equal(out["a"], out["b"])


def test_a_wider_field_of_view_is_not_stretched(tmp_path) -> None:
    """Patient b is patient a with more air around it: on one common grid both read the same."""
    vol = _anatomy()
    wide = np.pad(vol, 4, constant_values=-1000)
    folder = Folder(tmp_path / "fov", ["a", "b"])
    out = _tensors(folder.root, {"a": (vol, _ras()), "b": (wide, _ras())})
    grid = common_grid(folder)
    assert grid is not None and grid.shape == (24, 28, 32)  # the median field of view
    assert torch.allclose(out["a"], out["b"], atol=1e-5)


def _box(t: torch.Tensor) -> np.ndarray:
    """The bounding box (first and last voxel per axis) of the soft tissue in a CT tensor."""
    idx = np.argwhere(t[0].numpy() > 0.3)
    return np.concatenate([idx.min(0), idx.max(0)])


def test_mixed_spacings_are_resampled_before_the_resize(tmp_path) -> None:
    """b: a's anatomy with more air around it, scanned at twice the spacing."""
    vol = np.full((30, 36, 42), -1000, np.int16)
    vol[6:21, 5:23, 8:38] = 60  # organs large enough to survive a 2x coarser scan
    vol[3:9, 26:33, 30:39] = 300
    coarse = np.pad(vol, 12, constant_values=-1000)[::2, ::2, ::2]
    fine = tuple(s / 2 for s in SPACING)
    volumes = {"a": (vol, _ras(fine)), "b": (coarse, _ras(SPACING))}
    folder = Folder(tmp_path / "spacing", ["a", "b"])
    out = _tensors(folder.root, volumes)
    grid = common_grid(folder)
    assert grid is not None and np.allclose(grid.spacing, [1.5, 1.875, 2.25])
    assert np.abs(_box(out["a"]) - _box(out["b"])).max() <= 1

    naive = ct_transforms(PROFILE, False)  # no common grid: resize only
    plain = {pid: naive({"ct": str(folder.image_path(pid))})["ct"] for pid in "ab"}
    assert np.abs(_box(plain["a"]) - _box(plain["b"])).max() > 1  # resizing alone would shrink b


def test_one_grid_cohort_needs_no_resampling(tmp_path) -> None:
    vol = _anatomy()
    folder = Folder(tmp_path / "one", ["a", "b"])
    _tensors(folder.root, {"a": (vol, _ras()), "b": (vol, _ras())})
    assert common_grid(folder) is None


@pytest.mark.parametrize("mixed", [False, True])
def test_radiomics_spacing_comes_from_the_params_or_the_cohort(tmp_path, mixed) -> None:
    vol = _anatomy()
    folder = Folder(tmp_path / "rad", ["a", "b"])
    second = _ras((1.0, 1.0, 1.0)) if mixed else _ras()
    _tensors(folder.root, {"a": (vol, _ras()), "b": (vol, second)})
    from tmiclnet.radiomics.extract import params_path

    base = params_path("quick.yaml")
    got = params_for(folder, base, cache_dir=tmp_path / "cache")
    if not mixed:
        assert got == base
        return
    setting = yaml.safe_load(got.read_text())["setting"]
    assert setting["resampledPixelSpacing"] == [1.5, 1.75, 2.0]
    own = tmp_path / "own.yaml"
    own.write_text(
        base.read_text().replace("resampledPixelSpacing:", "resampledPixelSpacing: [1, 1, 1]")
    )
    assert params_for(folder, own, cache_dir=tmp_path / "cache") == own  # the file's own choice
