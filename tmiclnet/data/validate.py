"""Check a cohort folder file by file and field by field, and name every problem found.

This is also how a user brings their own data: lay it out like a built cohort (images/, masks/,
clinical.csv, notes/, labels.csv) and run `python -m tmiclnet data validate DIR`. Every problem is
reported with the file, the field and the reason, not just the first one, in words of its own
(never a library's message or a value's repr), so that a folder it calls valid is one training
and evaluation can read. What depends on the profile (the folds and their validation splits) is
checked by `tmiclnet.inputs.preflight`.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet.data import checks, nifti
from tmiclnet.data.leaks import leak_reason
from tmiclnet.data.problems import Problem
from tmiclnet.data.reading import label_values, read_table
from tmiclnet.data.schema import Schema, pbc_schema
from tmiclnet.data.schema import read as read_schema
from tmiclnet.provenance import sha256_file

NO_SCHEMA_HINT = (
    " (the PBC schema applies without a schema.yaml; `python -m tmiclnet data init "
    "clinical.csv` drafts one for your columns)"
)


def check_labels(
    labels: pd.DataFrame, problems: list[Problem], folds: int | None = None, column: str = "label"
) -> pd.Series | None:
    """Every label 0 or 1, both classes present (and, given `folds`, enough of each).

    Returns the valid labels (index id), or None when the column is missing.

    Args:
        labels: labels.csv (index id).
        problems: where problems are appended.
        folds: the profile's folds (None: not checked here).
        column: the label's column (the schema's `label.column`).
    """
    if column not in labels.columns:
        others = [c for c in labels.columns if c != column]
        hint = f" (it has {others}; schema.yaml's label.column names it)" if others else ""
        problems.append(Problem("labels.csv", column, f"missing column{hint}"))
        return None
    numbers = label_values(labels, column)
    bad = ~numbers.isin([0, 1])
    for pid in labels.index[bad]:
        value = checks.shown(labels[column][pid])
        reason = (
            "empty: every patient needs a label (leave out those whose outcome is unknown)"
            if value == "empty"
            else f"{value} is not 0 or 1"
        )
        problems.append(Problem("labels.csv", f"{column}[{pid}]", reason))
    valid = numbers[~bad].astype(int)
    if len(valid):
        checks.label_balance(valid, folds, problems)
    return valid


# -- clinical table --------------------------------------------------------------------------------
def check_clinical(
    clinical: pd.DataFrame,
    problems: list[Problem],
    schema: Schema | None = None,
    labels: pd.Series | None = None,
) -> None:
    """Every declared column present; numbers, ranges and allowed values as the schema says; the
    references' predictors usable and none giving the outcome away.

    Args:
        clinical: the table (index id).
        problems: where problems are appended.
        schema: the cohort's schema (None: the built-in PBC schema).
        labels: the valid 0/1 labels (index id), for the leakage check (None: skipped).
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
            _check_categorical(clinical[col], col, desc, problems)
    check_references(clinical, schema, problems, labels)


def _check_categorical(column: pd.Series, col: str, desc: dict, problems: list[Problem]) -> None:
    allowed = {str(v) for v in desc["values"]}
    for pid, value in column.dropna().items():
        if str(value) not in allowed:
            problems.append(
                Problem(
                    "clinical.csv",
                    f"{col}[{pid}]",
                    f"{checks.shown(value)} not one of {sorted(allowed)}",
                )
            )


def _check_numeric(column: pd.Series, col: str, desc: dict, problems: list[Problem]) -> None:
    values = pd.to_numeric(column, errors="coerce")
    for pid in values.index[values.isna() & column.notna()]:
        problems.append(
            Problem("clinical.csv", f"{col}[{pid}]", f"{checks.shown(column[pid])} is not a number")
        )
    for pid in values.index[values.isin([np.inf, -np.inf])]:
        problems.append(
            Problem("clinical.csv", f"{col}[{pid}]", f"{column[pid]} is not a finite number")
        )
    values = values.where(np.isfinite(values))
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


