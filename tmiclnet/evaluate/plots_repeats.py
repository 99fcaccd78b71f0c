"""The ranking-stability figure of repeated cross-validation (`tmiclnet.evaluate.repeats`).

Left: for each model, the share of the R x K test folds in which it ranked 1st, 2nd, ...
(darkest = first), models ordered by mean rank: a model that is "best" only by one split's noise
shows a bar spread over many ranks. Right: the paired difference AUC(TMI-CLNet) − AUC(model) with
its corrected 95 % interval: where the bar crosses 0 the data cannot tell the two apart.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from tmiclnet.evaluate.tables import MAIN_MODEL

FONT = 11


def ranking_figure(rep, title: str = "") -> Figure:
    """Rank frequencies (stacked bars) and paired differences with intervals, one row per model.

    Used by notebook 09 (evaluation).

    Args:
        rep: a `tmiclnet.evaluate.repeats.RepeatReport`.
        title: the figure's title (default: the cohort and the number of test folds).
    """
    summary = rep.summary.sort_values("mean_rank")
    counts = rep.counts.loc[summary.index]
    n = int(counts.iloc[0].sum())
    share = counts / n
    y = np.arange(len(summary))[::-1]  # best mean rank on top
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(8.2, 0.5 * len(summary) + 2.6), gridspec_kw={"width_ratios": [1.25, 1]}
    )
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.95, share.shape[1]))
    start = np.zeros(len(summary))
    for j, rank in enumerate(share.columns):
        left.barh(y, share[rank], left=start, color=colours[j], label=f"{rank}", height=0.7)
        start += share[rank].to_numpy()
    left.set_yticks(y, [f"{m}  ({r:.1f})" for m, r in summary["mean_rank"].items()], fontsize=FONT)
    left.set_xlim(0, 1)
    left.set_ylim(y.min() - 0.5, y.max() + 0.5)
    left.set_xlabel(f"share of the {n} test folds at each rank", fontsize=FONT)
    left.set_title("Rank within each (repeat, fold)\nmean rank in brackets", fontsize=FONT)
    handles, labels = left.get_legend_handles_labels()
    cols = min(len(labels), 12)
    order = _row_major(len(labels), cols)
    fig.legend([handles[i] for i in order], [labels[i] for i in order],
               title="rank (1 = best AUC of the fold)", ncol=cols, fontsize=FONT - 1,
               title_fontsize=FONT, loc="lower left", bbox_to_anchor=(0.01, 0.0),
               handlelength=1.0, handletextpad=0.3, columnspacing=0.6)  # fmt: skip
    _differences(right, summary, y)
    marks, words = right.get_legend_handles_labels()
    if marks:  # under the panel, where it hides no interval
        fig.legend(marks, words, fontsize=FONT - 1, loc="lower right", bbox_to_anchor=(0.99, 0.0))
    for ax in (left, right):
        ax.tick_params(labelsize=FONT)
    fig.suptitle(title or f"{rep.cohort}: {len(rep.repeats)} repeats x {rep.n_folds} folds",
                 fontsize=FONT + 2)  # fmt: skip
    rows = 1 + (len(labels) - 1) // cols  # the legend's rows of ranks, under the panels
    fig.tight_layout(rect=(0, (0.55 + 0.3 * rows) / fig.get_size_inches()[1], 1, 1))
    return fig


def _differences(ax, summary, y) -> None:
    """Right panel: mean paired difference to the main model with its corrected interval."""
    rows = summary.index != MAIN_MODEL
    if "diff" not in summary or not rows.any():
        ax.set_axis_off()
        return
    s, yy = summary[rows], y[rows]
    err = np.vstack([s["diff"] - s["diff_low"], s["diff_high"] - s["diff"]])
    excl = s["excludes_0"].astype(bool).to_numpy()
    for mask, colour, label in ((excl, "C3", "interval excludes 0"), (~excl, "C0", "includes 0")):
        if mask.any():
            ax.errorbar(s["diff"][mask], yy[mask], xerr=err[:, mask], fmt="o", color=colour,
                        capsize=4, label=label)  # fmt: skip
    lo, hi = ax.get_xlim()
    ax.set_xlim(max(lo, -1.05), min(hi, 1.05))  # an AUC difference lies in [-1, 1]
    ax.axvline(0, color="grey", ls="--", lw=1)
    for yy_main in y[~rows]:
        ax.text(0, yy_main, " itself", va="center", fontsize=FONT, color="grey")
    ax.set_yticks(y, [""] * len(y))
    ax.set_ylim(y.min() - 0.5, y.max() + 0.5)
    ax.set_xlabel("Δ AUC = TMI-CLNet − model", fontsize=FONT)
    ax.set_title("Paired Δ AUC, corrected 95 % CI\n(> 0: TMI-CLNet better)",
                 fontsize=FONT)  # fmt: skip


def _row_major(n: int, cols: int) -> list[int]:
    """The order to hand `n` legend entries to matplotlib, which fills a legend column by column,
    so that they read row by row (1 2 3 ... across, not down)."""
    return [i for col in range(cols) for i in range(col, n, cols)]
