"""MONAI transforms and a cached dataset of CT volumes for training the CT encoder.

Deterministic steps (load, channel-first, reorient to RAS, resample a cohort of mixed grids to a
common one, resize to the profile's shape, liver window to [0, 1]) run once and are cached in
memory; with `train=True` the label-preserving random augmentations of `tmiclnet.data.augment`
follow, after the cache. Cross-validation never builds a training dataset here: it caches every
volume with `train=False` (`tmiclnet.inputs.features.ct_volumes`) and the trainer augments the
cached volumes batch by batch (`TrainConfig.augment`). Reorienting makes the same anatomy saved
as RAS or LPS give the same tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai import transforms as mt
from monai.data import CacheDataset

from tmiclnet.config import Profile
from tmiclnet.data.augment import ct_augment_steps
from tmiclnet.data.grid import CommonGrid, common_grid

# Abdominal soft-tissue window (level 50 HU, width 400 HU): the liver's range, mapped to [0, 1].
WINDOW_HU = (-150.0, 250.0)


def _regrid(grid: CommonGrid | None) -> list:
    """Resample to the common spacing, then pad or crop to its field of view (mixed cohorts)."""
    if grid is None:
        return []
    return [
        mt.Spacingd(keys="ct", pixdim=grid.spacing, mode="bilinear", padding_mode="border"),
        mt.ResizeWithPadOrCropd(keys="ct", spatial_size=grid.shape, mode="edge"),
    ]


def ct_transforms(profile: Profile, train: bool, grid: CommonGrid | None = None) -> mt.Compose:
    """Load + reorient + resample + window (every split), then the augmentation (train only).

    Args:
        profile: gives the volume shape the CNN reads.
        train: add the random, label-preserving augmentations (`tmiclnet.data.augment`).
        grid: the cohort's common grid when its volumes differ (`grid.common_grid`), else None.
    """
    steps = [
        mt.LoadImaged(keys="ct", image_only=True),
        mt.EnsureChannelFirstd(keys="ct", channel_dim="no_channel"),
        mt.Orientationd(keys="ct", axcodes="RAS", labels=(("L", "R"), ("P", "A"), ("I", "S"))),
        *_regrid(grid),
        mt.Resized(keys="ct", spatial_size=tuple(profile.volume_shape), mode="trilinear"),
        mt.ScaleIntensityRanged(
            keys="ct", a_min=WINDOW_HU[0], a_max=WINDOW_HU[1], b_min=0.0, b_max=1.0, clip=True
        ),
        mt.EnsureTyped(keys="ct", dtype=torch.float32, track_meta=False),
    ]
    if train:
        steps += [
            *ct_augment_steps(keys="ct"),
            mt.EnsureTyped(keys="ct", dtype=torch.float32, track_meta=False),
        ]
    return mt.Compose(steps)


class CTDataset(CacheDataset):
    """Items dict(id, ct=(1, D, H, W) float32 in [0, 1], label=long) of a cohort's `ids`."""

    def __init__(
        self,
        cohort,
        ids: Sequence[str],
        profile: Profile,
        train: bool,
        seed: int = 0,
        num_workers: int = 0,
    ):
        records = [
            {
                "id": pid,
                "ct": str(cohort.image_path(pid)),
                "label": torch.tensor(int(cohort.labels[pid]), dtype=torch.long),
            }
            for pid in ids
        ]
        transform = ct_transforms(profile, train, common_grid(cohort))
        transform.set_random_state(seed=seed)
        super().__init__(
            records,
            transform=transform,
            cache_rate=1.0,
            num_workers=num_workers,
            progress=False,
            copy_cache=train,
        )

    def __getitem__(self, index):
        item = super().__getitem__(index)
        if isinstance(item, dict):  # noise may step outside the window: keep the [0, 1] contract
            item["ct"] = item["ct"].clamp(0.0, 1.0)
        return item