def check_references(
    clinical: pd.DataFrame, schema: Schema, problems: list[Problem], labels: pd.Series | None
) -> None:
    """The logistic regression has a predictor with values, names no outcome, and no predictor
    (nor Mayo input) gives the label away (`tmiclnet.data.leaks`): the references must be
    fittable, and a fair comparison.

    Args:
        clinical: the table (index id).
        schema: the cohort's schema.
        problems: where problems are appended.
        labels: the valid 0/1 labels (index id), or None to skip the leakage check.
    """
    named = [c for c in (schema.logreg or []) if schema.outcome(c)]
    for col in named:
        problems.append(
            Problem("schema.yaml", "references.logreg", f"{col!r} is an outcome, not a predictor")
        )
    usable = [c for c in schema.predictors() if c in clinical and clinical[c].notna().any()]
    if not usable:
        problems.append(
            Problem(
                "schema.yaml",
                "references.logreg",
                "no predictor with a value in clinical.csv: the logistic regression reference "
                "needs at least one clinical column",
            )
        )
    for key, col in (schema.mayo or {}).items():
        if col in clinical and not pd.to_numeric(clinical[col], errors="coerce").notna().any():
            problems.append(
                Problem("clinical.csv", col, f"no value: the Mayo score needs its {key} input")
            )
    if labels is None:
        return
    for col in dict.fromkeys([*schema.predictors(), *(schema.mayo or {}).values()]):
        reason = None
        if col in clinical and not schema.columns.get(col, {}).get("baseline"):
            reason = leak_reason(clinical[col], labels)
        if reason:
            problems.append(
                Problem(
                    "clinical.csv",
                    col,
                    f"{reason}; leave it out of schema.yaml's references (or mark it "
                    "`baseline: true` if it was measured before the outcome)",
                )
            )


# -- files -----------------------------------------------------------------------------------------
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
            problems.append(Problem(f"{sub}/{pid}{suffix}", "-", _missing(root / sub, pid)))
        for pid in sorted(found - ids):
            problems.append(
                Problem(f"{sub}/{pid}{suffix}", "id", f"unknown id {pid!r} (not in labels.csv)")
            )


def _missing(folder: Path, pid: str) -> str:
    """'file missing', naming a file of the patient with another ending when there is one."""
    others = sorted(p.name for p in folder.glob(f"{glob.escape(pid)}.*")) if folder.is_dir() else []
    return (
        f"file missing (found {others[0]!r}: another name or format)" if others else "file missing"
    )


def _read_volumes(root: Path, pid: str, problems: list[Problem]) -> dict:
    loaded = {}
    for sub in ("images", "masks"):
        path = root / sub / f"{pid}.nii.gz"
        if not _regular_file(path, f"{sub}/{pid}.nii.gz", problems):
            continue
        try:
            loaded[sub] = nifti.read(path)
        except Exception:  # noqa: BLE001 - any reading failure is reported, not raised
            problems.append(
                Problem(
                    f"{sub}/{pid}.nii.gz",
                    "-",
                    "unreadable or truncated NIfTI (not a complete .nii.gz file)",
                )
            )
    return loaded


def _check_mask(pid: str, mask: np.ndarray, roi: tuple[int, int], problems: list) -> None:
    values = np.unique(mask)
    if not set(values.tolist()) <= {0, 1}:
        shown = ", ".join(f"{float(v):g}" for v in values[:6])
        problems.append(
            Problem(f"masks/{pid}.nii.gz", "values", f"mask is not binary (values {shown})")
        )
    elif not values.max(initial=0):
        problems.append(Problem(f"masks/{pid}.nii.gz", "values", "mask is empty"))
    else:
        for name, reason in checks.mask_problems(mask, roi):
            problems.append(Problem(f"masks/{pid}.nii.gz", name, reason))


