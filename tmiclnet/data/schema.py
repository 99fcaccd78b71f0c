"""The cohort schema: what the clinical columns are, in one file beside the table (schema.yaml).

It declares each clinical column (numeric with a unit and a plausible range, or categorical with
its allowed values), which columns the note states, which the classical references use (the
logistic regression's predictors; the five Mayo inputs, mapped to the table's names) and the
label. The validator checks the table against it and the references read it, so a cohort with
its own column names (`age_years`, `gender` as M/F, `ALT`, ...) needs no renaming. The PBC and
synthetic cohorts get one written by the build; `python -m tmiclnet data init CSV` drafts one from
a user's table. Missing values are empty cells, everywhere, and are handled one way: numeric
columns take the median and categorical ones the most frequent value of each fold's training
rows (the references; the validator only reports them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from tmiclnet.data.leaks import leak_reason, outcome_name

SCHEMA = "schema.yaml"
MAYO_INPUTS = ("bili", "albumin", "age", "protime", "edema")
# Names a Mayo input may carry in a user's table (drafting only; the schema's mapping decides).
MAYO_ALIASES = {
    "bili": ("bili", "bilirubin", "bilirubin_mg_dl", "total_bilirubin"),
    "albumin": ("albumin", "albumin_g_dl", "alb"),
    "age": ("age", "age_years"),
    "protime": ("protime", "prothrombin_time", "prothrombin_time_s", "pt"),
    "edema": ("edema", "oedema"),
}
# The PBC trial's fields: units as in the data, ranges wide on purpose (unit errors, not disease).
PBC_COLUMNS: dict[str, dict] = {
    "age": {"type": "numeric", "unit": "years", "range": [0, 120]},
    "sex": {"type": "categorical", "values": ["f", "m"]},
    "trt": {"type": "numeric", "unit": "arm (1 D-penicillamine, 2 placebo)", "values": [1, 2]},
    "spiders": {"type": "numeric", "unit": "0/1", "values": [0, 1]},
    "edema": {"type": "numeric", "unit": "0, 0.5, 1", "values": [0, 0.5, 1]},
    "bili": {"type": "numeric", "unit": "mg/dL", "range": [0, 80]},
    "chol": {"type": "numeric", "unit": "mg/dL", "range": [20, 3000]},
    "albumin": {"type": "numeric", "unit": "g/dL", "range": [0.5, 7.0]},
    "copper": {"type": "numeric", "unit": "ug/day", "range": [0, 2000]},
    "alk.phos": {"type": "numeric", "unit": "U/L", "range": [5, 30000]},
    "ast": {"type": "numeric", "unit": "U/mL", "range": [1, 5000]},
    "trig": {"type": "numeric", "unit": "mg/dL", "range": [5, 5000]},
    "platelet": {"type": "numeric", "unit": "x10^3/uL", "range": [1, 2000]},
    "protime": {"type": "numeric", "unit": "s", "range": [5, 60]},
}
# Plausible ranges a draft proposes for columns it recognises by name (else the observed range).
KNOWN_RANGES = {
    "age": ("years", [0, 120]),
    "age_years": ("years", [0, 120]),
    "bilirubin": ("mg/dL", [0, 80]),
    "bilirubin_mg_dl": ("mg/dL", [0, 80]),
    "albumin": ("g/dL", [0.5, 7.0]),
    "albumin_g_dl": ("g/dL", [0.5, 7.0]),
    "alt": ("U/L", [1, 5000]),
    "ast": ("U/L", [1, 5000]),
    "inr": ("ratio", [0.5, 10]),
    "platelets": ("x10^3/uL", [1, 2000]),
    "prothrombin_time_s": ("s", [5, 60]),
}


@dataclass
class Schema:
    """A parsed schema.yaml (see the module docstring for its meaning)."""

    columns: dict[str, dict]
    label: dict = field(default_factory=lambda: {"column": "label"})
    note: list[str] = field(default_factory=list)
    logreg: list[str] | None = None  # None: every declared column
    mayo: dict[str, str] | None = None  # Mayo input -> column, or None: no Mayo reference
    radiomics_spacing_mm: list[float] | None = None
    source: str = "schema.yaml"
    left_out: dict[str, str] = field(default_factory=dict)  # drafts: column -> why no predictor

    def numeric(self) -> list[str]:
        return [c for c, d in self.columns.items() if d.get("type") == "numeric"]

    @property
    def label_column(self) -> str:
        """The label's column in labels.csv (`label.column`, default `label`)."""
        return str(self.label.get("column") or "label")

    def predictors(self) -> list[str]:
        """The logistic regression's columns: declared, and never an outcome (by name,
        `tmiclnet.data.leaks.outcome_name`, or the label's own column)."""
        names = list(self.columns) if self.logreg is None else list(self.logreg)
        return [c for c in names if not self.outcome(c)]

    def outcome(self, column: str) -> bool:
        """True for a column that is never a predictor: the id, the label, an outcome's name.

        Args:
            column: a clinical column's name.
        """
        return column.lower() == "id" or column == self.label_column or outcome_name(column)

    def to_dict(self) -> dict:
        out = {"label": self.label, "columns": self.columns, "note": self.note}
        out["references"] = {"logreg": self.predictors(), "mayo": self.mayo}
        if self.radiomics_spacing_mm:
            out["radiomics_spacing_mm"] = self.radiomics_spacing_mm
        out["missing"] = "empty cells; imputed per fold from training rows (median / most frequent)"
        return out


