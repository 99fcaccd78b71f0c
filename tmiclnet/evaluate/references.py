"""Classical references on the same folds: logistic regressions on the clinical table, Mayo score.

Both are scored on exactly the test patients of `folds.csv` and written in the trainer's results
layout (models "logreg_clinical" and "mayo_risk"), so every table and figure treats them like the
networks. Nothing is fitted on test rows: imputation, scaling, the regression, the Mayo score's
probability scale and both thresholds are fitted on each fold's training part only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tmiclnet import results

# Outcome fields: never predictors (they define the label). Dropped if a clinical table has them.
OUTCOME_COLUMNS = ("time", "status", "label", "death", "event")
LOG_INPUTS = ("bili", "albumin", "protime")
# Mayo inputs and the names they may carry in a clinical table (first match wins).
MAYO_ALIASES = {
    "bili": ("bili", "bilirubin", "bilirubin_mg_dl"),
    "albumin": ("albumin", "albumin_g_dl"),
    "age": ("age", "age_years"),
    "protime": ("protime", "prothrombin_time", "prothrombin_time_s", "pt"),
    "edema": ("edema", "oedema"),
}


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
    table = _mayo_values(clinical, found)
    return found if table.notna().any().all() else None


def _mayo_values(clinical: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    """The five inputs as numbers, by Mayo name; a log input that is not positive is missing."""
    table = pd.DataFrame(
        {k: pd.to_numeric(clinical[cols[k]], errors="coerce") for k in MAYO_ALIASES},
        index=clinical.index,
    )
    for k in LOG_INPUTS:
        table[k] = table[k].where(table[k] > 0)
    return table


def youden_threshold(label: np.ndarray, prob: np.ndarray) -> float:
    """The probability cut maximising sensitivity + specificity - 1 (Youden's J)."""
    fpr, tpr, thr = roc_curve(label, prob)
    return float(np.clip(thr[int(np.argmax(tpr - fpr))], 0.0, 1.0))


def predictor_columns(clinical: pd.DataFrame) -> list[str]:
    """Every recorded field except identifiers and outcomes: a fair clinical-table reference."""
    return [c for c in clinical.columns if c.lower() not in OUTCOME_COLUMNS and c.lower() != "id"]


def make_logreg(clinical: pd.DataFrame, seed: int = 0) -> Pipeline:
    """Impute (median / most frequent) + scale / one-hot, then L2 logistic regression."""
    cols = predictor_columns(clinical)
    numeric = [c for c in cols if pd.api.types.is_numeric_dtype(clinical[c])]
    other = [c for c in cols if c not in numeric]
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                other,
            ),
        ]
    )
    return Pipeline(
        [("prep", prep), ("clf", LogisticRegression(C=1.0, max_iter=2000, random_state=seed))]
    )


def fit_logreg_fold(
    clinical: pd.DataFrame, labels: pd.Series, train_ids, test_ids, seed: int = 0
) -> tuple[np.ndarray, float, Pipeline]:
    """Fit on the training ids; threshold by Youden's J on inner 5-fold out-of-fold predictions."""
    x_tr, y_tr = clinical.loc[train_ids], labels.loc[train_ids].to_numpy(int)
    inner = StratifiedKFold(
        n_splits=min(5, int(np.bincount(y_tr).min())), shuffle=True, random_state=seed
    )
    oof = cross_val_predict(
        make_logreg(clinical, seed), x_tr, y_tr, cv=inner, method="predict_proba"
    )[:, 1]
    model = make_logreg(clinical, seed).fit(x_tr, y_tr)
    return model.predict_proba(clinical.loc[test_ids])[:, 1], youden_threshold(y_tr, oof), model


def fit_mayo_fold(
    clinical: pd.DataFrame, labels: pd.Series, train_ids, test_ids, schema=None
) -> tuple[np.ndarray, float]:
    """Mayo score (missing inputs imputed with the training median), turned into a probability by
    a one-feature logistic fit on the training part (monotone: the AUC is the score's own)."""
    cols = mayo_columns(clinical, schema)
    if cols is None:
        raise ValueError(f"clinical table lacks Mayo inputs; need {MAYO_ALIASES}")
    table = _mayo_values(clinical, cols)
    median = table.loc[train_ids].median()
    if median.isna().any():
        missing = [cols[k] for k in median.index[median.isna()]]
        raise ValueError(f"Mayo score: no value of {missing} in a fold's training patients")
    table = table.fillna(median)
    score = pd.Series(mayo_risk_score(*(table[k] for k in MAYO_ALIASES)), index=table.index)
    y_tr = labels.loc[train_ids].to_numpy(int)
    calib = LogisticRegression(C=1e6, max_iter=1000).fit(score.loc[train_ids].to_frame(), y_tr)
    p_tr = calib.predict_proba(score.loc[train_ids].to_frame())[:, 1]
    return calib.predict_proba(score.loc[test_ids].to_frame())[:, 1], youden_threshold(y_tr, p_tr)


def reference_names(
    clinical: pd.DataFrame, extra: pd.DataFrame | None = None, schema=None
) -> list[str]:
    """The references a table supports, in the order they are written."""
    names = ["logreg_clinical"]
    if extra is not None and len(extra.columns):
        names.append("logreg_note_fields")
    return names + (["mayo_risk"] if mayo_columns(clinical, schema) else [])


