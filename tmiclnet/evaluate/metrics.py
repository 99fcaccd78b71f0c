"""Per-fold metrics, mean +/- sd over folds, and a paired bootstrap CI for AUC differences.

Thresholded metrics (accuracy, F1, sensitivity, specificity) use the threshold each fold chose on
its validation split (threshold.json), never one tuned on test; AUC and Brier are threshold-free.
Only rows with split == "test" are scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn import metrics as skm

METRICS = ("accuracy", "f1", "auc", "sensitivity", "specificity", "brier")
PAPER = {  # Wu et al. 2025, private cohort of 184 patients, 5-fold CV: the only numbers recoverable
    "accuracy": 0.8312,
    "f1": 0.7805,
    "auc": 0.8223,
}


def binary_metrics(label: np.ndarray, prob: np.ndarray, threshold: float) -> dict[str, float]:
    """Accuracy, F1, AUC, sensitivity, specificity and Brier score of one set of predictions."""
    y = np.asarray(label, dtype=int)
    p = np.asarray(prob, dtype=float)
    pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    both = len(np.unique(y)) == 2
    return {
        "accuracy": skm.accuracy_score(y, pred),
        "f1": skm.f1_score(y, pred, zero_division=0),
        "auc": skm.roc_auc_score(y, p) if both else float("nan"),
        "sensitivity": tp / (tp + fn) if tp + fn else float("nan"),
        "specificity": tn / (tn + fp) if tn + fp else float("nan"),
        "brier": skm.brier_score_loss(y, p),
    }


def fold_metrics(preds: pd.DataFrame) -> pd.DataFrame:
    """One row per fold (test split only) with every metric; `preds` as from load_predictions."""
    test = preds[preds["split"] == "test"]
    if test.empty:
        raise ValueError("no rows with split == 'test' in the predictions")
    rows = {}
    for k, g in test.groupby("fold", sort=True):
        thr = float(g["threshold"].iloc[0]) if "threshold" in g else 0.5
        rows[k] = binary_metrics(g["label"].to_numpy(), g["prob"].to_numpy(), thr)
    out = pd.DataFrame.from_dict(rows, orient="index")[list(METRICS)]
    out.index.name = "fold"
    return out


def summarize(per_fold: pd.DataFrame) -> pd.DataFrame:
    """mean and sample sd (ddof=1) of each metric over folds: DataFrame(index=metric, mean, sd)."""
    return pd.DataFrame({"mean": per_fold.mean(), "sd": per_fold.std(ddof=1)})


def format_mean_sd(summary: pd.DataFrame, digits: int = 3) -> pd.Series:
    """'0.812 ± 0.034' strings, one per metric."""
    return pd.Series(
        {m: f"{r['mean']:.{digits}f} ± {r['sd']:.{digits}f}" for m, r in summary.iterrows()}
    )


def ranked_summaries(preds_by_model: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """{model: `summarize` of its folds}, best mean AUC first (a NaN AUC last)."""
    summaries = {m: summarize(fold_metrics(p)) for m, p in preds_by_model.items()}
    order = sorted(summaries, key=lambda m: -np.nan_to_num(summaries[m].loc["auc", "mean"], nan=-1))
    return {m: summaries[m] for m in order}


def comparison_table(preds_by_model: dict[str, pd.DataFrame], digits: int = 3) -> pd.DataFrame:
    """Models x metrics, each cell 'mean ± sd' over folds, sorted by mean AUC (best first)."""
    summaries = ranked_summaries(preds_by_model)
    table = pd.DataFrame({m: format_mean_sd(s, digits) for m, s in summaries.items()}).T
    table.index.name = "model"
    return table[list(METRICS)]


def _paired(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Test predictions of two models on the same patients, aligned by id."""
    ta = a[a["split"] == "test"][["id", "label", "fold", "prob"]]
    tb = b[b["split"] == "test"][["id", "prob"]]
    both = ta.merge(tb, on="id", suffixes=("_a", "_b"), validate="one_to_one")
    if len(both) != len(ta) or len(both) != len(tb):
        raise ValueError(
            f"models were not tested on the same patients ({len(ta)} vs {len(tb)}, "
            f"{len(both)} shared): compare models trained on the same folds.csv"
        )
    return both


