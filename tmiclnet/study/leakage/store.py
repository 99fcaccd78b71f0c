"""Where the replicated study keeps its tables: one predictions table per replicate, beside the
key of everything that made it, its audit and its timing.

Only reading and writing: what a table holds is decided in `replicates` (whose code is in the
key), so this module is in no key.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from tmiclnet.provenance import atomic_write_text


def study_root(data_dir: str | Path) -> Path:
    """`<data_dir>/studies/leakage/replicates`: outside `results/`, no other chapter reads it.

    Args:
        data_dir: the run's data folder.
    """
    return Path(data_dir) / "studies" / "leakage" / "replicates"


def _paths(root: Path, rel: str) -> tuple[Path, Path]:
    stem = Path(root) / rel
    return stem.with_suffix(".csv"), stem.with_suffix(".json")


def read_table(root: Path, rel: str, key: str) -> tuple[pd.DataFrame, pd.DataFrame, dict] | None:
    """(predictions, audit, timing) saved under `root/rel` with this `key`, else None.

    Args:
        root: the cohort's folder under `study_root`.
        rel: the replicate's path (`replicates.Task.path`).
        key: its key (`replicates.task_key`).
    """
    table, meta = _paths(root, rel)
    if not (table.exists() and meta.exists()):
        return None
    saved = json.loads(meta.read_text())
    if saved.get("key") != key:
        return None
    audit = pd.DataFrame(saved["audit"])
    return pd.read_csv(table, dtype={"id": str}), audit, saved.get("timing", {})


def write_table(
    root: Path, rel: str, key: str, preds: pd.DataFrame, audit: pd.DataFrame, timing: dict
) -> None:
    """Write one replicate's predictions, then its key, audit and timing (each file atomically;
    the key last, so a table without its key is never read).

    Args:
        root: the cohort's folder under `study_root`.
        rel: the replicate's path (`replicates.Task.path`).
        key: its key (`replicates.task_key`).
        preds: its test predictions.
        audit: its audit rows.
        timing: its CPU and wall seconds.
    """
    table, meta = _paths(root, rel)
    buf = io.StringIO()
    preds.to_csv(buf, index=False, float_format="%.8g")
    atomic_write_text(table, buf.getvalue())
    record = {"key": key, "audit": audit.to_dict("records"), "timing": timing}
    atomic_write_text(meta, json.dumps(record))
