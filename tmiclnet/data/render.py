"""Render one patient's CT from the real LiTS-117 template and the patient's findings.

The CT is synthesised, but every step is driven by a recorded finding so that the image carries
real signal: histologic stage -> parenchymal heterogeneity, fibrous septa, surface nodularity and
(stage 4) regenerative nodules; hepatomegaly -> liver volume; ascites -> perihepatic fluid.
Everything is seeded from the patient id, so the same patient always gets the same volume.

The template is resampled to the profile's shape FIRST and every later step works at that size,
which keeps a cohort of hundreds of patients to minutes on two cores.

The last step is the scanner (`Scanner`): its point-spread function blurs the object, then its
noise is added. `DEFAULT` (sharp as the grid, 8 HU) renders every cohort; `EXTERNAL` is another
center's scanner, noisier and with thicker slices, for the robustness page.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy import ndimage

from tmiclnet.data.template import SPACING_MM, load_template

HU_MIN, HU_MAX = -1024, 3071
FAT_HU = -90.0
FLUID_HU = 8.0


@dataclass(frozen=True)
class Scanner:
    """How the rendered anatomy is imaged: resolution (a Gaussian point-spread function) and noise.

    `psf_fwhm_vox` is the PSF's full width at half maximum along (D, H, W), in voxels of the
    rendered grid (0 = as sharp as the grid): a softer reconstruction kernel widens the in-plane
    values, thicker slices the first. Counting in voxels keeps a scanner equally coarse in every
    profile. `noise_hu` is the standard deviation of the white noise added after the blur.
    """

    name: str
    noise_hu: float
    psf_fwhm_vox: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT = Scanner("default", noise_hu=8.0)
EXTERNAL = Scanner("external", noise_hu=20.0, psf_fwhm_vox=(3.0, 2.0, 2.0))
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass(frozen=True)
class Findings:
    """What the renderer draws. `fibrosis` is continuous in [0, 3]: PBC stage s maps to s - 1.

    Args:
        fibrosis: fibrosis in [0, 3] (PBC stage minus 1); drives texture, septa and nodularity.
        liver_scale: linear scale of the liver: 1 is the template's size, about 1.15 is
            hepatomegaly.
        ascites_mm: thickness of the perihepatic fluid rim, in mm (0: no ascites).
    """

    fibrosis: float
    liver_scale: float = 1.0  # linear scale of the liver (hepatomegaly ~ 1.15)
    ascites_mm: float = 0.0  # thickness of the perihepatic fluid rim, 0 = none

    def as_dict(self) -> dict:
        return asdict(self)


def stable_seed(*parts: object) -> int:
    """A 32-bit seed from strings, identical across runs and machines (unlike `hash()`)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def spacing_for(shape: tuple[int, int, int]) -> tuple[float, float, float]:
    """Voxel spacing (mm) when the 128^3 template's field of view is sampled at `shape`."""
    return tuple(float(s) * 128 / n for s, n in zip(SPACING_MM, shape))


def affine_for(shape: tuple[int, int, int]) -> np.ndarray:
    """The voxel-to-mm affine written into every NIfTI of a cohort rendered at `shape`."""
    return np.diag([*spacing_for(shape), 1.0])


