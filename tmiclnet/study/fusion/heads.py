"""The study's cheap models, fitted on one fold: the image model, the positive controls and the
late-fusion head.

- `image_lr`: an L2 logistic regression on the fold's radiomics (scaled on its training rows).
  The image is one modality (`tmiclnet.data.oracle`): radiomics measures liver size and texture,
  both image factors, so this is the image's model here; the CT network, which reads the same
  image, is the training page's.
- `panel_lr`: a logistic regression on the note's five panel values as the regime wrote them
  (the numbers, not the words): what a perfect reader of the note could learn. If it reaches
  the note's oracle and the text model does not, the reader fails, not the note.
- `panel_image_lr`: both, concatenated: what fusion can gain when reading is not the problem.
- `late_fusion`: the image model's and the text model's logits combined by a logistic
  regression fitted on the fold's validation patients (held out of both models' fits), then
  applied to its test patients.

Every fit sees the fold's training patients only (the penalty is chosen by an inner stratified
cross-validation on them); the test patients are scored once.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tmiclnet.data.oracle import panel_matrix

CS = np.logspace(-3, 1, 5)  # the penalties the inner cross-validation chooses from


def _inner_folds(y: np.ndarray) -> int:
    """Inner folds for the penalty: 5, fewer when a class has fewer patients (at least 2)."""
    return int(max(2, min(5, np.bincount(y, minlength=2).min())))


def fit_lr(x_train: np.ndarray, y_train: np.ndarray):
    """A scaled L2 logistic regression, its penalty chosen by inner CV AUC on the training rows.

    liblinear: on ~200 patients and ~300 radiomic columns it fits in a twentieth of lbfgs's time
    with the same test AUC (a fold of the cpu cohort: 0.746 against 0.744).

    Args:
        x_train: (n, p) features of the training patients.
        y_train: (n,) their labels (0/1).
    """
    lr = LogisticRegressionCV(
        Cs=CS, cv=_inner_folds(y_train), scoring="roc_auc", solver="liblinear", max_iter=1000
    )
    with warnings.catch_warnings():  # scikit-learn 1.8 announces new defaults; ours are explicit
        warnings.simplefilter("ignore", FutureWarning)
        return make_pipeline(StandardScaler(), lr).fit(x_train, y_train)


def panel_values(clinical: pd.DataFrame, ids: list[str]) -> np.ndarray:
    """(n, 5) the regime's panel values of `ids` (logs for bilirubin and copper).

    Args:
        clinical: the regime's clinical table (`regimes.regime_clinical`).
        ids: the patients, in row order.
    """
    return panel_matrix(clinical.loc[ids])


def control_scores(
    radiomics: np.ndarray, panel: np.ndarray, y: np.ndarray, rows: dict[str, np.ndarray]
) -> dict[str, dict[str, np.ndarray]]:
    """Validation and test scores (decision function) of the three logistic regressions.

    Args:
        radiomics: (N, p) every patient's radiomics, scaled on the fold's training rows.
        panel: (N, 5) every patient's panel values (`panel_values`).
        y: (N,) every patient's label.
        rows: 'train', 'val', 'test' -> row indices.
    """
    features = {
        "image_lr": radiomics,
        "panel_lr": panel,
        "panel_image_lr": np.column_stack([panel, radiomics]),
    }
    out = {}
    for name, x in features.items():
        model = fit_lr(x[rows["train"]], y[rows["train"]])
        out[name] = {part: model.decision_function(x[rows[part]]) for part in ("val", "test")}
    return out


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), p kept inside [1e-6, 1 - 1e-6].

    Args:
        p: probabilities.
    """
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def late_fusion(val: np.ndarray, y_val: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Test scores of a logistic regression on the unimodal models' scores, fitted on the
    validation patients (a few dozen: one weight per model and an intercept, lightly penalised).

    Args:
        val: (n_val, m) the m unimodal models' scores on the validation patients.
        y_val: (n_val,) their labels.
        test: (n_test, m) the same models' scores on the test patients.
    """
    scaler = StandardScaler().fit(val)
    head = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(val), y_val)
    return head.decision_function(scaler.transform(test))


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Test AUC (nan when the test patients hold one class only).

    Args:
        y: labels.
        score: any monotone score.
    """
    return float(roc_auc_score(y, score)) if 0 < int(np.sum(y)) < len(y) else float("nan")
