"""Figures from saved predictions: ROC with fold bands, calibration, decision and training curves.

Every function takes {model: predictions} (as from `results.load_predictions`), scores the test
split only and returns a matplotlib Figure, so notebooks just display it and tests count its lines.
A classical reference's legend entry says what it sees (`references.legend_label`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from tmiclnet.evaluate.references import legend_label

FPR_GRID = np.linspace(0.0, 1.0, 101)


def _test(preds: pd.DataFrame) -> pd.DataFrame:
    return preds[preds["split"] == "test"]


def roc_band(preds: pd.DataFrame, grid: np.ndarray = FPR_GRID) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd over folds of the TPR interpolated on a common FPR grid."""
    tprs = []
    for _, g in _test(preds).groupby("fold"):
        fpr, tpr, _ = roc_curve(g["label"], g["prob"])
        t = np.interp(grid, fpr, tpr)
        t[0] = 0.0
        tprs.append(t)
    tprs = np.array(tprs)
    return tprs.mean(axis=0), tprs.std(axis=0, ddof=1) if len(tprs) > 1 else np.zeros_like(grid)


def _diagonal_figure(fig: Figure, ax, xlabel: str, ylabel: str, title: str, ymax: float) -> Figure:
    """Finish a unit-square figure (ROC, calibration): the y = x reference, labels, legend."""
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(0, 1), ylim=(0, ymax))
    return _legend_below(fig, ax)


def _legend_below(fig: Figure, ax) -> Figure:
    """The legend under the axes, one entry a line at 10 pt: the references' entries say what
    they see, too long to sit over the curves (the notebook's inline figures, saved with a tight
    bounding box, grow to hold it)."""
    fig.tight_layout()
    ax.legend(fontsize=10, loc="upper left", bbox_to_anchor=(-0.12, -0.12), frameon=False)
    return fig


def roc_figure(preds_by_model: dict[str, pd.DataFrame], title: str = "ROC (test folds)") -> Figure:
    """One mean ROC line per model with a +/- 1 sd band over folds, and the chance diagonal.

    Used by notebook 09 (evaluation).

    Args:
        preds_by_model: model name -> its predictions (columns fold, split, label, prob), as
            `tmiclnet.evaluate.report.evaluate_cohort` returns them; test rows are used.
        title: the axes' title.
    """
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, preds in preds_by_model.items():
        mean, sd = roc_band(preds)
        auc = np.trapezoid(mean, FPR_GRID)
        ax.plot(FPR_GRID, mean, label=f"{legend_label(name)}, AUC of mean curve {auc:.2f}")
        ax.fill_between(FPR_GRID, np.clip(mean - sd, 0, 1), np.clip(mean + sd, 0, 1), alpha=0.15)
    return _diagonal_figure(fig, ax, "1 - specificity (FPR)", "sensitivity (TPR)", title, 1.01)


def calibration_figure(
    preds_by_model: dict[str, pd.DataFrame],
    n_bins: int = 5,
    title: str = "Calibration (pooled test predictions)",
) -> Figure:
    """Observed event rate vs mean predicted probability (quantile bins), one line per model.

    Used by notebook 09 (evaluation).

    Args:
        preds_by_model: model name -> its predictions, as for `roc_figure`.
        n_bins: number of quantile bins of predicted probability.
        title: the axes' title.
    """
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, preds in preds_by_model.items():
        t = _test(preds)
        frac, mean_pred = calibration_curve(
            t["label"], t["prob"], n_bins=n_bins, strategy="quantile"
        )
        ax.plot(mean_pred, frac, marker="o", label=legend_label(name))
    xlabel, ylabel = "mean predicted probability", "observed fraction positive"
    return _diagonal_figure(fig, ax, xlabel, ylabel, title, 1.0)


