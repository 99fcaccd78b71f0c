"""How each classical reference is fitted on one fold: the pipelines and their fits.

Every pipeline (imputation, scaling, one-hot encoding, the regression, the Mayo score's probability
scale) is fitted on the fold's `train` rows only, and its threshold chosen on the `val` rows by
the networks' rule; `tmiclnet.evaluate.references` runs them on every fold and keys the results
by this module's source too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from tmiclnet.evaluate import mayo
from tmiclnet.evaluate.mayo import MAYO_ALIASES, mayo_columns, mayo_risk_score
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.threshold import choose_threshold

# Outcome fields: never predictors (they define the label). Dropped if a clinical table has them.
OUTCOME_COLUMNS = ("time", "status", "label", "death", "event")
THRESHOLD_ON = "Youden's J on each fold's val split (the networks' rule)"


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


def fit_on_train(
    model: Pipeline, x: pd.DataFrame, labels: pd.Series, split: folds_mod.FoldSplit
) -> tuple[dict[str, np.ndarray], dict]:
    """Fit `model` on the split's train rows; predict val and test; threshold on val.

    The one place a reference is fitted, so the test rows can only ever be predicted.

    Returns ({"val": probabilities, "test": probabilities}, threshold.json content)."""
    model.fit(x.loc[split.train], labels.loc[split.train].to_numpy(int))
    probs = {s: model.predict_proba(x.loc[getattr(split, s)])[:, 1] for s in ("val", "test")}
    threshold = choose_threshold(labels.loc[split.val].to_numpy(int), probs["val"])
    return probs, {**threshold, "chosen_on": THRESHOLD_ON}


def fit_logreg_fold(
    clinical: pd.DataFrame, labels: pd.Series, split: folds_mod.FoldSplit, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict, Pipeline]:
    """The clinical regression fitted on the split's train rows, thresholded on its val rows."""
    model = make_logreg(clinical, seed)
    probs, threshold = fit_on_train(model, clinical, labels, split)
    return probs, threshold, model


def _score_of(values: np.ndarray) -> np.ndarray:
    """The Mayo score of imputed inputs (columns in `MAYO_ALIASES` order), as one column."""
    return mayo_risk_score(*values.T).reshape(-1, 1)


def make_mayo_risk() -> Pipeline:
    """The published score made a probability: inputs imputed with the training medians, then the
    score, then a one-feature logistic fit (monotone: the AUC is the score's own; it makes the
    Brier score meaningful). The score's coefficients are the trial's, not fitted here."""
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("score", FunctionTransformer(_score_of)),
            ("calibrate", LogisticRegression(C=1e6, max_iter=1000)),
        ]
    )


def fit_mayo_fold(
    clinical: pd.DataFrame,
    labels: pd.Series,
    split: folds_mod.FoldSplit,
    schema=None,
    refit: bool = False,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict]:
    """`mayo_risk` (refit False) or `mayo_refit` (True) fitted on the split's train rows."""
    cols = mayo_columns(clinical, schema)
    if cols is None:
        raise ValueError(f"clinical table lacks Mayo inputs; need {MAYO_ALIASES}")
    values = mayo.mayo_values(clinical, cols)
    empty = [cols[k] for k, n in values.loc[split.train].notna().sum().items() if n == 0]
    if empty:
        raise ValueError(f"Mayo score: no value of {empty} in fold {split.fold}'s train split")
    if refit:
        return fit_on_train(mayo.make_mayo_refit(seed), mayo.mayo_features(values), labels, split)
    return fit_on_train(make_mayo_risk(), values, labels, split)
