"""Check a cohort folder file by file and field by field, and name every problem found.

This is also how a user brings their own data: lay it out like a built cohort (images/, masks/,
clinical.csv, notes/, labels.csv) and run `python -m tmiclnet data validate DIR`. Every problem is
reported with the file, the field and the reason, not just the first one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet.data import checks, nifti
from tmiclnet.data.problems import Problem
from tmiclnet.data.schema import Schema, pbc_schema
from tmiclnet.data.schema import read as read_schema
from tmiclnet.provenance import sha256_file

NO_SCHEMA_HINT = (
    " (the PBC schema applies without a schema.yaml; `python -m tmiclnet data init "
    "clinical.csv` drafts one for your columns)"
)


def read_table(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    if not path.exists():
        problems.append(Problem(path.name, "-", "file missing"))
        return None
    separator = checks.separator_problem(path)
    if separator:
        problems.append(Problem(path.name, "-", separator))
        return None
    try:
        table = pd.read_csv(path, dtype={"id": str})
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported, not raised
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.append(Problem(path.name, "-", f"unreadable csv: {reason}"))
        return None
    if len(table.columns) == 0 or table.columns[0] != "id":
        problems.append(Problem(path.name, "id", "first column must be `id`"))
        return None
    if table.empty:
        problems.append(Problem(path.name, "-", "no patients (a header and no rows)"))
        return None
    table["id"] = table["id"].astype(str)
    for dup in sorted(set(table["id"][table["id"].duplicated()])):
        problems.append(Problem(path.name, "id", f"duplicate id {dup!r}"))
    return table.drop_duplicates("id").set_index("id")


def check_labels(labels: pd.DataFrame, problems: list[Problem], folds: int | None = None) -> None:
    if "label" not in labels.columns:
        problems.append(Problem("labels.csv", "label", "missing column"))
        return
    numbers = pd.to_numeric(labels["label"], errors="coerce")
    bad = ~numbers.isin([0, 1])
    for pid in labels.index[bad]:
        problems.append(
            Problem("labels.csv", f"label[{pid}]", f"{labels['label'][pid]!r} is not 0 or 1")
        )
    if not bad.all():
        checks.label_balance(numbers[~bad].astype(int), folds, problems)


def check_clinical(
    clinical: pd.DataFrame, problems: list[Problem], schema: Schema | None = None
) -> None:
    """Every declared column present; numbers, ranges and allowed values as the schema says.

    Args:
        clinical: the table (index id).
        problems: where problems are appended.
        schema: the cohort's schema (None: the built-in PBC schema).
    """
    schema = schema or pbc_schema()
    hint = "" if schema.source != "built-in PBC schema" else NO_SCHEMA_HINT
    for col in schema.columns:
        if col not in clinical.columns:
            problems.append(Problem("clinical.csv", col, f"missing column{hint}"))
    for col, desc in schema.columns.items():
        if col not in clinical.columns:
            continue
        if desc["type"] == "numeric":
            _check_numeric(clinical[col], col, desc, problems)
        elif desc.get("values"):
            allowed = {str(v) for v in desc["values"]}
            for pid, value in clinical[col].dropna().items():
                if str(value) not in allowed:
                    problems.append(
                        Problem(
                            "clinical.csv",
                            f"{col}[{pid}]",
                            f"{value!r} not one of {sorted(allowed)}",
                        )
                    )


def _check_numeric(column: pd.Series, col: str, desc: dict, problems: list[Problem]) -> None:
    values = pd.to_numeric(column, errors="coerce")
    for pid in values.index[values.isna() & column.notna()]:
        problems.append(
            Problem("clinical.csv", f"{col}[{pid}]", f"{column[pid]!r} is not a number")
        )
    if desc.get("range"):
        low, high = (float(v) for v in desc["range"])
        unit = f" {desc['unit']}" if desc.get("unit") and desc["unit"] != "?" else ""
        for pid in values.index[(values < low) | (values > high)]:
            problems.append(
                Problem(
                    "clinical.csv",
                    f"{col}[{pid}]",
                    f"{values[pid]:g} outside the physiological range [{low:g}, {high:g}]{unit}",
                )
            )
    if desc.get("values"):
        allowed = {float(v) for v in desc["values"]}
        for pid, value in values.dropna().items():
            if float(value) not in allowed:
                problems.append(
                    Problem(
                        "clinical.csv",
                        f"{col}[{pid}]",
                        f"{value:g} not one of {sorted(map(str, desc['values']))}",
                    )
                )


def check_ids(root: Path, ids: set[str], clinical_ids: set[str], problems: list[Problem]) -> None:
    bad = checks.id_problems("labels.csv", ids, problems)
    bad |= checks.id_problems("clinical.csv", clinical_ids - ids, problems)
    ids, clinical_ids = ids - bad, clinical_ids - bad
    for pid in sorted(ids - clinical_ids):
        problems.append(
            Problem("clinical.csv", "id", f"id {pid!r} in labels.csv has no clinical row")
        )
    for pid in sorted(clinical_ids - ids):
        problems.append(Problem("clinical.csv", "id", f"unknown id {pid!r} (not in labels.csv)"))
    for sub, suffix in (("images", ".nii.gz"), ("masks", ".nii.gz"), ("notes", ".txt")):
        found = (
            {p.name[: -len(suffix)] for p in (root / sub).glob(f"*{suffix}")}
            if (root / sub).is_dir()
            else set()
        )
        for pid in sorted(ids - found):
            problems.append(Problem(f"{sub}/{pid}{suffix}", "-", "file missing"))
        for pid in sorted(found - ids):
            problems.append(
                Problem(f"{sub}/{pid}{suffix}", "id", f"unknown id {pid!r} (not in labels.csv)")
            )


def check_case(
    root: Path, pid: str, problems: list[Problem], roi_minimum: tuple[int, int] = (0, 1)
) -> None:
    """Readability, shape/affine agreement, a binary, non-empty mask of at least `roi_minimum`
    (pyradiomics' minimumROISize, minimumROIDimensions), and a 3-D, finite, HU image."""
    loaded = {}
    for sub in ("images", "masks"):
        path = root / sub / f"{pid}.nii.gz"
        if not path.exists():
            continue
        try:
            loaded[sub] = nifti.read(path)
        except Exception as exc:  # noqa: BLE001
            problems.append(
                Problem(f"{sub}/{pid}.nii.gz", "-", f"unreadable or truncated NIfTI: {exc}")
            )
    if "masks" in loaded:
        mask = loaded["masks"][0]
        values = np.unique(mask)
        if not set(values.tolist()) <= {0, 1}:
            problems.append(
                Problem(
                    f"masks/{pid}.nii.gz",
                    "values",
                    f"mask is not binary (values {values[:6].tolist()})",
                )
            )
        elif not values.max(initial=0):
            problems.append(Problem(f"masks/{pid}.nii.gz", "values", "mask is empty"))
        else:
            for name, reason in checks.mask_problems(mask, roi_minimum):
                problems.append(Problem(f"masks/{pid}.nii.gz", name, reason))
    if "images" in loaded:
        mask = loaded["masks"][0] if "masks" in loaded else None
        for name, reason in checks.volume_problems(loaded["images"][0], mask):
            problems.append(Problem(f"images/{pid}.nii.gz", name, reason))
    if len(loaded) == 2:
        (img, a1), (msk, a2) = loaded["images"], loaded["masks"]
        if img.shape != msk.shape:
            problems.append(
                Problem(
                    f"masks/{pid}.nii.gz",
                    "shape",
                    f"mask shape {msk.shape} != image shape {img.shape}",
                )
            )
        if not np.allclose(a1, a2, atol=1e-4):
            problems.append(
                Problem(f"masks/{pid}.nii.gz", "affine", "mask affine differs from the image's")
            )


def check_note(root: Path, pid: str, problems: list[Problem]) -> None:
    path = root / "notes" / f"{pid}.txt"
    if not path.exists():
        return
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(f"notes/{pid}.txt", "-", f"not UTF-8: {exc.reason} at byte {exc.start}")
        )
        return
    if not text.strip():
        problems.append(Problem(f"notes/{pid}.txt", "-", "note is empty"))