def check_case(
    root: Path, pid: str, problems: list[Problem], roi_minimum: tuple[int, int] = (0, 1)
) -> None:
    """Readability, shape/affine agreement, a binary, non-empty mask of at least `roi_minimum`
    (pyradiomics' minimumROISize, minimumROIDimensions) that is a region, and a 3-D, finite, HU
    image with a usable affine.

    Args:
        root: the cohort folder.
        pid: the patient's id.
        problems: where problems are appended.
        roi_minimum: (minimumROISize, minimumROIDimensions); (0, 1) checks no minimum.
    """
    loaded = _read_volumes(root, pid, problems)
    if "masks" in loaded:
        _check_mask(pid, loaded["masks"][0], roi_minimum, problems)
    if "images" in loaded:
        image, affine = loaded["images"]
        mask = loaded["masks"][0] if "masks" in loaded else None
        for name, reason in checks.volume_problems(image, mask) + checks.affine_problems(affine):
            problems.append(Problem(f"images/{pid}.nii.gz", name, reason))
    if len(loaded) == 2:
        (img, a1), (msk, a2) = loaded["images"], loaded["masks"]
        if img.shape != msk.shape:
            problems.append(
                Problem(
                    f"masks/{pid}.nii.gz",
                    "shape",
                    f"mask shape {tuple(map(int, msk.shape))} != image shape "
                    f"{tuple(map(int, img.shape))}",
                )
            )
        if not np.allclose(a1, a2, atol=1e-4, equal_nan=True):
            problems.append(
                Problem(f"masks/{pid}.nii.gz", "affine", "mask affine differs from the image's")
            )


def _regular_file(path: Path, rel: str, problems: list[Problem]) -> bool:
    """Whether `path` is a file to read; a folder or a broken link in its place is named (an
    absent file is reported by `check_ids`)."""
    if path.is_file():
        return True
    if path.exists() or path.is_symlink():
        problems.append(Problem(rel, "-", "not a readable file (a folder, or a broken link)"))
    return False


def check_note(root: Path, pid: str, problems: list[Problem]) -> None:
    """A readable UTF-8 note with words and finite numbers (`tmiclnet.data.checks.note_problems`).

    Args:
        root: the cohort folder.
        pid: the patient's id.
        problems: where problems are appended.
    """
    path = root / "notes" / f"{pid}.txt"
    if not _regular_file(path, f"notes/{pid}.txt", problems):
        return
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(f"notes/{pid}.txt", "-", f"not UTF-8: {exc.reason} at byte {exc.start}")
        )
        return
    for name, reason in checks.note_problems(text):
        problems.append(Problem(f"notes/{pid}.txt", name, reason))


def check_manifest(root: Path, problems: list[Problem]) -> None:
    """When cohort.json is there, every file it lists must still have its recorded sha256."""
    path = root / "cohort.json"
    if not path.exists():
        return
    try:
        files = json.loads(path.read_text("utf-8")).get("files", {})
    except (ValueError, UnicodeDecodeError, AttributeError):
        problems.append(Problem("cohort.json", "-", "unreadable: not a JSON object"))
        return
    if not isinstance(files, dict):
        problems.append(Problem("cohort.json", "files", "expected a mapping of file -> sha256"))
        return
    for rel, sha in files.items():
        target = root / rel
        if not target.is_file():
            problems.append(Problem(rel, "sha256", "listed in cohort.json but missing"))
        elif sha256_file(target) != sha:
            problems.append(Problem(rel, "sha256", "content differs from cohort.json"))


# -- the folder ------------------------------------------------------------------------------------
def _schema(root: Path, problems: list[Problem]) -> tuple[Schema | None, bool]:
    """(the folder's schema or None, whether it could be read)."""
    try:
        return read_schema(root), True
    except ValueError as exc:  # the columns cannot be checked against a broken schema
        problems.append(Problem("schema.yaml", *_schema_reason(str(exc))))
        return None, False


def _schema_reason(message: str) -> tuple[str, str]:
    """(field, reason) of a schema error `<path>: <field>: <reason>`."""
    parts = message.split(": ", 2)
    return (parts[1], parts[2]) if len(parts) == 3 else ("-", parts[-1])


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
    schema, readable = _schema(root, problems)
    column = schema.label_column if schema else "label"
    labels = read_table(root / "labels.csv", problems)
    clinical = read_table(root / "clinical.csv", problems)
    valid = check_labels(labels, problems, folds, column) if labels is not None else None
    if clinical is not None and readable:
        check_clinical(clinical, problems, schema, valid)
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
