"""The study's figures: one labelling's pooled test AUCs (`leakage_figure`), and the inflation
over ours across many labellings and repeats (`inflation_figure`).

They read the tables only (`tables`, `power`) and are in no key: redrawing retrains nothing.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tmiclnet.study.leakage.protocols import OURS


def leakage_figure(tables: list[pd.DataFrame]) -> Figure:
    """AUC per protocol with its 95 % interval, one panel per labelling, one colour per model;
    the dashed line is our protocol's AUC (on permuted labels the dotted one is chance, 0.5).

    Args:
        tables: `leakage_table` outputs, e.g. [real labels, permuted labels].
    """
    # about 4 inches a panel: two panels fill the column (style.COLUMN_PX) barely shrunk
    fig, axes = plt.subplots(1, len(tables), figsize=(4.1 * len(tables), 4.2), squeeze=False)
    for ax, table in zip(axes[0], tables):
        protocols = list(dict.fromkeys(table["protocol"]))
        models = list(dict.fromkeys(table["model"]))
        width = 0.8 / len(models)
        for i, m in enumerate(models):
            t = table[table["model"] == m].set_index("protocol").loc[protocols]
            x = np.arange(len(protocols)) + (i - (len(models) - 1) / 2) * width
            err = [t["auc"] - t["auc_lo"], t["auc_hi"] - t["auc"]]
            line = ax.errorbar(x, t["auc"], yerr=err, fmt="o", capsize=4, ms=7, label=m)
            ax.axhline(t.loc[OURS.name, "auc"], color=line[0].get_color(), ls="--", lw=1)
        if table["labels"].iloc[0] != "real":
            ax.axhline(0.5, color="0.3", ls=":", lw=1.5, label="chance (0.5)")
        _dress(ax, protocols, "test AUC (pooled over folds)", f"labels: {table['labels'].iloc[0]}")
    fig.tight_layout()
    return fig


def inflation_figure(table: pd.DataFrame) -> Figure:
    """Each protocol's mean inflation over ours with its 95 % interval across replicates, one
    panel per kind of labels, one marker per metric (within-fold AUC, accuracy, F1); the dashed
    line is no inflation.

    Args:
        table: `power.inflation_table` output.
    """
    metrics = {"auc": "AUC (within-fold)", "accuracy": "accuracy", "f1": "F1"}
    kinds = list(dict.fromkeys(table["kind"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 4.4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        t = table[(table["kind"] == kind) & (table["protocol"] != OURS.name)]
        protocols = list(dict.fromkeys(t["protocol"]))
        width = 0.8 / len(metrics)
        for i, (metric, label) in enumerate(metrics.items()):
            r = t[t["metric"] == metric].set_index("protocol").loc[protocols]
            x = np.arange(len(protocols)) + (i - (len(metrics) - 1) / 2) * width
            err = [r["inflation"] - r["lo"], r["hi"] - r["inflation"]]
            ax.errorbar(x, r["inflation"], yerr=err, fmt="os^"[i], capsize=3, ms=6, label=label)
        ax.axhline(0, color="0.3", ls="--", lw=1)
        n = int(t["replicates"].iloc[0]) if len(t) else 0
        what = "repeats" if kind == "real" else "labellings"
        _dress(
            ax, protocols, "inflation over ours (protocol − ours)", f"{kind} labels ({n} {what})"
        )
    fig.tight_layout()
    return fig


def _dress(ax, protocols: list[str], ylabel: str, title: str) -> None:
    """One panel's protocol ticks, labels, grid and legend, the same on both figures."""
    ax.set_xticks(np.arange(len(protocols)), protocols, rotation=30, ha="right", fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.set_title(title, fontsize=12)
    ax.tick_params(axis="y", labelsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=10, loc="best")
