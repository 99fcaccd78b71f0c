"""Read and write the saved-results layout shared with `tmiclnet.train`.

`<results_dir>/<cohort>/folds.csv` (id,label,fold) and, per model and fold,
`<model>/fold<k>/predictions.csv` (id,label,prob,split) and `threshold.json` (chosen on validation).
Evaluation reads only these files, so every model (networks and classical references) is treated
alike by every table and figure.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from tmiclnet.provenance import atomic_write_text

PRED_COLUMNS = ("id", "label", "prob", "split")
_FOLD_DIR = re.compile(r"^fold(\d+)$")


def cohort_dir(results_dir: str | os.PathLike, cohort: str) -> Path:
    return Path(results_dir) / cohort


def read_folds(results_dir: str | os.PathLike, cohort: str) -> pd.DataFrame:
    """folds.csv as a DataFrame(id,label,fold), ids as strings; a clear error if absent or malformed."""
    path = cohort_dir(results_dir, cohort) / "folds.csv"
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: missing; train a model first (python -m tmiclnet train ...)"
        )
    folds = pd.read_csv(path, dtype={"id": str})
    missing = {"id", "label", "fold"} - set(folds.columns)
    if missing:
        raise ValueError(f"{path}: columns {sorted(missing)} missing (need id,label,fold)")
    return folds


def fold_dirs(results_dir: str | os.PathLike, cohort: str, model: str) -> dict[int, Path]:
    """{fold index: folder} for every finished fold of a model (done.json is written last)."""
    root = cohort_dir(results_dir, cohort) / model
    out = {}
    for d in sorted(root.glob("fold*")):
        m = _FOLD_DIR.match(d.name)
        if m and (d / "predictions.csv").exists() and (d / "done.json").exists():
            out[int(m.group(1))] = d
    return dict(sorted(out.items()))


def available_models(results_dir: str | os.PathLike, cohort: str) -> list[str]:
    """Models with predictions for at least one fold, sorted by name."""
    root = cohort_dir(results_dir, cohort)
    if not root.exists():
        return []
    return sorted(
        d.name for d in root.iterdir() if d.is_dir() and fold_dirs(results_dir, cohort, d.name)
    )


def read_threshold(path: Path) -> float:
    """The decision threshold stored in threshold.json (key "threshold", or a bare number)."""
    data = json.loads(Path(path).read_text())
    value = data.get("threshold") if isinstance(data, dict) else data
    if not isinstance(value, (int, float)):
        raise ValueError(f"{path}: no numeric 'threshold' field")
    return float(value)


def load_predictions(results_dir: str | os.PathLike, cohort: str, model: str) -> pd.DataFrame:
    """All folds' predictions of a model: DataFrame(id,label,prob,split,fold,threshold)."""
    dirs = fold_dirs(results_dir, cohort, model)
    if not dirs:
        raise FileNotFoundError(
            f"{cohort_dir(results_dir, cohort) / model}: no fold*/predictions.csv"
        )
    frames = []
    for k, d in dirs.items():
        df = pd.read_csv(d / "predictions.csv", dtype={"id": str})
        missing = set(PRED_COLUMNS) - set(df.columns)
        if missing:
            raise ValueError(f"{d / 'predictions.csv'}: columns {sorted(missing)} missing")
        thr = d / "threshold.json"
        df["fold"] = k
        df["threshold"] = read_threshold(thr) if thr.exists() else 0.5
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def write_fold(
    results_dir: str | os.PathLike,
    cohort: str,
    model: str,
    fold: int,
    predictions: pd.DataFrame,
    threshold: dict,
    done: dict,
) -> Path:
    """Write one fold's predictions.csv, threshold.json and done.json atomically; return the folder."""
    d = cohort_dir(results_dir, cohort) / model / f"fold{fold}"
    atomic_write_text(d / "predictions.csv", predictions[list(PRED_COLUMNS)].to_csv(index=False))
    atomic_write_text(d / "threshold.json", json.dumps(threshold, indent=2))
    atomic_write_text(d / "done.json", json.dumps(done, indent=2, default=str))
    return d


def read_history(results_dir: str | os.PathLike, cohort: str, model: str) -> pd.DataFrame:
    """history.csv of every fold with a `fold` column (empty frame if the model has none)."""
    frames = []
    for k, d in fold_dirs(results_dir, cohort, model).items():
        if (d / "history.csv").exists():
            h = pd.read_csv(d / "history.csv")
            h["fold"] = k
            frames.append(h)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
