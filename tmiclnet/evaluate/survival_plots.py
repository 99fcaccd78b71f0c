"""The survival view's figures: Kaplan-Meier by predicted-risk tertile, td-AUC against years.

A model that ranks patients well separates their survival curves: split each fold's test patients
into thirds by predicted risk (within the fold, since two folds' models need not share a scale),
pool the thirds over the folds, and draw each third's Kaplan-Meier curve. The time-dependent AUC
against years shows where in follow-up a model discriminates (`tmiclnet.evaluate.survival`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tmiclnet.data.pbc import kaplan_meier
from tmiclnet.evaluate.survival import HORIZON_YEARS, YEAR, YEARS

TERTILES = ("low risk", "middle", "high risk")
TERTILE_COLOURS = ("#2ca02c", "#7f7f7f", "#d62728")


def tertiles(risks: pd.DataFrame) -> pd.Series:
    """Each row's risk third (0 low, 1, 2 high) within its (repeat, fold).

    Args:
        risks: a risk file's rows (id, time, event, risk, fold, repeat).
    """
    ranked = risks.groupby(["repeat", "fold"])["risk"].rank(method="first", pct=True)
    return np.minimum((ranked * 3).apply(math.ceil) - 1, 2).astype(int)


def km_by_tertile(risks: dict[str, pd.DataFrame], models: list[str], repeat: int = 0):
    """One panel per model: Kaplan-Meier curves of its three risk thirds (repeat `repeat`'s
    test patients, censored included), the binary label's horizon dashed.

    Used by notebook 09b (survival).

    Args:
        risks: model -> its risk file's rows.
        models: the models to draw, in panel order.
        repeat: the repeat whose test patients to pool.
    """
    import matplotlib.pyplot as plt

    ncols = min(3, len(models))
    nrows = math.ceil(len(models) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), sharex=True, sharey=True, squeeze=False
    )
    for ax, model in zip(axes.flat, models):
        table = risks[model].loc[risks[model]["repeat"] == repeat]
        third = tertiles(table)
        for t, (name, colour) in enumerate(zip(TERTILES, TERTILE_COLOURS)):
            sub = table.loc[third == t]
            km = kaplan_meier(sub["time"] / YEAR, sub["event"])
            ax.step(km["time"], km["survival"], where="post", color=colour,
                    label=f"{name} (n={len(sub)})")  # fmt: skip
        ax.axvline(HORIZON_YEARS, color="grey", ls="--", lw=1)
        ax.set_title(model, fontsize=12)
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=9, loc="lower left")
    for ax in axes.flat[len(models) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("years since registration")
    for ax in axes[:, 0]:
        ax.set_ylabel("survival")
    fig.suptitle("Kaplan-Meier by predicted-risk third (dashed: the binary label's 5 years)")
    return fig


def td_auc_figure(folds: pd.DataFrame, models: list[str]):
    """Mean time-dependent AUC at 1 to 8 years per model over every (repeat, fold), with the
    range of the fold values shaded for the first model.

    Used by notebook 09b (survival).

    Args:
        folds: `SurvivalSummary.folds` (model, repeat, fold, auc_<y>y columns).
        models: the models to draw.
    """
    import matplotlib.pyplot as plt

    cols = [f"auc_{y}y" for y in YEARS]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, model in enumerate(models):
        table = folds.loc[folds["model"] == model, cols]
        ax.plot(YEARS, table.mean().to_numpy(), marker="o", label=model)
        if i == 0:
            ax.fill_between(YEARS, table.min(), table.max(), alpha=0.15, lw=0)
    ax.axhline(0.5, color="grey", lw=1, ls=":")
    ax.set(xlabel="years since registration", ylabel="time-dependent AUC",
           title="Discrimination over follow-up (mean over folds)")  # fmt: skip
    ax.legend(fontsize=9, ncols=2)
    return fig
