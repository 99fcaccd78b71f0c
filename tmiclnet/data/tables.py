"""What each generated cohort contains: its tables (clinical, labels, findings) before any file.

PBC: the vendored trial records, the label (death within the horizon) and render parameters
derived from the recorded image fields. Synthetic: a controlled cohort whose every modality carries
a known share of the signal (`tmiclnet.data.synthetic`). `tmiclnet.data.cohort.build` writes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmiclnet.config import Profile
from tmiclnet.data import pbc
from tmiclnet.data.render import stable_seed
from tmiclnet.data.synthetic import SyntheticModel, generate


# ---------------------------------------------------------------- what each cohort contains
def n_synthetic(profile: Profile) -> int:
    """Size of the controlled cohort (`Profile.n_synthetic`)."""
    return int(profile.n_synthetic)


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