def declared_table(clinical: pd.DataFrame, schema) -> pd.DataFrame:
    """The schema's predictor columns (table order), numeric ones as numbers, categorical ones as
    text, so the regression treats each column as declared (a code 0/1 declared categorical is
    one-hot encoded; a number typed as text in a numeric column becomes missing)."""
    if schema is None:
        return clinical
    keep = [c for c in clinical.columns if c in set(schema.predictors())]
    out = clinical[keep].copy()
    for col in keep:
        if schema.columns.get(col, {}).get("type") == "numeric":
            out[col] = pd.to_numeric(out[col], errors="coerce")
        elif pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    return out


def _prepare(clinical, labels, folds, extra, schema):
    """(raw clinical table, {regression: its table}, labels), ids as strings."""
    raw = clinical.copy()
    raw.index = raw.index.astype(str)
    clinical = declared_table(clinical, schema).copy()
    clinical.index = clinical.index.astype(str)
    labels = labels.copy()
    labels.index = labels.index.astype(str)
    unknown = set(folds["id"]) - set(clinical.index)
    if unknown:
        raise ValueError(f"folds.csv ids missing from the clinical table: {sorted(unknown)[:5]}")
    full = clinical
    if extra is not None and len(extra.columns):
        extra = extra.copy()
        extra.index = extra.index.astype(str)
        full = clinical.join(
            extra.drop(columns=[c for c in extra.columns if c in clinical.columns])
        )
    return raw, {"logreg_clinical": full, "logreg_note_fields": clinical}, labels


def content_key(
    clinical: pd.DataFrame,
    labels: pd.Series,
    folds: pd.DataFrame,
    seed: int,
    extra: pd.DataFrame | None = None,
    schema=None,
) -> str:
    """sha256 of everything the references depend on: tables, labels, folds, seed, schema and
    this module's source (an edited reference is refitted; no version to bump by hand)."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    if schema is not None:
        h.update(json.dumps(schema.to_dict(), sort_keys=True, default=str).encode())
    extra_csv = "" if extra is None else extra.sort_index().to_csv()
    for part in (
        clinical.sort_index().to_csv(),
        extra_csv,
        labels.sort_index().to_csv(),
        folds.sort_values("id").to_csv(index=False),
        str(seed),
    ):
        h.update(part.encode())
    return h.hexdigest()


def ensure_references(
    clinical: pd.DataFrame,
    labels: pd.Series,
    folds: pd.DataFrame,
    results_dir: str | os.PathLike,
    cohort: str,
    seed: int = 0,
    extra: pd.DataFrame | None = None,
    schema=None,
) -> list[str]:
    """Score the references on every fold of folds.csv and write them as saved results, unless
    results keyed by the same content exist. Returns the reference names.

    `logreg_clinical` uses every recorded field: `clinical` plus `extra` (e.g. the recorded image
    fields stage, hepato, ascites that the CT renderer draws from); `logreg_note_fields` (only when
    `extra` is given) uses `clinical` alone, the fields the clinical note states; `mayo_risk` needs
    the five Mayo inputs.

    Args:
        clinical: the clinical table, one row per patient (index id).
        labels: the outcome per patient (index id).
        folds: folds.csv (id, label, fold); each fold's test patients are scored, the rest fit.
        results_dir: the results store's folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name under `results_dir`.
        seed: seed of the inner cross-validation that chooses the regressions' thresholds.
        extra: recorded image fields the full clinical regression may use too.
        schema: the cohort's `tmiclnet.data.schema` (declared predictors, types, Mayo mapping).
    """
    key = content_key(clinical, labels, folds, seed, extra, schema)
    n_folds = folds["fold"].nunique()
    names = reference_names(clinical, extra, schema)

    def fresh(model: str) -> bool:
        dirs = results.finished_folds(results_dir, cohort, model)
        return len(dirs) == n_folds and all(
            results.read_json(d / "done.json").get("key") == key for d in dirs.values()
        )

    if all(fresh(m) for m in names):
        return names
    raw, tables, labels = _prepare(clinical, labels, folds, extra, schema)
    for k in sorted(folds["fold"].unique()):
        test_ids = folds.loc[folds["fold"] == k, "id"].tolist()
        train_ids = folds.loc[folds["fold"] != k, "id"].tolist()
        for model in names:
            if model.startswith("logreg"):
                prob, thr, _ = fit_logreg_fold(tables[model], labels, train_ids, test_ids, seed)
                how = "Youden's J on inner 5-fold out-of-fold probabilities of the training part"
                info = {"columns": predictor_columns(tables[model])}
            else:
                prob, thr = fit_mayo_fold(raw, labels, train_ids, test_ids, schema)
                how = "Youden's J on the training part (score -> probability by logistic fit there)"
                info = {"columns": mayo_columns(raw, schema)}
            label = labels.loc[test_ids].to_numpy(int)
            pred = pd.DataFrame({"id": test_ids, "label": label, "prob": prob, "split": "test"})
            done = {"model": model, "fold": int(k), "n_train": len(train_ids), "key": key, **info}
            folder = results.fold_dir(results_dir, cohort, model, int(k))
            results.write_fold(folder, pred, {"threshold": thr, "chosen_on": how}, done)
    return names
