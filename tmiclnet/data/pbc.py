"""The Mayo Clinic PBC trial: the real clinical records and outcomes the cohort is built on.

418 patients with primary biliary cholangitis (Mayo Clinic, 1974-1984), as published in R's
`survival` package (LGPL-2 or later). The vendored csv is verified against its sha256 on every load.
Each field is assigned to exactly one modality: the image fields drive the CT renderer and never
appear in the clinical note; the text fields are written into the note.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet.config import project_root
from tmiclnet.provenance import verify

PBC_SHA256 = "26f2738addc7932cad62b21498f013578f1541d700b01634cb5f4840cb9bc2b9"
HORIZON_DAYS = 1825  # 5 years
IMAGE_FIELDS = ("stage", "hepato", "ascites")
# The fields the clinical note states, and the table's columns in order (as in R's survival::pbc)
# fmt: off
TEXT_FIELDS = (
    "age", "sex", "trt", "spiders", "edema", "bili", "chol", "albumin", "copper", "alk.phos",
    "ast", "trig", "platelet", "protime",
)
COLUMNS = (
    "id", "time", "status", "trt", "age", "sex", "ascites", "hepato", "spiders", "edema", "bili",
    "chol", "albumin", "copper", "alk.phos", "ast", "trig", "platelet", "protime", "stage",
)
# fmt: on
CITATION = (
    "Fleming T.R., Harrington D.P., Counting Processes and Survival Analysis, Wiley, 1991; "
    "Therneau T.M., Grambsch P.M., Modeling Survival Data, Springer, 2000"
)
LICENCE = "LGPL-2 or later (R package survival)"


def csv_path() -> Path:
    return project_root() / "data" / "pbc.csv"


def patient_id(number: int) -> str:
    """The cohort's string id of PBC patient `number` (1..418)."""
    return f"pbc-{int(number):04d}"


def load_table(path: Path | None = None) -> pd.DataFrame:
    """All 418 patients, indexed by string id, after checking the file's sha256 and columns.

    Args:
        path: the csv to read; None means the vendored copy (its sha256 is checked either way).
    """
    path = verify(path or csv_path(), PBC_SHA256)
    table = pd.read_csv(path, index_col=0)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    table = table[list(COLUMNS)]
    table.index = [patient_id(n) for n in table["id"]]
    table.index.name = "id"
    return table.drop(columns="id")


def label_table(table: pd.DataFrame, horizon_days: int = HORIZON_DAYS) -> pd.Series:
    """1 = died within the horizon, 0 = known alive at the horizon; others are censored (dropped).

    A patient transplanted or lost to follow-up before the horizon has no known outcome at the
    horizon, so they are excluded rather than counted as survivors.
    """
    died = (table["status"] == 2) & (table["time"] <= horizon_days)
    known_alive = table["time"] > horizon_days
    keep = died | known_alive
    return died[keep].astype(int).rename("label")


def label_counts(table: pd.DataFrame, horizon_days: int = HORIZON_DAYS) -> dict:
    """Counts behind the label, to print: eligible, events, censored before the horizon.

    Args:
        table: the PBC table from `load_table`.
        horizon_days: a death within this many days is an event (label 1).
    """
    labels = label_table(table, horizon_days)
    return {
        "horizon_days": int(horizon_days),
        "patients": int(len(table)),
        "eligible": int(len(labels)),
        "events": int(labels.sum()),
        "censored_excluded": int(len(table) - len(labels)),
        "event_rate": round(float(labels.mean()), 4),
    }


def missing_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many values each field lacks (reported, never silently dropped).

    Args:
        table: the PBC table from `load_table`.
    """
    counts = table.isna().sum()
    return {k: int(v) for k, v in counts.items() if v}


def survival_table(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Follow-up of every patient as survival data: time (days), event (death), transplant.

    Death is the event; a transplant ends follow-up without it (censored at the transplant), as
    do the patients alive at the end of the study. Every patient has a time, so no one is dropped:
    this is what the binary label's horizon (`label_table`) throws away for the censored ones.

    Args:
        table: the PBC table from `load_table`; None loads the vendored one.
    """
    table = load_table() if table is None else table
    return pd.DataFrame(
        {
            "time": table["time"].astype(float),
            "event": table["status"] == 2,
            "transplant": table["status"] == 1,
        },
        index=table.index,
    )


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier survival estimate (scikit-survival's): one row per distinct event time, and
    t = 0, with the survival just after it (a step function, to draw with `where="post"`).

    Args:
        time: follow-up time of each patient.
        event: True where follow-up ended with the event, False where it was censored.
    """
    from sksurv.nonparametric import kaplan_meier_estimator

    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    times, surv = kaplan_meier_estimator(event, time)
    at_event = np.isin(times, time[event])
    return pd.DataFrame(
        {"time": np.r_[0.0, times[at_event]], "survival": np.r_[1.0, surv[at_event]]}
    )
