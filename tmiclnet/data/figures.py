"""Figures and tables of the cohort page, kept here so the notebook only narrates and shows."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import ndimage

from tmiclnet.data import nifti, pbc
from tmiclnet.data.render import Findings, render

WINDOW = dict(cmap="gray", vmin=-150, vmax=250)  # abdominal window, level 50 / width 400 HU


def _slice_index(mask: np.ndarray) -> int:
    """The slice (first axis) with the longest liver edge: where nodularity and fluid show."""
    m = mask.astype(bool)
    edge = m & ~ndimage.binary_erosion(
        m,
        structure=np.array(
            [
                [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
                [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
                [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
            ]
        ),
    )
    return int(np.argmax(edge.reshape(m.shape[0], -1).sum(1)))


def show_slice(ax, ct: np.ndarray, mask: np.ndarray, title: str, k: int | None = None) -> None:
    k = _slice_index(mask) if k is None else k
    ax.imshow(ct[k], **WINDOW)
    if mask[k].any():
        ax.contour(mask[k], levels=[0.5], colors="tab:red", linewidths=0.8)
    ax.set_title(title, fontsize=11)
    ax.axis("off")


FINDINGS_GRID = [
    ("stage 1", Findings(0.0)),
    ("stage 2", Findings(1.0)),
    ("stage 3", Findings(2.0)),
    ("stage 4", Findings(3.0)),
    ("stage 2, no other", Findings(1.0)),
    ("+ hepatomegaly", Findings(1.0, liver_scale=1.18)),
    ("+ ascites", Findings(1.0, ascites_mm=20.0)),
    ("+ both", Findings(1.0, liver_scale=1.18, ascites_mm=20.0)),
]


def findings_gallery(shape: tuple[int, int, int], seed: int = 7):
    """One anatomy (one seed) rendered with each finding: stages 1-4, then hepatomegaly/ascites.

    Used by notebook 01 (cohort).

    Args:
        shape: the rendered volume's (D, H, W) size, in voxels.
        seed: render seed: one anatomy shared by every panel.
    """
    fig, axes = plt.subplots(2, 4, figsize=(8, 4.8))
    rendered = [render(f, shape, seed) for _, f in FINDINGS_GRID]
    k = _slice_index(rendered[0][1])
    for ax, (title, _), (ct, mask) in zip(axes.flat, FINDINGS_GRID, rendered):
        show_slice(ax, ct, mask, title, k)
    fig.suptitle("One anatomy rendered with each finding (liver mask in red)")
    fig.tight_layout()
    return fig


def example_patients(cohort) -> list[tuple[str, str]]:
    """(id, what it shows) for the cohort's example figure: the first patient of each recorded
    stage, then the first *other* patients with hepatomegaly and with ascites, so that no patient
    appears twice (the first stage-4 patient often has both findings).

    Args:
        cohort: a cohort loaded with `tmiclnet.data.cohort.load`.
    """
    findings = cohort.findings()
    picks: list[tuple[str, str]] = []

    def first(rows, text: str) -> None:
        ids = [i for i in findings.index[rows] if i not in {p for p, _ in picks}]
        if ids:
            picks.append((ids[0], text))

    for stage in (1, 2, 3, 4):
        first(findings["stage"] == stage, f"stage {stage}")
    for col, text in (("hepato", "hepatomegaly"), ("ascites", "ascites")):
        first(findings[col] == 1, text)
    return picks


def cohort_examples(cohort, per_row: int = 3):
    """Real cohort patients, each once: one per recorded stage, then hepatomegaly and ascites.

    Used by notebook 01 (cohort).

    Args:
        cohort: a cohort loaded with `tmiclnet.data.cohort.load`.
        per_row: panels per row of the figure.
    """
    findings = cohort.findings()
    picks = example_patients(cohort)
    rows = int(np.ceil(len(picks) / per_row))
    fig, axes = plt.subplots(rows, per_row, figsize=(7.5, 3.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (pid, text) in zip(axes.flat, picks):
        ct, _ = nifti.read(cohort.image_path(pid))
        mask, _ = nifti.read(cohort.mask_path(pid))
        row = findings.loc[pid]
        stage = "stage ?" if pd.isna(row["stage"]) else f"stage {int(row['stage'])}"
        extra = "" if text.startswith("stage") else f"{stage}, "
        title = f"{pid}: {text}\n{extra}label {int(cohort.labels[pid])}"
        show_slice(ax, ct, mask, title)
    fig.suptitle(f"Patients of the {cohort.name} cohort as written to disk")
    return fig


def renderer_steps(findings: Findings, shape: tuple[int, int, int], seed: int):
    """The renderer's intermediate volumes for one patient, left to right.

    Used by notebook 01 (cohort).

    Args:
        findings: what the renderer draws (`tmiclnet.data.render.Findings`).
        shape: the rendered volume's (D, H, W) size, in voxels.
        seed: render seed of the patient's anatomy and noise.
    """
    steps: dict = {}
    render(findings, shape, seed, steps=steps)
    titles = {
        "template": "1. LiTS-117\nat profile size",
        "deformed": "2. affine +\nelastic warp",
        "textured": "3. re-textured,\nnodular edge",
        "ascites": "4. perihepatic\nfluid",
        "final": "5. scanner noise,\nint16 HU",
    }
    fig, axes = plt.subplots(2, 3, figsize=(7.5, 6.2))
    k = _slice_index(steps["final"][1])
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, title) in zip(axes.flat, titles.items()):
        img, msk = steps[name]
        show_slice(ax, img, np.asarray(msk, np.uint8), title, k)
    return fig


# Coded fields are summarised as the share with the named value, the rest as median [IQR].
SHARES = {
    "sex": ("f", "% female"),
    "trt": (2, "% placebo"),
    "spiders": (1, "% spiders"),
    "edema": (0, "% no oedema"),
}


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def _summary(values: pd.Series, col: str) -> str:
    values = values.dropna()
    if not len(values):
        return "-"
    if col in SHARES:
        return f"{100 * (values == SHARES[col][0]).mean():.0f} %"
    values = pd.to_numeric(values)
    q = values.quantile([0.25, 0.5, 0.75])
    return f"{_num(q[0.5])} [{_num(q[0.25])}-{_num(q[0.75])}]"


def clinical_by_outcome(cohort) -> pd.DataFrame:
    """Each note field by 5-year outcome (median [IQR] or share), with the count missing; a
    measured field's name carries its unit (`tmiclnet.data.schema.PBC_COLUMNS`).

    Used by notebook 01 (cohort).

    Args:
        cohort: a cohort loaded with `tmiclnet.data.cohort.load`.
    """
    from tmiclnet.data.schema import PBC_COLUMNS

    table = cohort.clinical.join(cohort.labels)
    rows = {}
    for col in table.columns.drop("label"):
        unit = PBC_COLUMNS.get(col, {}).get("unit") if col not in SHARES else None
        name = SHARES[col][1] if col in SHARES else f"{col} ({unit})" if unit else col
        rows[name] = {
            outcome: _summary(table.loc[table["label"] == label, col], col)
            for label, outcome in ((0, "alive at horizon"), (1, "died before horizon"))
        }
        rows[name]["missing"] = int(table[col].isna().sum())
    return pd.DataFrame(rows).T


def survival_by_stage(table: pd.DataFrame | None = None, horizon_days: int = pbc.HORIZON_DAYS):
    """Kaplan-Meier curves of death (transplant censored) by histologic stage, all 418 patients.

    Used by notebook 01 (cohort).

    Args:
        table: the PBC table (`tmiclnet.data.pbc.load_table`); None loads the vendored one.
        horizon_days: the label horizon drawn as a dashed line, in days.
    """
    table = pbc.load_table() if table is None else table
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for stage in (1, 2, 3, 4):
        sub = table[table["stage"] == stage]
        km = pbc.kaplan_meier(sub["time"] / 365.25, sub["status"] == 2)
        ax.step(km["time"], km["survival"], where="post", label=f"stage {stage} (n={len(sub)})")
    ax.axvline(horizon_days / 365.25, color="grey", ls="--", lw=1, label="label horizon")
    ax.set(
        xlabel="years since registration",
        ylabel="survival (Kaplan-Meier)",
        ylim=(0, 1.02),
        title="Mayo PBC: survival by histologic stage",
    )
    ax.legend()
    fig.tight_layout()
    return fig


def label_balance(cohorts: dict) -> pd.DataFrame:
    """Patients, events and event rate per cohort.

    Used by notebook 01 (cohort).

    Args:
        cohorts: cohort name -> cohort loaded with `tmiclnet.data.cohort.load`.
    """
    return pd.DataFrame.from_dict(
        {
            name: {
                "patients": len(c.ids),
                "label 1": int(c.labels.sum()),
                "label 0": int((c.labels == 0).sum()),
                "event rate": round(float(c.labels.mean()), 3),
            }
            for name, c in cohorts.items()
        },
        orient="index",
    )
