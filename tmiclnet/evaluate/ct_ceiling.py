"""The CT-only model read against its image ceiling, over the repeated cross-validation.

"0.65" says nothing by itself: the CT-only model is read against `logreg_image_fields`, a
logistic regression on what the CT shows, fitted inside each fold (`tmiclnet.evaluate.references`).
The reference's spread over folds is test sampling alone (a regression on three fields barely
varies with its training set), so the CT-only model's extra spread is its training noise; and its
share of the ceiling's signal above chance, (AUC - 0.5) / (ceiling - 0.5), says how much of what
the image holds the network reads. The training page (notebook 08) states both, generated here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from tmiclnet.evaluate.repeats import RepeatReport, corrected_t_interval, evaluate_repeats

CT_MODEL = "ct_only"
CEILING = "logreg_image_fields"


@dataclass(frozen=True)
class CtReading:
    """One cohort's CT-only model against its ceiling over every (repeat, fold)."""

    cohort: str
    folds: int  # R x K test folds
    auc: float  # the CT-only model's mean test AUC
    sd: float  # its sd over the folds
    low: float  # the corrected 95 % interval of its mean
    high: float
    ceiling: float  # the ceiling's mean test AUC on the same folds
    ceiling_sd: float
    gap: float  # ceiling - CT-only, paired, with its corrected interval
    gap_low: float
    gap_high: float

    @property
    def sd_ratio(self) -> float:
        """The CT-only model's fold sd over the ceiling's: above 1 is training noise."""
        return self.sd / self.ceiling_sd

    @property
    def share(self) -> float:
        """(AUC - 0.5) / (ceiling - 0.5): the share of the image's signal above chance read."""
        return (self.auc - 0.5) / (self.ceiling - 0.5)


def reading(rep: RepeatReport) -> CtReading:
    """The CT-only model against its ceiling from a repeated-CV report that holds both.

    Args:
        rep: `evaluate_repeats` of one cohort with `ct_only` and `logreg_image_fields` in it.
    """
    wide = rep.aucs.pivot_table(index=["repeat", "fold"], columns="model", values="auc")
    missing = [m for m in (CT_MODEL, CEILING) if m not in wide]
    if missing:
        raise ValueError(f"{rep.cohort}: the repeated CV has no {missing}")
    ct, ceil = wide[CT_MODEL], wide[CEILING]
    auc, low, high, _ = corrected_t_interval(ct, rep.ratio)
    gap, gap_low, gap_high, _ = corrected_t_interval(ceil - ct, rep.ratio)
    return CtReading(
        rep.cohort, len(ct), auc, float(ct.std(ddof=1)), low, high, float(ceil.mean()),
        float(ceil.std(ddof=1)), gap, gap_low, gap_high,
    )  # fmt: skip


def read_cohort(data_dir: str | os.PathLike, cohort: str, n_repeats: int, seed: int) -> CtReading:
    """`reading` of one cohort's saved repeats (the references are scored where missing).

    Used by notebook 08 (training).

    Args:
        data_dir: the run's data folder (``run.data_dir``).
        cohort: the cohort's name, e.g. ``pbc``.
        n_repeats: the profile's ``cv_repeats``.
        seed: the run's seed.
    """
    rep = evaluate_repeats(data_dir, cohort, n_repeats, models=[CT_MODEL, CEILING], main=CEILING,
                           seed=seed)  # fmt: skip
    return reading(rep)


def table(readings: list[CtReading]) -> pd.DataFrame:
    """The page's table: one column per cohort; AUCs as mean ± sd over the test folds, intervals
    corrected 95 %, the share (AUC − 0.5) / (ceiling − 0.5), the sd ratio CT-only / ceiling.

    Args:
        readings: one `CtReading` per cohort.
    """
    cols = {}
    for r in readings:
        cols[r.cohort] = {
            "CT-only": f"{r.auc:.3f} ± {r.sd:.3f}",
            "its 95 % interval": f"[{r.low:.3f}, {r.high:.3f}]",
            "image ceiling": f"{r.ceiling:.3f} ± {r.ceiling_sd:.3f}",
            "ceiling − CT-only": f"{r.gap:+.3f} [{r.gap_low:+.3f}, {r.gap_high:+.3f}]",
            "share of ceiling": f"{r.share:.2f}",
            "fold sd ratio": f"{r.sd_ratio:.2f}",
            "test folds": str(r.folds),
        }
    return pd.DataFrame(cols)


def sentence(r: CtReading) -> str:
    """What the numbers say for one cohort, in words (Markdown), from the same `CtReading`.

    Args:
        r: the cohort's reading (`reading`).
    """
    noise = (
        "no wider than the ceiling's (its training adds little noise)"
        if r.sd_ratio <= 1.25
        else f"{r.sd_ratio:.2f} times the ceiling's: training adds noise of its own"
    )
    return (
        f"**{r.cohort}**: the CT-only model reaches {r.auc:.3f} [{r.low:.3f}, {r.high:.3f}], "
        f"{r.share:.0%} of the image ceiling's signal above chance (ceiling {r.ceiling:.3f}); "
        f"its spread over the {r.folds} test folds is {noise}."
    )