def pbc_schema(label_meaning: str = "") -> Schema:
    """The schema of the PBC and synthetic cohorts: the trial's fields, units and ranges."""
    return Schema(
        columns={k: dict(v) for k, v in PBC_COLUMNS.items()},
        label={"column": "label", "meaning": label_meaning or "1 = the poor outcome"},
        note=list(PBC_COLUMNS),
        logreg=None,
        mayo={k: k for k in MAYO_INPUTS},
        source="built-in PBC schema",
    )


def parse(data: dict, source: str) -> Schema:
    """A Schema from schema.yaml's content; ValueError naming the field when malformed.

    Every field is checked here, so that a schema the validator accepts never fails later inside
    the references (a range of words, a predictor that is not a column, a Mayo input mapped to
    nothing).

    Args:
        data: the parsed YAML.
        source: its path, for messages.
    """
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise ValueError(f"{source}: columns: expected a mapping of column -> description")
    columns = {str(k): _parse_column(source, str(k), v) for k, v in data["columns"].items()}
    label = _parse_label(source, data.get("label"))
    refs = data.get("references") or {}
    if not isinstance(refs, dict):
        raise ValueError(f"{source}: references: expected a mapping (logreg, mayo)")
    return Schema(
        columns=columns,
        label=label,
        note=_string_list(source, "note", data.get("note") or [], None),
        logreg=_parse_logreg(source, refs.get("logreg"), columns),
        mayo=_parse_mayo(source, refs.get("mayo"), columns),
        radiomics_spacing_mm=_parse_spacing(source, data.get("radiomics_spacing_mm")),
        source=source,
    )


def _parse_column(source: str, name: str, desc) -> dict:
    where = f"{source}: columns.{name}"
    if not isinstance(desc, dict):
        raise ValueError(f"{where}: expected a mapping such as {{type: numeric, range: [0, 1]}}")
    kind = desc.get("type")
    if kind not in ("numeric", "categorical"):
        raise ValueError(f"{where}.type: {kind!r} is not numeric/categorical")
    rng = desc.get("range")
    if rng is not None:
        if not isinstance(rng, list) or len(rng) != 2 or not all(map(_is_number, rng)):
            raise ValueError(f"{where}.range: expected [low, high], two numbers")
        if float(rng[0]) > float(rng[1]):
            raise ValueError(f"{where}.range: low {rng[0]} is above high {rng[1]}")
    values = desc.get("values")
    if values is not None and (not isinstance(values, list) or not values):
        raise ValueError(f"{where}.values: expected a non-empty list of allowed values")
    if kind == "numeric" and values is not None and not all(map(_is_number, values)):
        raise ValueError(f"{where}.values: a numeric column's values must be numbers")
    if not isinstance(desc.get("baseline", False), bool):
        raise ValueError(f"{where}.baseline: expected true or false")
    return dict(desc)


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _parse_label(source: str, label) -> dict:
    if label is None:
        return {"column": "label"}
    if not isinstance(label, dict):
        raise ValueError(f"{source}: label: expected a mapping {{column: ..., meaning: ...}}")
    column = label.get("column", "label")
    if not isinstance(column, str) or not column.strip() or column == "id":
        raise ValueError(f"{source}: label.column: {column!r} is not a column name of labels.csv")
    return {**label, "column": column}


