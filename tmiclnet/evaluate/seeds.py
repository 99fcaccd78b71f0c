"""How far a re-run may move each number: the spread over training seeds within a fold, beside
the spread over folds.

`tmiclnet.train.seeds` trains a few models on a few folds of the main split with other training
seeds; this module reads their test predictions (it trains nothing). Per model:

- the **sd over seeds within a fold**: per fold, the sample sd of the test AUC over the seeds;
  pooled over folds as the root mean of the per-fold variances. It is what a re-run of the same
  fold with another seed (or on another processor, whose CPU kernels round differently) moves a
  fold's AUC by;
- the **sd over folds**: the sample sd of the main run's test AUC over all its folds, the spread
  the comparison tables show beside every mean.

A mean over K folds moves, on a re-run, by about the within-fold sd over the square root of K if
the folds' training runs move independently; `spread_table` gives that figure too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet import results
from tmiclnet.evaluate import metrics


def seed_aucs(
    stores: dict[int, Path], cohort: str, models: list[str], folds: list[int]
) -> pd.DataFrame:
    """One row per (model, seed offset, fold): the fold's test AUC.

    Args:
        stores: seed offset -> results store (`tmiclnet.train.seeds.train_seeds`).
        cohort: the cohort's name.
        models: catalogue names.
        folds: the folds trained with every seed.
    """
    rows = []
    for s, store in stores.items():
        for m in models:
            per_fold = metrics.fold_metrics(results.load_predictions(store, cohort, m))
            missing = sorted(set(folds) - set(per_fold.index))
            if missing:
                raise FileNotFoundError(f"{store}: {m} has no finished fold(s) {missing}")
            rows += [
                {"model": m, "seed": s, "fold": k, "auc": per_fold.loc[k, "auc"]} for k in folds
            ]
    return pd.DataFrame(rows)


def spread_table(aucs: pd.DataFrame, main_store: Path, cohort: str) -> pd.DataFrame:
    """One row per model: seeds and folds used, the mean AUC over them, the sd over seeds within a
    fold (pooled), the largest gap between two seeds in one fold, the sd over the main run's
    folds, their ratio, and the move a re-run may give a mean over the main run's K folds.

    Args:
        aucs: from `seed_aucs`.
        main_store: the main run's results store (`tmiclnet.results.results_root`).
        cohort: the cohort's name.
    """
    rows = {}
    for m, g in aucs.groupby("model", sort=False):
        within = g.groupby("fold")["auc"]
        sd_seed = float(np.sqrt(within.var(ddof=1).mean()))
        main = metrics.fold_metrics(results.load_predictions(main_store, cohort, m))["auc"]
        sd_fold = float(main.std(ddof=1))
        rows[m] = {
            "seeds": int(g["seed"].nunique()),
            "folds": int(g["fold"].nunique()),
            "auc_mean": float(g["auc"].mean()),
            "sd_seeds": sd_seed,
            "max_gap": float((within.max() - within.min()).max()),
            "sd_folds": sd_fold,
            "main_folds": int(len(main)),
            "ratio": sd_seed / sd_fold if sd_fold > 0 else float("nan"),
            "mean_move": sd_seed / np.sqrt(len(main)),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def display_table(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """`spread_table` as short strings for the page, one column per model (so that the page's
    column holds it whole at 1280 px).

    Args:
        table: from `spread_table`.
        digits: decimals.
    """
    f = f"{{:.{digits}f}}"
    return pd.DataFrame(
        {
            "seeds x folds": [f"{a} x {b}" for a, b in zip(table["seeds"], table["folds"])],
            "AUC": table["auc_mean"].map(f.format),
            "sd over seeds (in a fold)": table["sd_seeds"].map(f.format),
            "largest gap": table["max_gap"].map(f.format),
            "sd over folds": [
                f"{f.format(v)} ({n} folds)" for v, n in zip(table["sd_folds"], table["main_folds"])
            ],
            "mean of K folds moves by": table["mean_move"].map(f.format),
        },
        index=table.index,
    ).T


def summary(table: pd.DataFrame) -> str:
    """Markdown read off `spread_table`: per model, how far a re-run may move a fold's AUC and a
    mean over folds, against the spread over folds.

    Args:
        table: from `spread_table`.
    """
    lines = []
    for m, r in table.iterrows():
        share = "less than" if r["sd_seeds"] < r["sd_folds"] else "at least"
        lines.append(
            f"- **{m}**: over {int(r['seeds'])} seeds in each of {int(r['folds'])} folds a fold's "
            f"test AUC moves with an sd of {r['sd_seeds']:.3f} (largest gap {r['max_gap']:.3f}), "
            f"{share} its sd over the main run's {int(r['main_folds'])} folds "
            f"({r['sd_folds']:.3f}); a mean over those folds moves by about "
            f"{r['mean_move']:.3f} if each fold's run moves independently."
        )
    return "\n".join(lines)
