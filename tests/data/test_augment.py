"""The CT augmentation keeps what the label depends on: the liver's size, and the labels."""

from __future__ import annotations

import pytest
import torch
from monai import transforms as mt

from tmiclnet.config import get_profile
from tmiclnet.data import augment
from tmiclnet.data.dataset import ct_transforms

SHAPE = (32, 64, 64)  # the cpu profile's volume


def _liver(scale: float = 1.0) -> torch.Tensor:
    """(1, D, H, W): a bright ellipsoid ("liver", 0.8) in a dark body (0.3), off centre."""
    grid = torch.stack(torch.meshgrid(*(torch.linspace(-1, 1, n) for n in SHAPE), indexing="ij"))
    centre = torch.tensor([0.05, -0.1, 0.15]).view(3, 1, 1, 1)
    radii = scale * torch.tensor([0.45, 0.4, 0.35]).view(3, 1, 1, 1)
    inside = (((grid - centre) / radii) ** 2).sum(0) <= 1
    return torch.where(inside, 0.8, 0.3).unsqueeze(0).float()


def _volume(ct: torch.Tensor) -> float:
    """Voxels above the midpoint between liver and body: the size a CNN can read."""
    return float((ct > 0.55).sum())


def test_augmented_batches_keep_the_liver_volume_and_change_the_voxels() -> None:
    batch = _liver().expand(16, *_liver().shape).clone()
    aug = augment.CtAugment()
    aug.start_epoch(seed=3, epoch=0)
    out = aug(batch)
    assert out.shape == batch.shape and out.dtype == batch.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, batch)  # it does augment
    ref = _volume(batch[0])
    sizes = torch.tensor([_volume(v) for v in out])
    # the label's signal: the synthetic liver grows 8 % in scale per sd, ~26 % in volume; the
    # augmentation moves a volume by ~1 % (interpolation at the edge), never by that much
    assert float((sizes / ref - 1).abs().max()) < 0.02
    bigger = _volume(_liver(scale=1.08))
    assert bigger / ref - 1 > 0.2


def test_a_five_percent_scale_would_move_the_size_by_more_than_the_signal_allows() -> None:
    """Why the old training transform's scale_range (5 % per axis) is gone: at its edge the
    liver's volume moves by ~15 %, as much as 0.6 sd of the synthetic CT factor."""
    scaled = mt.Affine(scale_params=(1.05,) * 3, padding_mode="border", image_only=True)
    ref = _volume(_liver())
    assert abs(_volume(torch.as_tensor(scaled(_liver()))) / ref - 1) > 0.1


def test_augmentation_repeats_per_seed_and_epoch() -> None:
    batch = torch.rand(4, *_liver().shape)
    a, b = augment.CtAugment(), augment.CtAugment()
    a.start_epoch(1, 2)
    b.start_epoch(1, 2)
    assert torch.equal(a(batch), b(batch))
    b.start_epoch(1, 3)
    a.start_epoch(1, 2)
    assert not torch.equal(a(batch), b(batch))


def test_the_dataset_training_transforms_are_the_same_augmentation() -> None:
    steps = ct_transforms(get_profile("cpu"), train=True).transforms
    names = [type(t).__name__ for t in steps]
    for t in augment.ct_augment_steps():
        assert type(t).__name__ + "d" in names
    affine = next(t for t in steps if isinstance(t, mt.RandAffined))
    grid = affine.rand_affine.rand_affine_grid
    assert grid.scale_range == (None,) and grid.shear_range == (None,)  # no scaling, no shear


@pytest.mark.parametrize("seed", [0, 1])
def test_dictionary_form_keeps_the_liver_volume(seed: int) -> None:
    steps = mt.Compose(augment.ct_augment_steps(keys="ct"))
    steps.set_random_state(seed)
    ref = _volume(_liver())
    for _ in range(4):
        out = steps({"ct": _liver(), "label": torch.tensor(1)})
        assert abs(_volume(torch.as_tensor(out["ct"]).clamp(0, 1)) / ref - 1) < 0.02
        assert int(out["label"]) == 1
