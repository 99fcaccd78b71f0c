"""The dial's figures: AUC against the note's strength, and what fusion adds over one modality.

They read `tables.summary`'s table only and are in no key: redrawing retrains nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tmiclnet.study.fusion_dial.tables import FUSION, oracle_gain, signal_panels

LABELS = {
    "ct_only": "CT only",
    "radiomics_only": "radiomics only",
    "text_only": "text only",
    "early_fusion": "early fusion",
    "tmiclnet_tokens": "TMI-CLNet (tokens)",
}
STYLE = {
    "ct_only": ("tab:blue", "o"),
    "radiomics_only": ("tab:orange", "s"),
    "text_only": ("tab:green", "^"),
    "early_fusion": ("tab:purple", "D"),
    "tmiclnet_tokens": ("tab:red", "*"),
}


def dial_figure(table: pd.DataFrame):
    """AUC (mean ± sd over folds) of every model against the note's strength, one panel per kind
    of signal, with the setting's oracle (all modalities) and the note-alone oracle on top.

    Args:
        table: `summary`'s table.
    """
    import matplotlib.pyplot as plt

    panels = signal_panels(table)
    # about 4 inches a panel: two panels fill the column (style.COLUMN_PX) barely shrunk
    fig, axes = plt.subplots(1, len(panels), figsize=(4.1 * len(panels), 5.4), squeeze=False)
    for ax, (kind, rows) in zip(axes[0], panels.items()):
        x = rows["strength"].to_numpy()
        ax.plot(x, rows["oracle_all"], "k--", lw=2, label="oracle (all modalities)")
        ax.plot(x, rows["oracle_text"], ":", color="tab:green", lw=2, label="oracle (note alone)")
        span = max(float(x.max() - x.min()), 1.0)
        for j, (name, (color, marker)) in enumerate(STYLE.items()):
            ax.errorbar(
                x + (j - 2) * 0.012 * span, rows[f"{name}_mean"], yerr=rows[f"{name}_sd"],
                color=color, marker=marker, ms=8, capsize=3, lw=1.5, label=LABELS[name],
            )  # fmt: skip
        reads = "its own factor" if kind == "complementary" else "the CT's factor"
        ax.set_title(f"{kind}:\nthe note reads {reads}", fontsize=12)
        ax.set_xlabel("strength of the note's signal", fontsize=11)
        ax.set_ylabel("test AUC (mean ± sd over folds)", fontsize=11)
        ax.axhline(0.5, color="0.6", lw=0.8)
        ax.set_xticks(x)
        ax.tick_params(labelsize=11)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=3, fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def gain_figure(table: pd.DataFrame):
    """Fusion gain over the best unimodal model per setting (mean ± sd of the per-fold
    differences), beside the oracle's gain: all modalities over the best single one.

    Args:
        table: `summary`'s table.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    x = np.arange(len(table))
    for i, name in enumerate(FUSION):
        color = STYLE[name][0]
        ax.bar(
            x + (i - 0.5) * 0.36, table[f"gain_{name}_mean"], 0.34, yerr=table[f"gain_{name}_sd"],
            color=color, alpha=0.8, capsize=4, label=f"{LABELS[name]} - best unimodal",
        )  # fmt: skip
    ax.hlines(
        oracle_gain(table), x - 0.4, x + 0.4, color="k", lw=2.5, label="oracle: all - best single"
    )
    ax.axhline(0, color="0.3", lw=1)
    ticks = [f"{r.signal}\n{r.reads} {r.strength:g}" for r in table.itertuples()]
    ax.set_xticks(x, ticks, fontsize=11)
    ax.set_ylabel("AUC gain", fontsize=12)
    ax.set_title("What fusion adds over the best single modality", fontsize=13)
    ax.tick_params(axis="y", labelsize=11)
    top = max(
        float(oracle_gain(table).max()),
        float(table[[f"gain_{n}_mean" for n in FUSION]].max().max()),
    )
    ax.set_ylim(top=top * 1.8 + 0.02)
    ax.legend(fontsize=10, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