@functools.lru_cache(maxsize=4)
def template_at(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The template image (HU float32) and liver mask (uint8), resampled once per shape."""
    tpl = load_template()
    img = torch.from_numpy(tpl.image)[None, None]
    msk = torch.from_numpy(tpl.mask.astype(np.float32))[None, None]
    img = torch.nn.functional.interpolate(img, size=shape, mode="trilinear", align_corners=False)
    msk = torch.nn.functional.interpolate(msk, size=shape, mode="trilinear", align_corners=False)
    return img[0, 0].numpy(), (msk[0, 0].numpy() > 0.5).astype(np.uint8)


def _smooth_noise(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to unit standard deviation."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma)
    return field / (field.std() + 1e-6)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n <= 1:
        return mask.astype(bool)
    sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
    return labels == (1 + int(np.argmax(sizes)))


def deform(image: np.ndarray, mask: np.ndarray, liver_scale: float, seed: int):
    """Anatomical variation: one random affine + elastic warp (MONAI), applied to CT and mask.

    The affine's scale carries hepatomegaly: MONAI scales the sampling grid, so a liver enlarged
    by `k` needs a grid scaled by 1/k.
    """
    from monai.transforms import Rand3DElasticd

    shape = image.shape
    s = 1.0 / liver_scale - 1.0
    warp = Rand3DElasticd(
        keys=("image", "mask"),
        prob=1.0,
        spatial_size=shape,
        sigma_range=(0.09 * min(shape), 0.12 * min(shape)),
        magnitude_range=(0.4 * min(shape), 0.8 * min(shape)),
        rotate_range=(0.06, 0.06, 0.06),
        translate_range=tuple(0.03 * n for n in shape),
        scale_range=tuple((s - 0.03, s + 0.03) for _ in shape),
        mode=("bilinear", "nearest"),
        padding_mode="border",
    )
    warp.set_random_state(seed=seed)
    out = warp(
        {
            "image": torch.from_numpy(image[None]),
            "mask": torch.from_numpy(mask[None].astype(np.float32)),
        }
    )
    return np.asarray(out["image"][0], dtype=np.float32), np.asarray(out["mask"][0]) > 0.5


def nodular_surface(mask: np.ndarray, fibrosis: float, rng: np.random.Generator) -> np.ndarray:
    """Perturb the liver's signed distance with fine noise: a smooth edge becomes nodular."""
    amplitude = 0.3 + 0.35 * fibrosis  # voxels; a normal liver edge is not perfectly smooth either
    if amplitude <= 0:
        return mask
    signed = ndimage.distance_transform_edt(mask) - ndimage.distance_transform_edt(~mask)
    bumpy = signed + amplitude * _smooth_noise(rng, mask.shape, 0.8)
    return ndimage.binary_fill_holes(_largest_component(bumpy > 0))


def parenchyma(shape, fibrosis: float, rng: np.random.Generator) -> np.ndarray:
    """Liver HU: base enhancement + heterogeneity + fibrous septa + regenerative nodules."""
    base = 105.0 + 5.0 * rng.standard_normal()
    tex = (4.0 + 6.0 * fibrosis) * _smooth_noise(rng, shape, 0.7)
    band = _smooth_noise(rng, shape, 0.9) - 0.8 * _smooth_noise(rng, shape, 1.8)
    band /= band.std() + 1e-6
    septa = np.exp(-((band / 0.35) ** 2)) * (12.0 * fibrosis)  # low-attenuation reticular network
    hu = base + tex - septa
    if fibrosis >= 2.5:  # stage 4: regenerative nodules, slightly hyperattenuating
        centres = rng.random((int(round(6 + 8 * (fibrosis - 2.5))), 3)) * np.array(shape)
        grid = np.indices(shape, dtype=np.float32)
        for c in centres:
            r2 = sum((g - ci) ** 2 for g, ci in zip(grid, c))
            hu += 22.0 * np.exp(-r2 / (2 * 1.1**2))
    return hu.astype(np.float32)


def ascites(
    image: np.ndarray, mask: np.ndarray, thickness_mm: float, spacing, rng: np.random.Generator
) -> np.ndarray:
    """Perihepatic fluid: a rim of water-density voxels of varying thickness around the liver."""
    if thickness_mm <= 0:
        return np.zeros(mask.shape, bool)
    dist = ndimage.distance_transform_edt(~mask, sampling=spacing)
    local = thickness_mm * (0.75 + 0.25 * np.tanh(_smooth_noise(rng, mask.shape, 2.0)))
    # Fluid fills the rim whatever was there except bone: between liver and abdominal wall it
    # pushes the wall out, so at the template's body edge it also replaces the air outside.
    return (dist > 0) & (dist <= local) & (image < 250)


def scan(image: np.ndarray, scanner: Scanner, rng: np.random.Generator) -> np.ndarray:
    """The anatomy `image` (HU) as `scanner` images it: PSF blur, then white noise."""
    sigma = [f / FWHM_PER_SIGMA for f in scanner.psf_fwhm_vox]
    if any(sigma):
        image = ndimage.gaussian_filter(image, sigma, mode="nearest")
    return image + scanner.noise_hu * rng.standard_normal(image.shape)


def render(
    findings: Findings,
    shape: tuple[int, int, int],
    seed: int,
    steps: dict | None = None,
    scanner: Scanner = DEFAULT,
) -> tuple[np.ndarray, np.ndarray]:
    """CT (int16 HU) and liver mask (uint8) of one patient. Pass `steps={}` to keep each stage.

    The anatomy depends on `findings` and `seed` only; `scanner` changes how it is imaged. Another
    scanner draws its own noise (seeded from `seed` and its name): a second scan has new noise.
    """
    rng = np.random.default_rng(seed)
    image, mask = template_at(tuple(shape))
    spacing = spacing_for(tuple(shape))
    keep = steps if steps is not None else {}
    keep["template"] = (image, mask)
    image, mask = deform(image, mask, findings.liver_scale, seed)
    keep["deformed"] = (image.copy(), mask.copy())
    vessels = mask & (image > 170)  # keep the enhancing vessels of the real liver
    new_mask = nodular_surface(mask, findings.fibrosis, rng)
    image = np.where(mask & ~new_mask, FAT_HU + 10 * rng.standard_normal(mask.shape), image)
    tissue = parenchyma(mask.shape, findings.fibrosis, rng)
    image = np.where(new_mask & ~(vessels & new_mask), tissue, image).astype(np.float32)
    keep["textured"] = (image.copy(), new_mask.copy())
    fluid = ascites(image, new_mask, findings.ascites_mm, spacing, rng)
    image = np.where(fluid, FLUID_HU + 5 * rng.standard_normal(mask.shape), image)
    keep["ascites"] = (image.copy(), new_mask.copy())
    noise_rng = (
        rng if scanner == DEFAULT else np.random.default_rng(stable_seed(seed, scanner.name))
    )
    image = scan(image, scanner, noise_rng)
    ct = np.clip(np.rint(image), HU_MIN, HU_MAX).astype(np.int16)
    keep["final"] = (ct, new_mask)
    return ct, new_mask.astype(np.uint8)
