"""An "external center": a built cohort rendered again by another hospital's scanner.

Same patients, same findings, same render seeds, so the same anatomy; only the scanner
(`tmiclnet.data.render.Scanner`) differs, so whatever differs between the two folders is the
scanner's doing. The copy is a sibling cohort folder `<cohort>_<scanner>` with the usual layout:
clinical.csv, labels.csv, findings.csv (and latents.csv) and the notes are copied byte for byte,
the images are rendered anew (the masks come out identical), and cohort.json records the scanner
and the source cohort. It is built, resumed and reused like any cohort (`cohort.write_cohort`): its
content key covers the source's manifest (the sha256 of every source file) and the scanner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tmiclnet.data import cohort as cohorts
from tmiclnet.data import writer
from tmiclnet.data.render import EXTERNAL, Scanner
from tmiclnet.provenance import atomic_write_bytes, sha256_file

COPIED = ("clinical.csv", "labels.csv", "findings.csv", "latents.csv", "schema.yaml")


def external_root(source: str | Path, scanner: Scanner = EXTERNAL) -> Path:
    """Where the copy of cohort folder `source` imaged by `scanner` lives (a sibling folder)."""
    source = Path(source)
    return source.parent / f"{source.name}_{scanner.name}"


def _params(source: Path, scanner: Scanner) -> dict:
    manifest = json.loads((source / "cohort.json").read_text("utf-8"))
    return {
        "cohort": f"{manifest['name']}_{scanner.name}",
        "generator": cohorts.GENERATOR_VERSION,
        "source": {
            "cohort": manifest["name"],
            "key": manifest["key"],
            "manifest_sha256": sha256_file(source / "cohort.json"),
        },
        "scanner": scanner.as_dict(),
        "volume_shape": manifest["parameters"]["volume_shape"],
        "seed": manifest["seed"],
    }


def _copy_tables(source: Path, root: Path, params: dict) -> dict:
    """Copy the source's tables and notes into `root`; what `cohort.write_cohort` needs back."""
    for name in COPIED:
        if (source / name).exists():
            atomic_write_bytes(root / name, (source / name).read_bytes())
    for note in sorted((source / "notes").glob("*.txt")):
        atomic_write_bytes(root / "notes" / note.name, note.read_bytes())
    labels = pd.read_csv(root / "labels.csv", dtype={"id": str}).set_index("id")["label"]
    findings = pd.read_csv(root / "findings.csv", dtype={"id": str}).set_index("id")
    return {
        "labels": labels.astype(int),
        "findings": findings,
        "extra": {"scanner": params["scanner"], "source": params["source"]},
    }


def build_external(
    source: str | Path,
    scanner: Scanner = EXTERNAL,
    n_jobs: int = 1,
    force: bool = False,
    verbose: bool = True,
) -> Path:
    """Render every patient of the built cohort folder `source` with `scanner`; return the folder.

    Reused as is when already built from the same source and scanner; rebuilt when either changes.
    """
    source = Path(source)
    for name in ("cohort.json", "findings.csv"):
        if not (source / name).exists():
            raise FileNotFoundError(
                f"{source / name}: missing; only a cohort built by "
                "tmiclnet.data can be rendered again"
            )
    cohorts.load(source)  # validated: every file still has its recorded sha256
    params = _params(source, scanner)
    return writer.write_cohort(
        external_root(source, scanner),
        params,
        lambda root: _copy_tables(source, root, params),
        scanner=scanner,
        n_jobs=n_jobs,
        force=force,
        verbose=verbose,
    )


def comparison_figure(source: str | Path, pid: str, scanner: Scanner = EXTERNAL):
    """One patient as the cohort's scanner and as `scanner` imaged them: axial and coronal slices.

    The coronal row is drawn at the voxel spacing's aspect, so thicker slices look thicker.

    Used by notebook 10 (robustness).

    Args:
        source: the built cohort folder (imaged by the default scanner).
        pid: the patient id to show, e.g. ``pbc-0001``.
        scanner: the other scanner; its copy of `source` must exist (`build_external`).
    """
    import matplotlib.pyplot as plt

    from tmiclnet.data import nifti
    from tmiclnet.data.figures import show_slice
    from tmiclnet.data.render import DEFAULT

    source = Path(source)
    psf = "x".join(f"{f:g}" for f in scanner.psf_fwhm_vox)
    volumes = [
        (f"{DEFAULT.name} scanner ({DEFAULT.noise_hu:g} HU)", source),
        (
            f"{scanner.name} scanner ({scanner.noise_hu:g} HU, PSF {psf} vox)",
            external_root(source, scanner),
        ),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(8, 7))
    for col, (title, root) in enumerate(volumes):
        ct, affine = nifti.read(root / "images" / f"{pid}.nii.gz")
        mask, _ = nifti.read(root / "masks" / f"{pid}.nii.gz")
        show_slice(axes[0, col], ct, mask, f"{title}\naxial")
        show_slice(axes[1, col], ct.transpose(1, 0, 2), mask.transpose(1, 0, 2), "coronal")
        axes[1, col].set_aspect(abs(affine[0, 0] / affine[2, 2]))
    fig.suptitle(f"{pid}: the same liver, two scanners (liver mask in red)")
    fig.tight_layout()
    return fig
