"""The CT-only model read against its image ceiling, over the repeated cross-validation.

"0.65" says nothing by itself: the CT-only model is read against `logreg_image_fields`, a
logistic regression on what the CT shows, fitted inside each fold (`tmiclnet.evaluate.references`).
The reference's spread over folds is test sampling alone (a regression on three fields barely
varies with its training set), so the CT-only model's extra spread is its training noise; and its
share of the ceiling's signal above chance, (AUC - 0.5) / (ceiling - 0.5), says how much of what
the image holds the network reads. The training page (notebook 08) states both, generated here.

Two things make the ceiling's fold sd a loose yardstick, though. Test sampling does not spread
two models equally: over the same patients an AUC of 0.65 varies more than one of 0.78. And an sd
over 15 folds is itself uncertain by about a fifth. So each model's test-sampling sd is measured
directly, by resampling each test fold's patients with its predictions held fixed
(`metrics.auc_sampling_sd`, 2000 resamples a fold), and the CT-only model's fold sd is read
against its own (`over_sampling`): at 1 its spread is what test sampling gives a model of its AUC,
and what its training adds is the rest. The ceiling's own ratio shows how far the yardstick
itself strays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tmiclnet import results
from tmiclnet.evaluate.metrics import auc_sampling_sd
from tmiclnet.evaluate.repeats import RepeatReport, corrected_t_interval, evaluate_repeats

CT_MODEL = "ct_only"
CEILING = "logreg_image_fields"
# the most the CT-only model's fold sd may exceed the test-sampling spread (#25: "at most 1.25
# times that of the image ceiling", whose spread stands for test sampling there)
NOISE_LIMIT = 1.25


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
    # each model's test-sampling sd: the root mean square over folds of `auc_sampling_sd`
    sampling_sd: float = float("nan")
    ceiling_sampling_sd: float = float("nan")

    @property
    def sd_ratio(self) -> float:
        """The CT-only model's fold sd over the ceiling's."""
        return self.sd / self.ceiling_sd

    @property
    def sampling_ratio(self) -> float:
        """The sd ratio test sampling alone gives the two models, each at its own AUC."""
        return self.sampling_sd / self.ceiling_sampling_sd

    @property
    def over_sampling(self) -> float:
        """The CT-only model's fold sd over its own test-sampling sd: about 1 when its training
        adds nothing to the spread; NaN without sampling sds."""
        return self.sd / self.sampling_sd

    @property
    def ceiling_over_sampling(self) -> float:
        """The ceiling's fold sd over its own test-sampling sd: how far the yardstick strays."""
        return self.ceiling_sd / self.ceiling_sampling_sd

    @property
    def noise_ratio(self) -> float:
        """What the spread is judged on: `over_sampling` where the sampling sds are known, else
        the plain `sd_ratio` (the ceiling's spread standing for test sampling)."""
        return self.over_sampling if np.isfinite(self.over_sampling) else self.sd_ratio

    @property
    def share(self) -> float:
        """(AUC - 0.5) / (ceiling - 0.5): the share of the image's signal above chance read."""
        return (self.auc - 0.5) / (self.ceiling - 0.5)


def reading(rep: RepeatReport, sampling: dict[str, float] | None = None) -> CtReading:
    """The CT-only model against its ceiling from a repeated-CV report that holds both.

    Args:
        rep: `evaluate_repeats` of one cohort with `ct_only` and `logreg_image_fields` in it.
        sampling: each model's test-sampling sd (`sampling_sds`); None leaves them unknown.
    """
    wide = rep.aucs.pivot_table(index=["repeat", "fold"], columns="model", values="auc")
    missing = [m for m in (CT_MODEL, CEILING) if m not in wide]
    if missing:
        raise ValueError(f"{rep.cohort}: the repeated CV has no {missing}")
    ct, ceil = wide[CT_MODEL], wide[CEILING]
    auc, low, high, _ = corrected_t_interval(ct, rep.ratio)
    gap, gap_low, gap_high, _ = corrected_t_interval(ceil - ct, rep.ratio)
    sampling = sampling or {}
    return CtReading(
        rep.cohort, len(ct), auc, float(ct.std(ddof=1)), low, high, float(ceil.mean()),
        float(ceil.std(ddof=1)), gap, gap_low, gap_high,
        sampling.get(CT_MODEL, float("nan")), sampling.get(CEILING, float("nan")),
    )  # fmt: skip


def sampling_sds(
    data_dir: str | os.PathLike, cohort: str, repeats: list[int], n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Each model's test-sampling sd over the repeats' test folds: the root mean square of
    `auc_sampling_sd` per fold, from the saved test predictions.

    Args:
        data_dir: the run's data folder (``run.data_dir``).
        cohort: the cohort's name, e.g. ``pbc``.
        repeats: the repeats to read (`RepeatReport.repeats`).
        n_boot: resamples per fold.
        seed: the resampling's seed.
    """
    root = results.results_root(data_dir)
    out = {}
    for model in (CT_MODEL, CEILING):
        variances = []
        for r in repeats:
            preds = results.load_predictions(results.run_dir(root, r), cohort, model)
            test = preds[preds["split"] == "test"]
            for k, fold in test.groupby("fold"):
                sd = auc_sampling_sd(fold["label"], fold["prob"], n_boot, seed + 1000 * r + int(k))
                variances.append(sd**2)
        out[model] = float(np.sqrt(np.mean(variances)))
    return out


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
    return reading(rep, sampling_sds(data_dir, cohort, rep.repeats, seed=seed))


def table(readings: list[CtReading]) -> pd.DataFrame:
    """The page's table: one column per cohort; AUCs as mean ± sd over the test folds, intervals
    corrected 95 %, the share (AUC − 0.5) / (ceiling − 0.5), the sd ratio CT-only / ceiling, the
    ratio test sampling alone gives them, and each model's fold sd over its test-sampling sd.

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
            "sampling sd ratio": f"{r.sampling_ratio:.2f}",
            "CT-only sd / sampling sd": f"{r.over_sampling:.2f}",
            "ceiling sd / sampling sd": f"{r.ceiling_over_sampling:.2f}",
            "test folds": str(r.folds),
        }
    return pd.DataFrame(cols)


def sentence(r: CtReading) -> str:
    """What the numbers say for one cohort, in words (Markdown), from the same `CtReading`.

    Args:
        r: the cohort's reading (`reading`).
    """
    noise = (
        "its training adds little noise"
        if r.noise_ratio <= NOISE_LIMIT
        else "its training adds noise of its own"
    )
    spread = f"its fold sd is {r.sd_ratio:.2f} times the ceiling's"
    if np.isfinite(r.over_sampling):
        spread += (
            f", where test sampling alone would give {r.sampling_ratio:.2f} (a lower AUC varies "
            f"more over the same patients); against its own test-sampling sd it is "
            f"{r.over_sampling:.2f} (the ceiling's: {r.ceiling_over_sampling:.2f}), so {noise}"
        )
    else:
        spread += f", so {noise}"
    return (
        f"**{r.cohort}**: the CT-only model reaches {r.auc:.3f} [{r.low:.3f}, {r.high:.3f}], "
        f"{r.share:.0%} of the image ceiling's signal above chance (ceiling {r.ceiling:.3f}) over "
        f"{r.folds} test folds; {spread}."
    )
