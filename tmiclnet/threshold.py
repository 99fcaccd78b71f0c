"""The decision threshold of a model's probabilities, chosen on its validation patients.

One rule for every model, networks and classical references alike, so that their sensitivity,
specificity and F1 compare; it lives below training and evaluation because both apply it (the
trainer to each fold's network, evaluation to the references it fits), and evaluation must not
import the trainer.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import roc_curve

THRESHOLD_RULE = "youden"


def choose_threshold(labels: ArrayLike, probs: ArrayLike) -> dict:
    """The probability cut maximising Youden's J (sensitivity + specificity - 1) on validation.

    Args:
        labels: the validation patients' 0/1 labels.
        probs: their predicted P(label = 1), in the same order.
    """
    labels, probs = np.asarray(labels), np.asarray(probs)
    if len(np.unique(labels)) < 2:
        return {"threshold": 0.5, "rule": "default (one class in validation)", "youden_j": None}
    fpr, tpr, cuts = roc_curve(labels, probs)
    j = tpr - fpr
    best = int(np.argmax(j))
    cut = float(min(cuts[best], 1.0))  # roc_curve's first cut is +inf
    return {
        "threshold": cut,
        "rule": THRESHOLD_RULE,
        "youden_j": float(j[best]),
        "n_val": int(len(labels)),
    }
