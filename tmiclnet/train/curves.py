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


def kept_epochs(results_dir: str | Path, cohort: str, model: str) -> pd.DataFrame:
    """Per fold of `model`: epochs run, the epoch whose weights were kept, and the first epoch
    after the one-cycle warm-up (`tmiclnet.train.trainer.warmup_epochs`), all counted from 0.

    Used by notebook 08 (training): a fold that keeps an epoch of the warm-up kept a model that
    had not finished warming up, the failure the CT encoder's selection rule prevents.

    Args:
        results_dir: the results folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name, e.g. ``pbc``.
        model: a catalogue name, e.g. ``ct_only``.
    """
    from tmiclnet.train.trainer import TrainConfig, warmup_epochs

    rows = []
    for k, folder in results.finished_folds(results_dir, cohort, model).items():
        done = results.read_done(folder)
        train = done.payload.get("config", {}).get("train", {})
        cfg = TrainConfig(**{f: train[f] for f in ("epochs", "warmup") if f in train})
        rows.append(
            {
                "fold": k,
                "epochs run": done.timing.get("epochs"),
                "kept epoch": done.best_epoch,
                "warm-up ends": warmup_epochs(cfg),
                "kept by": train.get("select", "val_loss"),
            }
        )
    return pd.DataFrame(rows).set_index("fold")


def plot_curves(results_dir: str | Path, cohort: str, models: list[str]):
    """Training and validation loss per epoch (one colour per fold), one panel per model; the dot
    marks the epoch whose weights were kept (done.json: by validation loss, or for the CT
    encoder by smoothed validation AUC). One three-entry key below the panels, off the data.

    Used by notebook 08 (training).

    Args:
        results_dir: the results folder (`tmiclnet.results.results_root`).
        cohort: the cohort's name, e.g. ``pbc``.
        models: catalogue names, one panel each.
    """
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(1, len(models), figsize=(4.4 * len(models), 3.8), squeeze=False)
    for ax, m in zip(axes[0], models):
        hist = results.load_history(results_dir, cohort, m)
        kept = results.load_done(results_dir, cohort, m).set_index("fold")["best_epoch"]
        for k, h in hist.groupby("fold"):
            (line,) = ax.plot(h["epoch"] + 1, h["train_loss"], alpha=0.6)
            ax.plot(h["epoch"] + 1, h["val_loss"], ls="--", color=line.get_color())
            best = h.loc[h["epoch"] == kept[k]]
            ax.scatter(best["epoch"] + 1, best["val_loss"], color=line.get_color(), zorder=3)
        ax.set(title=m, xlabel="epoch", ylabel="loss")
    # one key for the whole figure, below the panels: the colour is the fold (the caption says so)
    key = [
        Line2D([], [], color="0.3", label="training loss"),
        Line2D([], [], color="0.3", ls="--", label="validation loss"),
        Line2D([], [], color="0.3", marker="o", ls="none", label="epoch kept"),
    ]
    fig.legend(handles=key, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