def rank_auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUC per row (Mann-Whitney, ties averaged) of positive vs negative scores, shape (B, n)."""
    n1, n0 = pos.shape[1], neg.shape[1]
    ranks = rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    return (ranks[:, :n1].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def _label_resamples(
    pos: np.ndarray, neg: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(positives, negatives) indices of `n_boot` resamples with replacement within each label,
    shape (n_boot, len): every resample keeps the fold's size and class balance."""
    ip = rng.choice(pos, size=(n_boot, len(pos)), replace=True)
    ineg = rng.choice(neg, size=(n_boot, len(neg)), replace=True)
    return ip, ineg


def auc_sampling_sd(
    label: np.ndarray, prob: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> float:
    """The sd of one test fold's AUC over resamples of its patients: the spread test sampling
    alone gives a model with these predictions (its training held fixed).

    It depends on the AUC itself (a ranking near chance varies more over the same patients than
    a good one), so two models' fold sds compare as training noise only after each is set
    against its own. Patients are resampled within each label (`_label_resamples`), as in
    `bootstrap_auc_diff`.

    Args:
        label: 0/1 per test patient.
        prob: the model's score per test patient.
        n_boot: resamples.
        seed: the resampling's seed.
    """
    label, prob = np.asarray(label, int), np.asarray(prob, float)
    pos, neg = np.flatnonzero(label == 1), np.flatnonzero(label == 0)
    if not len(pos) or not len(neg):
        raise ValueError("the test split holds one class only; AUC is undefined")
    ip, ineg = _label_resamples(pos, neg, n_boot, np.random.default_rng(seed))
    return float(np.std(rank_auc(prob[ip], prob[ineg]), ddof=1))


def bootstrap_auc_diff(
    a: pd.DataFrame, b: pd.DataFrame, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Paired bootstrap over patients of (mean fold AUC of a) - (mean fold AUC of b).

    Patients are resampled with replacement within each (fold, label) stratum, so every replicate
    keeps each fold's size and class balance and the statistic stays the table's mean-of-fold AUC;
    both models are scored on the same resampled patients (paired). Percentile interval.
    """
    both = _paired(a, b)
    label = both["label"].to_numpy(int)
    pa, pb, fold = both["prob_a"].to_numpy(), both["prob_b"].to_numpy(), both["fold"].to_numpy()
    rng = np.random.default_rng(seed)
    observed, reps = [], []
    for k in np.unique(fold):
        pos, neg = (
            np.flatnonzero((fold == k) & (label == 1)),
            np.flatnonzero((fold == k) & (label == 0)),
        )
        if not len(pos) or not len(neg):
            raise ValueError(f"fold {k}: the test split holds one class only; AUC is undefined")
        observed.append(
            rank_auc(pa[pos][None], pa[neg][None])[0] - rank_auc(pb[pos][None], pb[neg][None])[0]
        )
        ip, ineg = _label_resamples(pos, neg, n_boot, rng)
        reps.append(rank_auc(pa[ip], pa[ineg]) - rank_auc(pb[ip], pb[ineg]))
    reps = np.mean(reps, axis=0)
    lo, hi = np.quantile(reps, [(1 - level) / 2, 1 - (1 - level) / 2])
    p = min(1.0, 2 * min(np.mean(reps <= 0), np.mean(reps >= 0)))
    return {
        "diff": float(np.mean(observed)),
        "lo": float(lo),
        "hi": float(hi),
        "p_boot": float(p),
        "n_patients": int(len(both)),
        "n_boot": int(n_boot),
    }


def auc_difference_table(
    preds_by_model: dict[str, pd.DataFrame], reference: str, n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Bootstrap CI of AUC(reference) - AUC(model) for every other model, one row each."""
    rows, skipped = {}, []
    for m, p in preds_by_model.items():
        if m == reference:
            continue
        try:
            rows[m] = bootstrap_auc_diff(preds_by_model[reference], p, n_boot, seed)
        except ValueError:  # e.g. a model with unfinished folds: not on the same test patients
            skipped.append(m)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.attrs["skipped"] = skipped
    out.index.name = f"{reference} minus"
    return out
