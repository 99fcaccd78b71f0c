"""What a cohort's images are, as facts: orientation, voxel spacing and shape, and their spread.

Read from the NIfTI headers only (no voxels), so it is cheap on any cohort. A cohort of mixed
orientations, spacings or shapes is legal (the CT transforms reorient and resample every volume),
but a user should see it before training, not discover it from the results.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import nibabel as nib


def image_grid(path: Path) -> tuple[str, tuple[float, ...], tuple[int, ...]]:
    """(orientation codes such as 'RAS', spacing in mm, shape) of one image, from its header."""
    img = nib.load(str(path))
    codes = "".join(c or "?" for c in nib.aff2axcodes(img.affine))
    spacing = tuple(round(float(z), 3) for z in img.header.get_zooms()[:3])
    return codes, spacing, tuple(int(n) for n in img.shape)


def grid_facts(root: Path, ids) -> dict[str, Counter]:
    """Counters of orientation, spacing and shape over the readable images of `ids`.

    Args:
        root: the cohort folder.
        ids: the patients whose images/<id>.nii.gz are described.
    """
    out = {"orientation": Counter(), "spacing_mm": Counter(), "shape": Counter()}
    for pid in sorted(ids):
        try:
            codes, spacing, shape = image_grid(Path(root) / "images" / f"{pid}.nii.gz")
        except Exception:  # noqa: BLE001 - unreadable images are the validator's to report
            continue
        out["orientation"][codes] += 1
        out["spacing_mm"]["x".join(f"{s:g}" for s in spacing)] += 1
        out["shape"]["x".join(map(str, shape))] += 1
    return out


def describe(facts: dict[str, Counter]) -> list[str]:
    """One line per fact: 'orientation: RAS (38), LPS (2) - mixed'."""
    lines = []
    for name, counts in facts.items():
        if not counts:
            continue
        items = ", ".join(f"{value} ({n})" for value, n in counts.most_common(6))
        more = f", ... {len(counts) - 6} more" if len(counts) > 6 else ""
        what = "reoriented to RAS" if name == "orientation" else "resampled to one grid"
        spread = f" - mixed: the CNN reads every volume {what}" if len(counts) > 1 else ""
        lines.append(f"{name}: {items}{more}{spread}")
    return lines


def is_uniform(facts: dict[str, Counter]) -> bool:
    """True when every image has the same orientation, spacing and shape."""
    return all(len(counts) <= 1 for counts in facts.values())
