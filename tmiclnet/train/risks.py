"""Where the survival view's files live in the results store, and how they are written and read.

Each model's risk of every test patient, censored patients included, goes into one file per model
over every repeat of the cross-validation (written by `tmiclnet.evaluate.survival`), so that any
tool can recompute the metrics; the Cox-trained models (`tmiclnet.train.survival`) keep their
folds apart from the binary ones, so that no binary table or check reads them::

    <data_dir>/results/<cohort>/<model>/risks.csv               id,time,event,risk,fold,repeat
    <data_dir>/results/survival/[repeat<r>/]<cohort>/survival_folds.csv id,fold,eligible
    <data_dir>/results/survival/[repeat<r>/]<cohort>/<model>/           a Cox model's folds

Risks are higher for a worse prognosis: a binary model's probability of the event, a Cox
model's log hazard ratio (as a probability, `sigmoid`, which keeps its order). Every metric of
the survival view is rank-based, so the two scales compare.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.provenance import atomic_write_text

RISK_COLUMNS = ("id", "time", "event", "risk", "fold", "repeat")
SURVIVAL_FOLD_COLUMNS = ("id", "fold", "eligible")


def survival_dir(results_dir: results.PathLike) -> Path:
    """`<results_dir>/survival`: the Cox-trained models' runs (`tmiclnet.results.run_dir` of it
    per repeat), apart from the binary models.

    Args:
        results_dir: the results folder (`tmiclnet.results.results_root`).
    """
    return Path(results_dir) / "survival"


def survival_folds_path(run_dir: results.PathLike, cohort: str) -> Path:
    """`<run_dir>/<cohort>/survival_folds.csv` of a survival run: every patient's fold (the
    binary folds.csv's patients and the censored ones), and whether they have a binary label.

    Args:
        run_dir: one repeat's survival folder (`run_dir(survival_dir(...), repeat)`).
        cohort: the cohort's name.
    """
    return results.cohort_dir(run_dir, cohort) / "survival_folds.csv"


def risks_path(results_dir: results.PathLike, cohort: str, model: str) -> Path:
    """`<results_dir>/<cohort>/<model>/risks.csv`: the model's risk of every test patient.

    Args:
        results_dir: the results folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name, e.g. ``pbc``.
        model: a catalogue, Cox-trained or reference model name.
    """
    return results.cohort_dir(results_dir, cohort) / model / "risks.csv"


def write_risks(
    results_dir: results.PathLike, cohort: str, model: str, risks: pd.DataFrame
) -> Path:
    """Write a model's per-patient risks (`RISK_COLUMNS`: one row per test patient, fold and
    repeat, censored patients included) atomically; returns the file.

    Args:
        results_dir: the results folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name.
        model: the model's name.
        risks: the rows; a missing column raises.
    """
    missing = set(RISK_COLUMNS) - set(risks.columns)
    if missing:
        raise ValueError(f"risks of {model}: columns {sorted(missing)} missing")
    path = risks_path(results_dir, cohort, model)
    frame = risks[list(RISK_COLUMNS)].sort_values(["repeat", "fold", "id"])
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
    return path


def read_risks(results_dir: results.PathLike, cohort: str, model: str) -> pd.DataFrame:
    """A model's risks.csv (`write_risks`), ids as strings and events as booleans.

    Args:
        results_dir: the results folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name.
        model: the model's name.
    """
    path = risks_path(results_dir, cohort, model)
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run python -m tmiclnet evaluate --survival")
    frame = pd.read_csv(path, dtype={"id": str})
    missing = set(RISK_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: columns {sorted(missing)} missing")
    return frame.assign(event=frame["event"].astype(bool))
