"""Write a cohort folder: tables and notes, every patient rendered, cohort.json written last.

Every file is written atomically; a build that is interrupted resumes where it stopped, a folder
built with other parameters is rebuilt rather than mixed, and a folder the package did not write
(no marker, or a symbolic link) is never deleted or written into (`tmiclnet.data.marker`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd

from tmiclnet.data import nifti
from tmiclnet.data import schema as schemas
from tmiclnet.data.marker import check_replaceable, is_generated, write_marker
from tmiclnet.data.notes import write_note
from tmiclnet.data.render import (
    DEFAULT,
    Findings,
    Scanner,
    affine_for,
    render,
    spacing_for,
    stable_seed,
)
from tmiclnet.data.template import LICENCE as TEMPLATE_LICENCE
from tmiclnet.provenance import atomic_write_text, sha256_file

WAY_OUT = (
    "keep your own cohort outside the build's --data-dir (e.g. data/own/<name>) and pass it "
    "as --cohort DIR; delete this folder yourself if it is an old build"
)


def _key(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def _render_case(
    root: Path, pid: str, findings: dict, shape: tuple, seed: int, scanner: Scanner = DEFAULT
) -> None:
    """Render and write one patient; the image is written last, so its presence means done."""
    import torch

    torch.set_num_threads(1)  # the warp's values depend on the thread count: keep builds identical
    ct, mask = render(
        Findings(**findings), shape, stable_seed(pid, seed, "render"), scanner=scanner
    )
    affine = affine_for(shape)
    nifti.write(root / "masks" / f"{pid}.nii.gz", mask, affine)
    nifti.write(root / "images" / f"{pid}.nii.gz", ct, affine)


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(lineterminator="\n", float_format="%.6g")


def write_tables(root: Path, tables: dict, seed: int) -> None:
    atomic_write_text(root / "clinical.csv", _csv(tables["clinical"]))
    atomic_write_text(root / "labels.csv", _csv(tables["labels"].rename("label").to_frame()))
    atomic_write_text(root / "findings.csv", _csv(tables["findings"]))
    if "latents" in tables:
        atomic_write_text(root / "latents.csv", _csv(tables["latents"]))
    schemas.write(
        root,
        schemas.pbc_schema(tables.get("label_meaning", "")),
        "# Written by `python -m tmiclnet data build`: the PBC trial's fields.\n",
    )
    for pid, row in tables["clinical"].iterrows():
        note = write_note(row.to_dict(), stable_seed(pid, seed, "note"))
        atomic_write_text(root / "notes" / f"{pid}.txt", note)


def _manifest(root: Path, params: dict, tables: dict) -> dict:
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name != "cohort.json"
    )
    labels = tables["labels"]
    return {
        "name": params["cohort"],
        "generator": f"tmiclnet.data {params['generator']}",
        "key": _key(params),
        "parameters": params,
        "seed": params["seed"],
        "spacing_mm": [round(s, 4) for s in spacing_for(tuple(params["volume_shape"]))],
        "counts": {
            "patients": int(len(labels)),
            "positive": int(labels.sum()),
            "negative": int(len(labels) - labels.sum()),
        },
        "template": {"case": "LiTS-117", "licence": TEMPLATE_LICENCE},
        **tables["extra"],
        "files": {rel: sha256_file(root / rel) for rel in files},
    }


def write_cohort(
    root: Path,
    params: dict,
    tables,
    scanner: Scanner = DEFAULT,
    n_jobs: int = 1,
    force: bool = False,
    verbose: bool = True,
) -> Path:
    """Build (or resume, or reuse) the cohort folder `root` whose content key is `_key(params)`.

    `tables(root)` writes the tables and notes into `root` and returns dict(labels, findings,
    extra); every patient is then rendered from its findings with `scanner` at
    `params["volume_shape"]`, seeded by `params["seed"]`, and cohort.json is written last.
    """
    from joblib import Parallel, delayed

    key = _key(params)
    done = root / "cohort.json"
    if done.exists():
        adopt_if_pristine(root)  # a build from before markers: ours if untouched
    if done.exists() and not force and json.loads(done.read_text()).get("key") == key:
        return root
    pending_key = root / ".build-key"
    mixed = force or not pending_key.exists() or pending_key.read_text() != key
    if root.exists() and mixed and (root.is_symlink() or any(root.iterdir())):
        check_replaceable(root, way_out=WAY_OUT)
        shutil.rmtree(root)  # ours, built with other parameters: rebuild rather than mix
    root.mkdir(parents=True, exist_ok=True)
    if not is_generated(root):
        check_replaceable(root, way_out=WAY_OUT)  # an unmarked folder is never written into
        write_marker(root)
    atomic_write_text(pending_key, key)
    made = tables(root)
    shape, seed = tuple(params["volume_shape"]), params["seed"]
    todo = [pid for pid in made["labels"].index if not (root / "images" / f"{pid}.nii.gz").exists()]
    if verbose:
        print(
            f"{params['cohort']}: rendering {len(todo)} of {len(made['labels'])} patients "
            f"at {shape}"
        )
    find = made["findings"][["fibrosis", "liver_scale", "ascites_mm"]]
    # Worker start-up (importing torch and MONAI) costs more than rendering a few dozen patients.
    jobs = 1 if len(todo) < 64 else n_jobs
    Parallel(n_jobs=jobs)(
        delayed(_render_case)(root, pid, find.loc[pid].to_dict(), shape, seed, scanner)
        for pid in todo
    )
    manifest = _manifest(root, params, made)
    atomic_write_text(done, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return root


def adopt_if_pristine(root: Path) -> None:
    """Mark a folder built before markers existed, if it holds exactly the files cohort.json lists,
    each with its recorded sha256.

    Nothing is deleted here; the check keeps a user's edited or extended copy of a built cohort
    from being adopted (and so later rebuilt over)."""
    if is_generated(root) or root.is_symlink() or not (root / ".build-key").exists():
        return
    from tmiclnet.data.manifest import listed_files
    from tmiclnet.data.validate import check_manifest

    try:
        recorded = json.loads((root / "cohort.json").read_text("utf-8")).get("files", {})
    except (OSError, ValueError):
        return
    problems: list = []
    check_manifest(root, problems)
    if not problems and sorted(recorded) == listed_files(root):
        write_marker(root)
