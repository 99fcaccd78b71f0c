"""Build a cohort folder (PBC or synthetic) and load one back, validated.

One cohort = one folder: images/, masks/, clinical.csv, notes/, labels.csv, findings.csv (what the
renderer drew) and cohort.json (generator version, parameters, seed, counts, sha256 of every file),
written last. Every file is written atomically; a build that is interrupted resumes where it
stopped, and a folder built with other parameters is rebuilt rather than mixed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet.config import Profile
from tmiclnet.data import nifti, pbc
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
from tmiclnet.data.synthetic import SyntheticModel, generate
from tmiclnet.data.template import LICENCE as TEMPLATE_LICENCE
from tmiclnet.data.template import WHEEL_SHA256
from tmiclnet.data.validate import CohortError, validate
from tmiclnet.provenance import atomic_write_text, sha256_file

GENERATOR_VERSION = "1.2.0"  # 1.2.0: schema.yaml written beside clinical.csv
COHORTS = ("pbc", "synthetic")
STAMP = ".validated"
WAY_OUT = (
    "keep your own cohort outside the build's --data-dir (e.g. data/own/<name>) and pass it "
    "as --cohort DIR; delete this folder yourself if it is an old build"
)


def n_synthetic(profile: Profile) -> int:
    """Size of the controlled cohort (`Profile.n_synthetic`; extra["n_synthetic"] overrides it)."""
    return int(profile.extra.get("n_synthetic", profile.n_synthetic))


# ---------------------------------------------------------------- what each cohort contains
def pbc_findings(table: pd.DataFrame) -> pd.DataFrame:
    """Render parameters of each PBC patient from the recorded image fields (seeded by id).

    Missing findings are rendered as absent (hepatomegaly, ascites) or at the median stage, and
    counted in cohort.json; the recorded values (with their gaps) are kept beside them.
    """
    median_stage = float(table["stage"].median())
    rows = []
    for pid, row in table.iterrows():
        rng = np.random.default_rng(stable_seed(pid, "findings"))
        stage = row["stage"] if pd.notna(row["stage"]) else median_stage
        scale = (1.18 if row["hepato"] == 1 else 1.0) + 0.04 * rng.standard_normal()
        fluid = float(rng.uniform(15.0, 25.0)) if row["ascites"] == 1 else 0.0
        rows.append(
            {
                "id": pid,
                "stage": row["stage"],
                "hepato": row["hepato"],
                "ascites": row["ascites"],
                "fibrosis": round(float(stage) - 1.0, 4),
                "liver_scale": round(float(scale), 4),
                "ascites_mm": round(fluid, 3),
            }
        )
    return pd.DataFrame(rows).set_index("id")


def stratified_subset(labels: pd.Series, n: int | None) -> list[str]:
    """`n` ids keeping the label balance, chosen by a stable hash of the id (deterministic)."""
    if n is None or n >= len(labels):
        return sorted(labels.index)
    chosen = []
    n_pos = int(round(n * labels.mean()))
    for value, k in ((1, n_pos), (0, n - n_pos)):
        ids = sorted(labels.index[labels == value], key=lambda i: stable_seed(i, "subset"))
        chosen += ids[:k]
    return sorted(chosen)


def pbc_tables(profile: Profile, horizon_days: int) -> dict:
    table = pbc.load_table()
    labels = pbc.label_table(table, horizon_days)
    ids = stratified_subset(labels, profile.n_patients)
    sub = table.loc[ids]
    findings = pbc_findings(sub)
    return {
        "clinical": sub[list(pbc.TEXT_FIELDS)],
        "findings": findings,
        "labels": labels[ids],
        "label_meaning": f"1 = died within {horizon_days} days of registration",
        "extra": {
            "label_counts": pbc.label_counts(table, horizon_days),
            "missing_in_cohort": pbc.missing_counts(sub),
            "imputed_for_rendering": {
                "stage->median": int(sub["stage"].isna().sum()),
                "hepato->absent": int(sub["hepato"].isna().sum()),
                "ascites->absent": int(sub["ascites"].isna().sum()),
            },
            "sources": {
                "pbc.csv": {
                    "sha256": pbc.PBC_SHA256,
                    "licence": pbc.LICENCE,
                    "citation": pbc.CITATION,
                }
            },
        },
    }


def synthetic_tables(profile: Profile, seed: int, strengths: dict | None) -> dict:
    model = SyntheticModel(strengths=dict(strengths or SyntheticModel().strengths))
    out = generate(n_synthetic(profile), seed, model)
    extra = {
        "model": {"strengths": model.strengths, "intercept": model.intercept},
        "oracle_auc": out["oracle"]["population"]["all"],
        "oracle": out["oracle"],
    }
    meaning = "1 = drawn from the known model's risk (tmiclnet.data.synthetic)"
    return {**out, "extra": extra, "label_meaning": meaning}


# ---------------------------------------------------------------- writing
def _params(name: str, profile: Profile, seed: int, horizon_days: int, strengths) -> dict:
    params = {
        "cohort": name,
        "generator": GENERATOR_VERSION,
        "profile": profile.name,
        "volume_shape": list(profile.volume_shape),
        "seed": seed,
        "template_wheel_sha256": WHEEL_SHA256,
    }
    if name == "pbc":
        params |= {"n_patients": profile.n_patients, "horizon_days": horizon_days}
    else:
        params |= {
            "n_patients": n_synthetic(profile),
            "strengths": dict(strengths or SyntheticModel().strengths),
        }
    return params


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


def _write_tables(root: Path, tables: dict, seed: int) -> None:
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
        "generator": f"tmiclnet.data {GENERATOR_VERSION}",
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


def build(
    name: str,
    profile: Profile,
    data_dir: str | Path,
    seed: int = 0,
    horizon_days: int = pbc.HORIZON_DAYS,
    strengths: dict | None = None,
    n_jobs: int | None = None,
    force: bool = False,
    verbose: bool = True,
) -> Path:
    """Build (or resume, or reuse) the cohort `name` under `data_dir/name`; return its folder.

    Args:
        name: one of `COHORTS` (`pbc`: real records; `synthetic`: controlled signal).
        profile: sets the number of patients and the CT volume size.
        data_dir: the parent folder; the cohort goes to `data_dir/name`.
        seed: seeds the renderer (and the synthetic cohort's draws).
        horizon_days: the label is death within this many days of registration.
        strengths: the synthetic cohort's per-modality signal strengths (None: defaults).
        n_jobs: processes rendering CT (None: the profile's).
        force: rebuild even when a complete cohort with the same parameters exists.
        verbose: print progress lines.
    """
    if name not in COHORTS:
        raise ValueError(f"unknown cohort {name!r}; choose one of {COHORTS}")

    def tables(root: Path) -> dict:
        made = (
            pbc_tables(profile, horizon_days)
            if name == "pbc"
            else synthetic_tables(profile, seed, strengths)
        )
        _write_tables(root, made, seed)
        return made

    params = _params(name, profile, seed, horizon_days, strengths)
    return write_cohort(
        Path(data_dir) / name,
        params,
        tables,
        n_jobs=n_jobs or profile.n_jobs,
        force=force,
        verbose=verbose,
    )


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


# ---------------------------------------------------------------- reading
def _fingerprint(root: Path) -> str:
    """The content of every file: a file changed in place, size and time kept, is noticed."""
    from tmiclnet.data.manifest import fingerprint

    return fingerprint(root, skip=STAMP)


@dataclass
class Cohort:
    """A validated cohort folder: ids, labels, clinical table, notes and image paths."""

    root: Path
    ids: list[str]
    labels: pd.Series
    clinical: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    schema: schemas.Schema | None = None  # schema.yaml, or the PBC schema when there is none

    @property
    def radiomics_spacing(self) -> list[float] | None:
        """The spacing (mm) the schema asks radiomics to resample to, if any."""
        return self.schema.radiomics_spacing_mm if self.schema else None

    @property
    def name(self) -> str:
        return self.manifest.get("name", self.root.name)

    @property
    def oracle_auc(self) -> float | None:
        return self.manifest.get("oracle_auc")

    def note(self, pid: str) -> str:
        return (self.root / "notes" / f"{pid}.txt").read_text("utf-8")

    def notes(self) -> dict[str, str]:
        return {pid: self.note(pid) for pid in self.ids}

    def image_path(self, pid: str) -> Path:
        return self.root / "images" / f"{pid}.nii.gz"

    def mask_path(self, pid: str) -> Path:
        return self.root / "masks" / f"{pid}.nii.gz"

    def findings(self) -> pd.DataFrame | None:
        """What the renderer drew for each patient (built cohorts only)."""
        path = self.root / "findings.csv"
        return pd.read_csv(path, index_col="id", dtype={"id": str}) if path.exists() else None


def load(path: str | Path) -> Cohort:
    """Validate the folder (raising CohortError listing every problem), then open it.

    Args:
        path: a cohort folder (`labels.csv`, `clinical.csv`, `notes/`, `images/`, `masks/`).
    """
    root = Path(path)
    stamp = root / STAMP
    fingerprint = _fingerprint(root) if root.is_dir() else ""
    if not (stamp.exists() and stamp.read_text() == fingerprint):
        problems = validate(root)
        if problems:
            raise CohortError(root, problems)
        with contextlib.suppress(OSError):  # read-only folder: validate again next time
            atomic_write_text(stamp, fingerprint)
    labels = (
        pd.read_csv(root / "labels.csv", dtype={"id": str}).set_index("id")["label"].astype(int)
    )
    clinical = pd.read_csv(root / "clinical.csv", dtype={"id": str}).set_index("id")
    manifest_path = root / "cohort.json"
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else {}
    ids = sorted(labels.index)
    return Cohort(
        root=root,
        ids=ids,
        labels=labels.loc[ids],
        clinical=clinical.loc[ids],
        manifest=manifest,
        schema=schemas.for_folder(root),
    )
