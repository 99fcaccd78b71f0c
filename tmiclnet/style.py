"""One matplotlib style for every figure of the book, applied by :func:`tmiclnet.config.setup`.

The book's column is about 750 px wide at a 1280 px window, and a figure is shown at its own
width (figsize x dpi) or shrunk to the column. At 100 dpi a 7.5-inch figure fills the column
unshrunk, so an 11-point label reads as 11 points; wider figures are shrunk and need larger type
(:func:`font_scale` says by how much). Layout is automatic (`figure.autolayout`, matplotlib's
tight layout on every draw) rather than constrained: code that adds a colorbar and then calls
`fig.tight_layout()` (several figures of the package do) raises under the constrained engine.
"""

from __future__ import annotations

from cycler import cycler

# The default tab10 cycle, pinned: prose says "blue bars", and that must stay true.
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

COLUMN_PX = 750  # the text column at a 1280 px window (sphinx-book-theme: 752 px measured)
DPI = 100

RC: dict = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (7.0, 4.2),
    "figure.autolayout": True,
    "figure.facecolor": "white",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
    "figure.titlesize": 13,
    "axes.prop_cycle": cycler(color=list(COLOURS)),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.interpolation": "nearest",
}


def apply() -> None:
    """Set the book's rcParams on the running matplotlib (idempotent; call before plotting)."""
    import matplotlib as mpl

    mpl.rcParams.update(RC)


def font_scale(width_in: float) -> float:
    """How much larger than the style's sizes type must be in a figure `width_in` inches wide so
    that it still reads at its nominal size once the page shrinks the figure to the column.

    Args:
        width_in: the figure's width in inches (at the style's dpi).
    """
    return max(1.0, width_in * DPI / COLUMN_PX)