def _string_list(source: str, field: str, value, columns: dict | None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{source}: {field}: expected a list of column names")
    unknown = [v for v in value if columns is not None and v not in columns]
    if unknown:
        raise ValueError(f"{source}: {field}: {unknown[0]!r} is not a declared column")
    return list(value)


def _parse_logreg(source: str, logreg, columns: dict) -> list[str] | None:
    if logreg is None:
        return None
    return _string_list(source, "references.logreg", logreg, columns)


def _parse_mayo(source: str, mayo, columns: dict) -> dict[str, str] | None:
    if mayo is None:
        return None
    if not isinstance(mayo, dict) or set(mayo) != set(MAYO_INPUTS):
        raise ValueError(f"{source}: references.mayo: needs exactly {list(MAYO_INPUTS)}")
    for key, column in mayo.items():
        if not isinstance(column, str) or column not in columns:
            raise ValueError(
                f"{source}: references.mayo.{key}: {column!r} is not a declared column"
            )
        if columns[column]["type"] != "numeric":
            raise ValueError(f"{source}: references.mayo.{key}: {column!r} is not numeric")
    return dict(mayo)


def _parse_spacing(source: str, spacing) -> list[float] | None:
    if spacing is None:
        return None
    ok = isinstance(spacing, list) and len(spacing) == 3 and all(map(_is_number, spacing))
    if not ok or min(float(v) for v in spacing) <= 0:
        raise ValueError(f"{source}: radiomics_spacing_mm: expected three positive numbers (mm)")
    return [float(v) for v in spacing]


def read(root: Path) -> Schema | None:
    """The folder's schema.yaml, or None when it has none."""
    path = Path(root) / SCHEMA
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ValueError(f"{path}: unreadable YAML: {reason}") from None
    return parse(data, str(path))


def for_folder(root: Path) -> Schema:
    """The folder's schema; a folder without schema.yaml is read with the PBC schema."""
    return read(root) or pbc_schema()


def write(root: Path, schema: Schema, header: str = "") -> Path:
    """Write schema.yaml into `root` (atomically).

    Args:
        root: the cohort folder.
        schema: what to write.
        header: comment lines put first (how the file was made, what to check).
    """
    from tmiclnet.provenance import atomic_write_text

    text = header + yaml.safe_dump(schema.to_dict(), sort_keys=False, allow_unicode=True)
    atomic_write_text(Path(root) / SCHEMA, text)
    return Path(root) / SCHEMA


def _draft_column(name: str, values: pd.Series) -> dict:
    present = values.dropna()
    numbers = pd.to_numeric(present, errors="coerce")
    if len(present) and numbers.notna().all() and present.nunique() > 2:
        unit, rng = KNOWN_RANGES.get(name.lower(), ("?", None))
        if rng is None:
            rng = [float(numbers.min()), float(numbers.max())]  # observed: widen to plausible
        return {"type": "numeric", "unit": unit, "range": rng}
    if len(present) and numbers.notna().all():
        return {"type": "numeric", "unit": "code", "values": sorted(numbers.unique().tolist())}
    if not len(present):
        return {"type": "numeric", "unit": "?"}  # no value at all: the validator says so
    return {"type": "categorical", "values": sorted(present.astype(str).unique().tolist())}


def left_out(clinical: pd.DataFrame, labels: pd.Series | None) -> dict[str, str]:
    """{column: why it is no predictor}: named like an outcome, or giving the label away.

    Args:
        clinical: the table, indexed by patient id.
        labels: the 0/1 labels (index id), or None when there are none to check against.
    """
    out = {}
    for col in clinical.columns:
        if outcome_name(str(col)):
            out[str(col)] = "named like an outcome (follow-up, status, death, ...)"
        elif labels is not None and (reason := leak_reason(clinical[col], labels)):
            out[str(col)] = reason
    return out


def draft(
    clinical: pd.DataFrame, labels: pd.Series | None = None, label_column: str = "label"
) -> Schema:
    """A schema proposed from a clinical table (index id): types, units and ranges to check,
    with every column that would leak the outcome left out of the predictors (`left_out`).

    Args:
        clinical: the table, indexed by patient id.
        labels: the 0/1 labels (index id) to check the columns against, or None.
        label_column: the label's column in labels.csv.
    """
    columns = {str(c): _draft_column(str(c), clinical[c]) for c in clinical.columns}
    excluded = left_out(clinical, labels)
    numeric = {c: c for c, d in columns.items() if d["type"] == "numeric" and c not in excluded}
    lower = {c.lower(): c for c in numeric}
    mayo = {}
    for key, names in MAYO_ALIASES.items():
        hit = next((lower[n] for n in names if n in lower), None)
        if hit is not None:
            mayo[key] = hit
    return Schema(
        columns=columns,
        label={
            "column": label_column,
            "meaning": "1 = the poor outcome (say which, at what horizon)",
        },
        note=[],
        logreg=[c for c in columns if c not in excluded],
        mayo=mayo if len(mayo) == len(MAYO_INPUTS) else None,
        source="draft",
        left_out=excluded,
    )
