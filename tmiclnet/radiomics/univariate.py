"""Univariate AUC of each feature, with the choice of features made inside cross-validation folds.

Ranking a thousand features by AUC on all patients and then quoting the best AUC is optimistic:
the best of many noisy estimates is biased upwards. Here each fold ranks features (and fixes each
one's direction) on its training rows only, then scores them on its held-out rows, so the held-out
AUC of the fold's top feature is an honest estimate of what "pick the best feature" achieves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.model_selection import StratifiedKFold


@dataclass
class FoldAUC:
    per_feature: pd.DataFrame  # index feature: see foldwise_auc
    per_fold: pd.DataFrame  # one row per fold: best feature, its train and held-out AUC


def auc_columns(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUC of every column of `x` for binary `y` (Mann-Whitney with tied ranks averaged)."""
    y = np.asarray(y).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC needs both classes")
    ranks = rankdata(x, axis=0)
    return (ranks[y].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)


def foldwise_auc(
    table: pd.DataFrame, labels: pd.Series, folds: int = 5, seed: int = 0, top: int = 10
) -> FoldAUC:
    """Per fold: impute with training medians, orient and rank on training rows, score held-out.

    Per feature: `train_auc` / `test_auc` average over all folds (held-out AUC uses the direction
    learned on the training rows, so it can fall below 0.5); `selected` counts the folds whose
    training rows put the feature in their `top`; `selected_train_auc` / `selected_test_auc`
    average over those folds only: their gap is the optimism of choosing on the same rows.

    Args:
        table: radiomic features, one row per patient (index id), one column per feature.
        labels: 0/1 label per patient id.
        folds: number of stratified folds.
        seed: seed of the fold split.
        top: how many features each fold's training rows select.
    """
    y = labels.loc[table.index].to_numpy().astype(int)
    x = table.to_numpy(dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    train_aucs, test_aucs, chosen, per_fold = [], [], [], []
    for k, (tr, te) in enumerate(splitter.split(x, y)):
        median = np.nanmedian(x[tr], axis=0)
        median = np.where(np.isnan(median), 0.0, median)
        filled = np.where(np.isnan(x), median, x)
        raw_tr, raw_te = auc_columns(filled[tr], y[tr]), auc_columns(filled[te], y[te])
        flip = raw_tr < 0.5
        auc_tr = np.where(flip, 1 - raw_tr, raw_tr)
        auc_te = np.where(flip, 1 - raw_te, raw_te)
        best = np.argsort(-auc_tr, kind="stable")[:top]
        chosen.append(np.isin(np.arange(x.shape[1]), best))
        per_fold.append(
            dict(
                fold=k,
                feature=table.columns[best[0]],
                train_auc=auc_tr[best[0]],
                test_auc=auc_te[best[0]],
                top_mean_test_auc=auc_te[best].mean(),
            )
        )
        train_aucs.append(auc_tr)
        test_aucs.append(auc_te)
    train_aucs, test_aucs, chosen = map(np.array, (train_aucs, test_aucs, chosen))
    selected = chosen.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sel_train = np.where(chosen, train_aucs, 0).sum(axis=0) / selected
        sel_test = np.where(chosen, test_aucs, 0).sum(axis=0) / selected
    per_feature = pd.DataFrame(
        dict(
            train_auc=train_aucs.mean(axis=0),
            test_auc=test_aucs.mean(axis=0),
            test_auc_sd=test_aucs.std(axis=0),
            selected=selected,
            selected_train_auc=sel_train,
            selected_test_auc=sel_test,
        ),
        index=pd.Index(table.columns, name="feature"),
    )
    per_feature = per_feature.sort_values(
        ["selected", "selected_train_auc"], ascending=False, kind="stable"
    )
    return FoldAUC(per_feature, pd.DataFrame(per_fold).set_index("fold"))
