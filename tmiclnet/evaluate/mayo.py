"""The Mayo risk score for PBC, its five inputs refitted per fold, and who was in the Mayo trial.

The published score (Dickson et al. 1989) has coefficients fitted on the 312 patients of the Mayo
Clinic trial, and most patients of the PBC cohort are those trial patients: for them the score is
in-sample. So the book reports it twice (all patients; the 106 non-trial patients of the data set,
of whom those with a known outcome enter the cohort) and adds `mayo_refit`, the same five inputs
in a logistic regression fitted inside each training fold: its coefficients are out of sample,
though its inputs and their transforms were chosen by Dickson et al. on the same trial patients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

LOG_INPUTS = ("bili", "albumin", "protime")
# Mayo inputs and the names they may carry in a clinical table (first match wins).
MAYO_ALIASES = {
    "bili": ("bili", "bilirubin", "bilirubin_mg_dl"),
    "albumin": ("albumin", "albumin_g_dl"),
    "age": ("age", "age_years"),
    "protime": ("protime", "prothrombin_time", "prothrombin_time_s", "pt"),
    "edema": ("edema", "oedema"),
}
# The Mayo PBC data (R survival::pbc): patients 1-312 were randomised in the trial (trt recorded),
# 313-418 were followed without being randomised (trt missing).
TRIAL_LAST_ID = 312


def mayo_risk_score(bili, albumin, age, protime, edema) -> np.ndarray:
    """Dickson et al. 1989: R = 0.871 ln(bili mg/dL) - 2.53 ln(albumin g/dL) + 0.039 age
    + 2.38 ln(prothrombin time s) + 0.859 edema (0, 0.5, 1)."""
    return (
        0.871 * np.log(np.asarray(bili, float))
        - 2.53 * np.log(np.asarray(albumin, float))
        + 0.039 * np.asarray(age, float)
        + 2.38 * np.log(np.asarray(protime, float))
        + 0.859 * np.asarray(edema, float)
    )


def mayo_columns(clinical: pd.DataFrame, schema=None) -> dict[str, str] | None:
    """{Mayo input: column name} when all five inputs exist with values, else None.

    The schema's mapping decides (no mapping: no Mayo score); without a schema the inputs are
    found by name. A column that is absent or has no usable value (a number, positive where the
    score takes its log) means the score cannot be computed, so it is not run."""
    if schema is not None:
        found = dict(schema.mayo) if schema.mayo else None
    else:
        lower = {c.lower(): c for c in clinical.columns}
        found = {}
        for key, names in MAYO_ALIASES.items():
            hit = next((lower[n] for n in names if n in lower), None)
            if hit is None:
                return None
            found[key] = hit
    if not found or any(col not in clinical.columns for col in found.values()):
        return None
    table = mayo_values(clinical, found)
    return found if table.notna().any().all() else None


def mayo_values(clinical: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    """The five inputs as numbers, by Mayo name; a log input that is not positive is missing."""
    table = pd.DataFrame(
        {k: pd.to_numeric(clinical[cols[k]], errors="coerce") for k in MAYO_ALIASES},
        index=clinical.index,
    )
    for k in LOG_INPUTS:
        table[k] = table[k].where(table[k] > 0)
    return table


def mayo_features(values: pd.DataFrame) -> pd.DataFrame:
    """The score's five terms before weighting: log bilirubin, log albumin, age, log prothrombin
    time, edema (missing stays missing, for the fold's imputer)."""
    out = values[list(MAYO_ALIASES)].copy()
    for k in LOG_INPUTS:
        out[k] = np.log(out[k])
    return out.rename(columns={k: f"log_{k}" for k in LOG_INPUTS})


def make_mayo_refit(seed: int = 0) -> Pipeline:
    """Median imputation + scaling + L2 logistic regression on the five Mayo terms.

    Every step is fitted by `fit`, so fitting it on a fold's training rows keeps the test rows
    out of the imputer's medians, the scaler's moments and the coefficients alike."""
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(C=1.0, max_iter=2000, random_state=seed)),
        ]
    )


def trial_membership(cohort_obj) -> pd.Series | None:
    """True for the patients of the Mayo trial, False for the others; None when unknown.

    Known only for a cohort the package built from the vendored Mayo PBC table (its cohort.json
    names the source by sha256): there a patient's id carries their number in the data set, and
    the trial patients are numbers 1-312, the ones with a treatment arm (`trt`). A cohort of
    another origin (the synthetic one, a user's own) records no trial, so None ("not
    applicable") rather than a guess.

    Args:
        cohort_obj: a loaded cohort (`tmiclnet.data.cohort.load`).
    """
    from tmiclnet.data import pbc

    manifest = getattr(cohort_obj, "manifest", {}) or {}
    source = manifest.get("sources", {}).get("pbc.csv", {})
    if manifest.get("parameters", {}).get("cohort") != "pbc" or source.get("sha256") != (
        pbc.PBC_SHA256
    ):
        return None
    ids = pd.Index(cohort_obj.clinical.index.astype(str))
    number = pd.Series(ids.str.extract(r"^pbc-(\d{4})$", expand=False), index=ids)
    if number.isna().any():
        raise ValueError(f"{cohort_obj.root}: ids not of the form pbc-NNNN: {list(ids[:3])}")
    member = number.astype(int) <= TRIAL_LAST_ID
    if "trt" in cohort_obj.clinical.columns:
        has_arm = cohort_obj.clinical["trt"].notna().to_numpy()
        if (has_arm != member.to_numpy()).any():
            raise ValueError(
                f"{cohort_obj.root / 'clinical.csv'}: trt: recorded for a non-trial patient or "
                f"missing for a trial one (ids 1-{TRIAL_LAST_ID} are the trial)"
            )
    return member.rename("trial")