def net_benefit(label: np.ndarray, prob: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Vickers & Elkin 2006: TP/n - FP/n * pt / (1 - pt) when treating everyone with prob >= pt."""
    y = np.asarray(label, int)
    p = np.asarray(prob, float)
    n = len(y)
    out = []
    for pt in thresholds:
        treat = p >= pt
        tp, fp = np.sum(treat & (y == 1)), np.sum(treat & (y == 0))
        out.append(tp / n - fp / n * pt / (1 - pt))
    return np.array(out)


def decision_figure(
    preds_by_model: dict[str, pd.DataFrame],
    thresholds: np.ndarray | None = None,
    title: str = "Decision curves (pooled test predictions)",
) -> Figure:
    """Net benefit vs threshold probability per model, with treat-all and treat-none.

    Used by notebook 09 (evaluation).

    Args:
        preds_by_model: model name -> its predictions, as for `roc_figure`.
        thresholds: threshold probabilities in (0, 1) to draw; None: 40 from 0.02 to 0.8.
        title: the axes' title.
    """
    thresholds = np.linspace(0.02, 0.8, 40) if thresholds is None else thresholds
    fig, ax = plt.subplots(figsize=(6, 4.5))
    label = None
    for name, preds in preds_by_model.items():
        t = _test(preds)
        label = t["label"].to_numpy(int)
        ax.plot(thresholds, net_benefit(label, t["prob"], thresholds), label=legend_label(name))
    prevalence = label.mean()
    ax.plot(
        thresholds,
        prevalence - (1 - prevalence) * thresholds / (1 - thresholds),
        c="k",
        ls=":",
        label="treat all",
    )
    ax.plot(thresholds, np.zeros_like(thresholds), c="grey", ls="--", label="treat none")
    ax.set(
        xlabel="threshold probability",
        ylabel="net benefit",
        title=title,
        ylim=(-0.05, max(prevalence, 0.05) * 1.1),
    )
    return _legend_below(fig, ax)


def training_figure(history: pd.DataFrame, title: str = "Training curves") -> Figure:
    """Train/val loss and val AUC per epoch, one line per fold (history.csv with a fold column).

    Used by notebook 09 (evaluation).

    Args:
        history: history.csv rows of every fold (`tmiclnet.evaluate.report.history_of`): fold,
            epoch, train_loss, val_loss, val_auc.
        title: the figure's title.
    """
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(9, 3.5))
    for k, h in history.groupby("fold"):
        (line,) = ax_loss.plot(h["epoch"], h["train_loss"], label=f"fold {k} train")
        ax_loss.plot(h["epoch"], h["val_loss"], ls="--", c=line.get_color(), label=f"fold {k} val")
        ax_auc.plot(h["epoch"], h["val_auc"], c=line.get_color(), label=f"fold {k}")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss (solid train, dashed val)")
    ax_auc.set(xlabel="epoch", ylabel="validation AUC", title="validation AUC")
    ax_auc.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def text_colour(rgba) -> str:
    """Black on a light cell, white on a dark one (relative luminance, ITU-R BT.709), so a value
    written on a heatmap reads on every cell."""
    r, g, b = rgba[:3]
    return "k" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "w"


def heatmap_figure(
    table: pd.DataFrame,
    title: str,
    fmt: str = "{:.2f}",
    cmap: str = "viridis",
    center: float | None = None,
) -> Figure:
    """A labelled heatmap of a small table (NaN cells left blank), values written in the cells.

    Used by notebooks 12 (robustness) and 13 (interpretation).

    Args:
        table: the small table to draw (rows and columns labelled; NaN left blank).
        title: the axes' title.
        fmt: format string of the value written in each cell.
        cmap: matplotlib colormap name.
        center: value the colour scale is centred on (symmetric limits); None: the data's range.
    """
    values = table.to_numpy(dtype=float)
    # at most 8 inches wide: a wider figure is shrunk to the column and its cell labels with it
    width = min(1.1 * values.shape[1] + 2.5, 8.0)
    fig, ax = plt.subplots(figsize=(width, 0.45 * values.shape[0] + 1.6))
    kw = {}
    if center is not None:
        span = np.nanmax(np.abs(values - center)) or 1.0
        kw = {"vmin": center - span, "vmax": center + span}
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto", **kw)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in table.columns], rotation=35, ha="right")
    ax.set_yticks(range(values.shape[0]), [str(i) for i in table.index])
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            colour = text_colour(im.cmap(im.norm(v)))
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=10, color=colour)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def bar_figure(
    values: pd.Series, title: str, xlabel: str, top: int = 15, errors: pd.Series | None = None
) -> Figure:
    """Horizontal bars of the `top` largest values (largest on top).

    Used by notebook 13 (interpretation).

    Args:
        values: the values to draw, indexed by label.
        title: the axes' title.
        xlabel: the value axis' label.
        top: how many of the largest values to show.
        errors: a spread per label (e.g. the sd over permutations) drawn as error bars.
    """
    shown = values.sort_values(ascending=False).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(shown) + 1.2))
    xerr = None if errors is None else errors.reindex(shown.index).to_numpy()
    ax.barh([str(i) for i in shown.index], shown.to_numpy(), xerr=xerr, capsize=3)
    ax.axvline(0, c="grey", lw=1)
    ax.set(xlabel=xlabel, title=title)
    fig.tight_layout()
    return fig


def _tick_format(span: float) -> str:
    """Enough decimals that the ticks of a scale of +-span differ (0.0005 shows as 0.0005)."""
    decimals = max(0, int(np.ceil(-np.log10(span))) + 1) if span > 0 else 1
    return f"%.{min(decimals, 6)}f"


def occlusion_figure(
    ct: np.ndarray, occlusion: np.ndarray, n_slices: int = 3, title: str = "Occlusion sensitivity"
) -> Figure:
    """Axial slices of a CT (D,H,W in [0,1]) with the occlusion map overlaid (red raises risk).

    Used by notebook 13 (interpretation).

    Args:
        ct: the CT volume (D, H, W), intensities scaled to [0, 1].
        occlusion: the (D, H, W) map from `tmiclnet.evaluate.interpret.occlusion.ct_occlusion`.
        n_slices: axial slices shown, evenly spaced from 25 % to 75 % of the depth.
        title: the figure's title.
    """
    d = ct.shape[0]
    slices = np.linspace(d * 0.25, d * 0.75, n_slices).round().astype(int)
    points = 100.0 * occlusion  # percentage points of P(death): readable tick labels
    span = float(np.abs(points).max()) or 1.0
    fig, axes = plt.subplots(1, n_slices, figsize=(3.4 * n_slices + 1.2, 3.6), layout="constrained")
    for ax, z in zip(np.atleast_1d(axes), slices):
        ax.imshow(ct[z], cmap="gray", vmin=0, vmax=1)
        im = ax.imshow(points[z], cmap="bwr", vmin=-span, vmax=span, alpha=0.45)
        ax.set_title(f"slice {z}")
        ax.axis("off")
    bar = fig.colorbar(im, ax=list(np.atleast_1d(axes)), shrink=0.9)
    bar.set_label("risk added by the block\n(percentage points)", fontsize=10)
    bar.ax.tick_params(labelsize=10)
    bar.formatter.set_useOffset(False)
    bar.ax.yaxis.set_major_formatter(plt.FormatStrFormatter(_tick_format(span)))
    fig.suptitle(title)
    return fig
