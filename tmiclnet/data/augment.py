"""Label-preserving augmentation of CT volumes: small rotations, intensity jitter, noise.

The label of both cohorts depends on sizes the CT shows (liver volume: about 8 % per sd of the
synthetic CT factor; the ascites rim's thickness), so nothing here scales, crops or warps: a
rotation in voxel space has determinant 1, so it moves the liver without changing its volume,
and intensity and noise change what a voxel reads, not where the organ ends. MONAI's random
transforms, one draw per volume; the trainer applies them to each training batch of the cached
volumes (`CtAugment`), and `tmiclnet.data.dataset.ct_transforms(train=True)` appends the same
steps in their dictionary form.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

# radians about each axis (about 6 degrees): a patient's pose on the table varies this much
ROTATE_RAD = 0.1
ROTATE_PROB = 0.5
NOISE_SD = 0.02  # of the [0, 1] window: 8 HU, the rendering scanner's own noise
NOISE_PROB = 0.3
INTENSITY = 0.05  # relative scale and absolute shift of the window, +/- (contrast timing)
INTENSITY_PROB = 0.3


def ct_augment_steps(keys: str | None = None) -> list:
    """The augmentation's MONAI transforms: array transforms, or dictionary ones on `keys`.

    Args:
        keys: None for array transforms of one (1, D, H, W) volume; a key (e.g. "ct") for the
            dictionary transforms of a MONAI dataset item.
    """
    from monai import transforms as mt  # on first use: `import monai` takes seconds (encoders.py)

    rotate = dict(
        prob=ROTATE_PROB, rotate_range=(ROTATE_RAD,) * 3, mode="bilinear", padding_mode="border"
    )
    if keys is None:
        return [
            mt.RandAffine(**rotate),
            mt.RandScaleIntensity(factors=INTENSITY, prob=INTENSITY_PROB),
            mt.RandShiftIntensity(offsets=INTENSITY, prob=INTENSITY_PROB),
            mt.RandGaussianNoise(prob=NOISE_PROB, std=NOISE_SD),
        ]
    return [
        mt.RandAffined(keys=keys, **rotate),
        mt.RandScaleIntensityd(keys=keys, factors=INTENSITY, prob=INTENSITY_PROB),
        mt.RandShiftIntensityd(keys=keys, offsets=INTENSITY, prob=INTENSITY_PROB),
        mt.RandGaussianNoised(keys=keys, prob=NOISE_PROB, std=NOISE_SD),
    ]


@contextlib.contextmanager
def _plain_tensors() -> Iterator[None]:
    """MONAI without metadata tracking: plain tensors in and out, about twice as fast."""
    from monai.data import get_track_meta, set_track_meta

    before = get_track_meta()
    set_track_meta(False)
    try:
        yield
    finally:
        set_track_meta(before)


class CtAugment:
    """Augments a batch of cached volumes, each with its own draw, reproducibly per epoch.

    `start_epoch(seed, epoch)` reseeds the transforms, so an epoch's draws depend on (seed,
    epoch) and the batch order only: a run resumed at an epoch boundary draws what the
    uninterrupted one drew.
    """

    def __init__(self) -> None:
        from monai import transforms as mt

        self.transform = mt.Compose(ct_augment_steps())

    def start_epoch(self, seed: int, epoch: int) -> None:
        """Reseed for `epoch` of a fit seeded `seed`.

        Args:
            seed: the fit's seed (`TrainConfig.seed`).
            epoch: the epoch about to run.
        """
        self.transform.set_random_state(seed=(1_000_003 * seed + 7919 * epoch) % 2**32)

    @torch.no_grad()
    def __call__(self, ct: torch.Tensor) -> torch.Tensor:
        """(B, 1, D, H, W) volumes in [0, 1] -> augmented, same shape, device and range."""
        with _plain_tensors():
            out = torch.stack([torch.as_tensor(self.transform(v)) for v in ct])
        return out.to(device=ct.device, dtype=ct.dtype).clamp_(0.0, 1.0)
