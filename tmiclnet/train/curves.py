"""Tables and figures about training, for the training notebook: timing and curves (the design
table of the profiles is `tmiclnet.book.about.design_table`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from tmiclnet import results


def timing_table(
    results_dir: str | Path, cohort: str, models: list[str] | None = None
) -> pd.DataFrame:
    """Per model: folds done, wall seconds (all folds), seconds per epoch, data-loading fraction.

    Used by notebook 08 (training).

    Args:
        results_dir: the results folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name, e.g. ``pbc``.
        models: catalogue names; None: every trained model of the cohort.
    """
    models = models or results.trained_models(results_dir, cohort)
    rows = []
    for m in models:
        done = results.load_done(results_dir, cohort, m)
        hist = results.load_history(results_dir, cohort, m)
        rows.append(
            {
                "model": m,
                "folds": len(done),
                "seconds": done["seconds"].sum(),
                "epochs (mean)": done["epochs"].mean(),
                "s / epoch": hist["seconds"].mean(),
                "data loading %": 100 * hist["data_seconds"].sum() / hist["seconds"].sum(),
            }
        )
    return pd.DataFrame(rows).set_index("model").round(2)


def plot_curves(results_dir: str | Path, cohort: str, models: list[str]):
    """Training and validation loss per epoch (one line per fold), one panel per model.

    Used by notebook 08 (training).

    Args:
        results_dir: the results folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name, e.g. ``pbc``.
        models: catalogue names, one panel each.
    """
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 3.2), squeeze=False)
    for ax, m in zip(axes[0], models):
        hist = results.load_history(results_dir, cohort, m)
        for k, h in hist.groupby("fold"):
            (line,) = ax.plot(h["epoch"] + 1, h["train_loss"], alpha=0.6, label=f"train, fold {k}")
            ax.plot(
                h["epoch"] + 1,
                h["val_loss"],
                ls="--",
                color=line.get_color(),
                label=f"val, fold {k}",
            )
            best = h.loc[h["val_loss"].idxmin()]
            ax.scatter([best["epoch"] + 1], [best["val_loss"]], color=line.get_color(), zorder=3)
        ax.set(title=m, xlabel="epoch", ylabel="loss")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig
