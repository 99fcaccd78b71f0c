"""The study's figures: each model's AUC under its ceilings, and each fusion gain with its
corrected interval beside the oracle's. They read the tables only and are in no key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmiclnet.study.fusion.tables import COMPARISONS, LABELS

COLORS = {
    "image_lr": "tab:orange",
    "text_only": "tab:green",
    "late_fusion": "tab:purple",
    "panel_lr": "tab:olive",
    "panel_image_lr": "tab:red",
}
ORACLE_STYLE = {"image": ("tab:orange", ":"), "note": ("tab:green", ":"), "all": ("k", "--")}


def auc_figure(per_fold: pd.DataFrame, oracles: pd.DataFrame):
    """One panel per regime: every model's test AUC (mean ± sd over folds) as a bar, with the
    regime's oracles (image, note, both; on the cohort's own patients when the table has them)
    as lines.

    Args:
        per_fold: `training.run_study`'s rows.
        oracles: `regimes.oracle_table`.
    """
    import matplotlib.pyplot as plt

    regimes = list(dict.fromkeys(per_fold["regime"]))
    models = list(COLORS)
    fig, axes = plt.subplots(1, len(regimes), figsize=(4.2 * len(regimes), 5.2), sharey=True)
    spread = per_fold.groupby(["regime", "model"])["auc"].agg(["mean", "std"]).fillna(0)
    bottom = min(0.45, float((spread["mean"] - spread["std"]).min()) - 0.03)
    axes = np.atleast_1d(axes)
    for ax, regime in zip(axes, regimes):
        g = per_fold[per_fold["regime"] == regime].groupby("model")["auc"]
        x = np.arange(len(models))
        ax.bar(
            x, g.mean().reindex(models), yerr=g.std().reindex(models), capsize=4,
            color=[COLORS[m] for m in models], alpha=0.85,
        )  # fmt: skip
        for name, (color, style) in ORACLE_STYLE.items():
            here = f"{name}_here"  # the cohort's own ceiling when the table has it
            level = oracles.loc[regime, here if here in oracles.columns else name]
            ax.axhline(level, color=color, ls=style, lw=2, label=f"oracle: {name}")
        ax.set_xticks(x, [LABELS[m].replace(" (control)", "\n(control)") for m in models],
                      rotation=35, ha="right", fontsize=10)  # fmt: skip
        ax.set_title(regime, fontsize=13)
        ax.set_ylim(bottom, 1.0)
        ax.axhline(0.5, color="0.6", lw=0.8)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="y", labelsize=11)
    axes[0].set_ylabel("test AUC (mean ± sd over folds)", fontsize=12)
    axes[0].legend(fontsize=10, loc="upper left")
    fig.tight_layout()
    return fig


def gain_figure(table: pd.DataFrame):
    """Per regime, each comparison's fusion gain over the better single model with its corrected
    95 % interval, beside the oracle's gain (the most any fusion could add).

    Args:
        table: `tables.summary`'s table.
    """
    import matplotlib.pyplot as plt

    regimes = list(dict.fromkeys(table["regime"]))
    fig, ax = plt.subplots(figsize=(8.5, 4.6))
    x = np.arange(len(regimes))
    width = 0.34
    for i, comparison in enumerate(COMPARISONS):
        rows = table[table["comparison"] == comparison].set_index("regime").reindex(regimes)
        color = COLORS[COMPARISONS[comparison][0]]
        err = np.vstack([rows["gain"] - rows["low"], rows["high"] - rows["gain"]])
        ax.errorbar(
            x + (i - 0.5) * width, rows["gain"], yerr=err, fmt="o", ms=9, capsize=6, lw=2,
            color=color, label=f"{comparison}: {LABELS[COMPARISONS[comparison][0]]}",
        )  # fmt: skip
    oracle = table.drop_duplicates("regime").set_index("regime").reindex(regimes)["oracle_gain"]
    ax.hlines(oracle, x - 0.4, x + 0.4, color="k", lw=2.5, label="oracle's gain (population)")
    here = table.drop_duplicates("regime").set_index("regime").reindex(regimes)
    if here["oracle_gain_here"].notna().all():
        ax.hlines(here["oracle_gain_here"], x - 0.4, x + 0.4, color="0.45", lw=2, ls="--",
                  label="oracle's gain (these patients)")  # fmt: skip
    ax.axhline(0, color="0.3", lw=1)
    ax.set_xticks(x, regimes, fontsize=12)
    ax.set_ylabel("AUC gain over the better single model", fontsize=12)
    ax.set_title("Fusion gain with its corrected 95 % interval", fontsize=13)
    ax.tick_params(axis="y", labelsize=11)
    ax.legend(fontsize=10, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