def check_manifest(root: Path, problems: list[Problem]) -> None:
    """When cohort.json is there, every file it lists must still have its recorded sha256."""
    path = root / "cohort.json"
    if not path.exists():
        return
    try:
        files = json.loads(path.read_text("utf-8")).get("files", {})
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(Problem("cohort.json", "-", f"unreadable: {exc}"))
        return
    for rel, sha in files.items():
        target = root / rel
        if not target.exists():
            problems.append(Problem(rel, "sha256", "listed in cohort.json but missing"))
        elif sha256_file(target) != sha:
            problems.append(Problem(rel, "sha256", "content differs from cohort.json"))


def validate(root: str | Path, images: bool = True, folds: int | None = None) -> list[Problem]:
    """Every problem of the cohort folder `root` (an empty list when it is valid).

    Args:
        root: the cohort folder.
        images: read every image and mask (False: tables and notes only).
        folds: check that each class has at least this many patients (None: not checked).
    """
    root = Path(root)
    if not root.is_dir():
        return [Problem(str(root), "-", "not a folder")]
    problems: list[Problem] = []
    labels = read_table(root / "labels.csv", problems)
    clinical = read_table(root / "clinical.csv", problems)
    if labels is not None:
        check_labels(labels, problems, folds)
    try:
        schema, readable = read_schema(root), True
    except ValueError as exc:  # the columns cannot be checked against a broken schema
        problems.append(Problem("schema.yaml", "-", str(exc).split(": ", 1)[-1]))
        schema, readable = None, False
    if clinical is not None and readable:
        check_clinical(clinical, problems, schema)
    if labels is None:
        return problems
    ids = set(labels.index)
    check_ids(root, ids, set(clinical.index) if clinical is not None else ids, problems)
    ids -= checks.id_problems("labels.csv", ids, [])
    roi = checks.roi_minimum() if images else (0, 1)
    for pid in sorted(ids):
        if images:
            check_case(root, pid, problems, roi)
        check_note(root, pid, problems)
    check_manifest(root, problems)
    return problems
