"""Build a cohort folder (PBC or synthetic) and load one back, validated.

One cohort = one folder: images/, masks/, clinical.csv, notes/, labels.csv, findings.csv (what the
renderer drew), schema.yaml and cohort.json (generator version, parameters, seed, counts, sha256 of
every file), written last. What the tables hold is `tmiclnet.data.tables`; how the folder is
written (atomically, resumable, never over a folder the package did not write) is
`tmiclnet.data.writer`.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tmiclnet.config import Profile
from tmiclnet.data import pbc, places
from tmiclnet.data import schema as schemas
from tmiclnet.data.problems import CohortError
from tmiclnet.data.reading import label_values
from tmiclnet.data.synthetic import SyntheticModel
from tmiclnet.data.tables import n_synthetic, pbc_tables, synthetic_tables
from tmiclnet.data.template import WHEEL_SHA256
from tmiclnet.data.validate import validate
from tmiclnet.data.writer import write_cohort, write_tables
from tmiclnet.provenance import atomic_write_text

GENERATOR_VERSION = "1.2.0"  # 1.2.0: schema.yaml written beside clinical.csv
COHORTS = ("pbc", "synthetic")
STAMP = ".validated"  # where older versions kept the record inside the folder; ignored now


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
        write_tables(root, made, seed)
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

    The record that the folder was valid (its content's fingerprint, so that an unchanged folder
    is not read twice) is kept beside it (`tmiclnet.data.places.validated_record`), never in it.

    Args:
        path: a cohort folder (`labels.csv`, `clinical.csv`, `notes/`, `images/`, `masks/`).
    """
    root = places.absolute(path)
    record = places.validated_record(root)
    fingerprint = _fingerprint(root) if root.is_dir() else ""
    if not (record.exists() and record.read_text() == fingerprint):
        problems = validate(root)
        if problems:
            raise CohortError(root, problems)
        with contextlib.suppress(OSError):  # read-only parent: validate again next time
            atomic_write_text(record, fingerprint)
    return read(root)


def read(path: str | Path) -> Cohort:
    """Open a folder that `validate` found valid, without checking it again (`load` checks).

    Args:
        path: the cohort folder.
    """
    root = places.absolute(path)
    schema = schemas.for_folder(root)
    table = pd.read_csv(root / "labels.csv", dtype={"id": str}).set_index("id")
    labels = label_values(table, schema.label_column).astype(int).rename("label")
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
        schema=schema,
    )
