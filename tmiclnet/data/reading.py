"""A user's CSV tables (labels.csv, clinical.csv) read as `load` reads them, every flaw named.

pandas reads what it can and guesses the rest: a ragged row becomes an index, an id cell `NA`
becomes missing, a byte-order mark becomes part of the first column's name. Here each of these is
found first and said in one line (file, field, reason), in the package's words rather than the
parser's, so the validator never passes a table that training would read otherwise.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet.data import checks
from tmiclnet.data.problems import Problem

FIELDS_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _decoded(path: Path, problems: list[Problem]) -> str | None:
    """The file's text (a byte-order mark dropped), or None with the reason appended."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(path.name, "-", f"not UTF-8 ({exc.reason} at byte {exc.start}); save as UTF-8")
        )
    except OSError as exc:
        problems.append(Problem(path.name, "-", f"unreadable: {exc.strerror or 'read error'}"))
    return None


def _parse_csv(name: str, text: str, problems: list[Problem]) -> pd.DataFrame | None:
    """pandas' reading of the table, as load() reads it; its errors said in our words."""
    try:
        return pd.read_csv(io.StringIO(text), dtype={"id": str})
    except pd.errors.EmptyDataError:
        problems.append(Problem(name, "-", "empty file (no header line)"))
    except pd.errors.ParserError as exc:
        found = FIELDS_LINE.search(str(exc))
        reason = (
            f"line {found[2]} has {found[3]} fields, the header {found[1]}"
            if found
            else "not a well-formed CSV table (unbalanced quotes or ragged rows)"
        )
        problems.append(Problem(name, "-", reason))
    except (ValueError, UnicodeError):
        problems.append(Problem(name, "-", "not a well-formed CSV table"))
    return None


def _header_problems(name: str, text: str, problems: list[Problem]) -> bool:
    """Whether the table's shape is usable: `id` first, no column named twice, and every row as
    many fields as the header (pandas would otherwise take extra fields for an index)."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0] if rows else []
    if not any(rows):
        problems.append(Problem(name, "-", "empty file (no header line)"))
        return False
    if not header or header[0].strip() != "id":
        problems.append(Problem(name, "id", "first column must be `id`"))
        return False
    for col in sorted({c for c in header if header.count(c) > 1}):
        problems.append(Problem(name, col or "-", "column named twice in the header"))
    ragged = [(n, len(row)) for n, row in enumerate(rows[1:], 2) if row and len(row) != len(header)]
    for line, fields in ragged[:3]:
        problems.append(
            Problem(name, "-", f"line {line} has {fields} fields, the header {len(header)}")
        )
    return not ragged and len(set(header)) == len(header)


def _id_cells(name: str, table: pd.DataFrame, text: str, problems: list[Problem]) -> pd.DataFrame:
    """The rows whose id cell is a name: an empty id, or one pandas reads as missing ('NA',
    'null', ...), is named with its line and the row left out."""
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, usecols=[0]).iloc[:, 0]
    missing = table["id"].isna().to_numpy()
    for line, cell in zip(np.flatnonzero(missing) + 2, raw[missing]):
        reason = "empty id" if not cell.strip() else f"id {cell!r} reads as a missing value"
        problems.append(Problem(name, "id", f"line {line}: {reason}; every row needs a plain id"))
    table = table.loc[~missing].copy()
    table["id"] = table["id"].astype(str)
    return table


def read_table(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    """The table indexed by id (duplicates dropped), or None; every problem appended.

    Args:
        path: labels.csv or clinical.csv.
        problems: where problems are appended.
    """
    if not path.exists():
        problems.append(Problem(path.name, "-", "file missing"))
        return None
    separator = checks.separator_problem(path)
    if separator:
        problems.append(Problem(path.name, "-", separator))
        return None
    text = _decoded(path, problems)
    if text is None or not _header_problems(path.name, text, problems):
        return None
    table = _parse_csv(path.name, text, problems)
    if table is None:
        return None
    if table.empty:
        problems.append(Problem(path.name, "-", "no patients (a header and no rows)"))
        return None
    table = _id_cells(path.name, table, text, problems)
    for dup in sorted(set(table["id"][table["id"].duplicated()])):
        problems.append(Problem(path.name, "id", f"duplicate id {dup!r}"))
    return table.drop_duplicates("id").set_index("id")


def label_values(labels: pd.DataFrame, column: str) -> pd.Series:
    """The label column as numbers (NaN where a cell is not one): the one reading of labels that
    the validator and `load` share.

    Args:
        labels: labels.csv (index id).
        column: the label's column (the schema's `label.column`).
    """
    return pd.to_numeric(labels[column], errors="coerce")
