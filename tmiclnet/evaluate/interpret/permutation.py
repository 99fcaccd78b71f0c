"""Permutation importance of radiomic families: the AUC lost when one family is shuffled.

A family's columns are shuffled together, across the fold's test patients, so the correlations
inside a family survive and only its link to the label is broken; the drop is averaged over a
few shuffles, and their spread is kept to tell a drop from noise (`views.importance_claims`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from tmiclnet.evaluate.saved import SavedFold


def family_permutation_importance(
    fold: SavedFold, name: str, n_repeats: int = 5, seed: int = 0
) -> pd.Series:
    """AUC drop when one radiomic family is shuffled across the fold's test patients.

    Used by notebook 13 (interpretation).

    Args:
        fold: the fold's test patients and saved models (`tmiclnet.evaluate.saved.saved_fold`).
        name: the catalogue name of a model saved in that fold, e.g. ``tmiclnet_tokens``.
        n_repeats: shuffles per family; the AUC drops are averaged over them.
        seed: seed of the shuffles.
    """
    from tmiclnet.radiomics import feature_families

    y = fold.test.labels.numpy()
    base = roc_auc_score(y, fold.probs(name).numpy())
    rad = fold.test.inputs["radiomics"]
    position = {c: i for i, c in enumerate(fold.fin.rad_columns)}
    rng = np.random.default_rng(seed)
    out, spread = {}, {}
    for family, cols in feature_families(fold.fin.rad_columns).items():
        idx = torch.tensor([position[c] for c in cols])
        drops = []
        for _ in range(n_repeats):
            perm = torch.from_numpy(rng.permutation(len(y)))
            shuffled = rad.clone()
            shuffled[:, idx] = rad[perm][:, idx]
            p = fold.probs(name, {**fold.test.inputs, "radiomics": shuffled}).numpy()
            drops.append(base - roc_auc_score(y, p))
        out[family] = float(np.mean(drops))
        spread[family] = float(np.std(drops, ddof=1)) if len(drops) > 1 else 0.0
    series = pd.Series(out, name="AUC drop").sort_values(ascending=False)
    series.attrs["sd"] = pd.Series(spread, name="sd").reindex(series.index)
    return series
