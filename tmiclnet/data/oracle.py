"""What each modality of the synthetic cohort reveals, as the generator writes it, and the Bayes
AUC (the oracle) of every modality and every subset.

The label's logit is b0 + s_ct z_ct + s_rad z_rad + s_text z_text (`synthetic.SyntheticModel`).
What a model can see of the three latent factors is fixed by how the cohort is written:

- **The image is one modality.** The renderer draws the liver from the findings table
  (`synthetic._findings`): fibrosis = clip(1.5 + z_rad, 0, 3) drives texture, septa and surface
  nodularity; liver_scale = clip(1 + 0.08 z_ct, 0.85, 1.3) scales the CT *and its mask*;
  ascites_mm = clip(10 (z_ct - 0.5), 0, 25) draws fluid around it. Radiomics is measured on
  that CT inside that mask with shape features on (the parameter files extract the shape
  class), so it measures liver size as well as texture: both image models (CT and radiomics)
  can see both image factors. The ceiling of each is therefore the image's, computed from
  fibrosis and liver_scale (radiomics, inside the mask) or all three findings (CT).
- **The note** states the liver panel (`synthetic._liver_panel`): five lab values, each a noisy,
  rounded and clipped function of one standard-normal variable w (z_text in the built cohort;
  `NoteDial.revealed` in a regime of chapter 10). What it says of w is the least-squares
  estimate from the five values as written (fitted on the simulation), with its residual noise.

Each latent's posterior given what a subset of modalities shows is a normal (prior N(0, 1) times
the note's Gaussian likelihood, if the note reads that latent) cut to the interval the image
leaves (a point where the finding is not clipped, a half-line where it is): its mean and variance
are closed-form. The Bayes risk E[sigmoid(logit) | shown] is then approximated by the probit
rule sigmoid(m / sqrt(1 + pi v / 8)) with m, v the logit's posterior mean and variance, and the
oracle is its AUC on a large simulated sample (fixed seed).

These are ceilings: the renderer's random anatomy (a per-patient affine and elastic warp, texture
noise) and the scanner's noise only hide more, so no trained model can beat them beyond the noise
of its test folds (tests/data/test_oracle.py checks this against models fitted on simulated
findings and notes).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

from tmiclnet.batch import MODALITIES

# What each modality shows of the findings table; `text` shows the note's panel.
SHOWS: dict[str, tuple[str, ...]] = {
    "ct": ("fibrosis", "liver_scale", "ascites_mm"),
    "radiomics": ("fibrosis", "liver_scale"),
    "text": (),
}
# The findings' clips, as `synthetic._findings` writes them: finding -> (latent, a, b, low, high)
# with finding = clip(a + b z, low, high); the ascites rim only starts above z_ct = 0.5.
CLIPS = {
    "fibrosis": ("radiomics", 1.5, 1.0, 0.0, 3.0),
    "liver_scale": ("ct", 1.0, 0.08, 0.85, 1.3),
    "ascites_mm": ("ct", -5.0, 10.0, 0.0, 25.0),
}
# The panel's values as the model of `_liver_panel` makes them linear in w (log for the two
# skewed ones).
PANEL = ("bili", "albumin", "protime", "copper", "platelet")
LOG_FIELDS = ("bili", "copper")


def subsets() -> list[tuple[str, ...]]:
    """Every non-empty subset of the three modalities, singles first, then pairs, then all."""
    m = MODALITIES
    return [(a,) for a in m] + [(a, b) for i, a in enumerate(m) for b in m[i + 1 :]] + [m]


def subset_name(subset: tuple[str, ...]) -> str:
    """'ct', 'ct+text', ..., and 'all' for the three together.

    Args:
        subset: modalities in `MODALITIES` order.
    """
    return "all" if len(subset) == len(MODALITIES) else "+".join(subset)


def panel_matrix(panel) -> np.ndarray:
    """(n, 5) the panel's values as the note writes them, logs for bilirubin and copper.

    Args:
        panel: a mapping or data frame with the five fields of `PANEL`.
    """
    cols = [np.asarray(panel[f], dtype=float) for f in PANEL]
    return np.column_stack([np.log(c) if f in LOG_FIELDS else c for f, c in zip(PANEL, cols)])


def _interval(findings, latent: str, shows: tuple[str, ...], n: int):
    """The interval [low, high] of `latent` left by the findings in `shows` (every patient)."""
    low, high = np.full(n, -np.inf), np.full(n, np.inf)
    for name in shows:
        which, a, b, lo, hi = CLIPS[name]
        if which != latent:
            continue
        value = np.asarray(findings[name], dtype=float)
        z = (value - a) / b
        inside = (value > lo) & (value < hi)
        at_low, at_high = value <= lo, value >= hi
        low = np.where(inside, np.maximum(low, z), low)
        high = np.where(inside, np.minimum(high, z), high)
        high = np.where(at_low, np.minimum(high, (lo - a) / b), high)
        low = np.where(at_high, np.maximum(low, (hi - a) / b), low)
    return low, high


def truncated_moments(mu, sd, low, high, tol: float = 1e-2):
    """Mean and variance of N(mu, sd^2) cut to [low, high]; an interval narrower than `tol` is
    a point (two findings that both pin a latent, each rounded, give two values that differ by
    their rounding).

    Args:
        mu: means (array).
        sd: standard deviations (array, > 0).
        low: lower ends (-inf for none).
        high: upper ends (+inf for none).
        tol: intervals narrower than this are the point at their middle.
    """
    mu, sd = np.asarray(mu, float), np.asarray(sd, float)
    low, high = np.asarray(low, float), np.asarray(high, float)
    point = (high - low) < tol
    a = np.where(point, -np.inf, (low - mu) / sd)
    b = np.where(point, np.inf, (high - mu) / sd)
    with np.errstate(invalid="ignore", over="ignore"):
        mass = np.clip(stats.norm.cdf(b) - stats.norm.cdf(a), 1e-300, None)
        pa, pb = stats.norm.pdf(a), stats.norm.pdf(b)
        apa = np.where(np.isfinite(a), a * pa, 0.0)
        bpb = np.where(np.isfinite(b), b * pb, 0.0)
        ratio = (pa - pb) / mass
        mean = mu + sd * ratio
        var = sd**2 * (1 + (apa - bpb) / mass - ratio**2)
        mean = np.where(point, (low + high) / 2, mean)
    return mean, np.where(point, 0.0, np.clip(var, 0.0, None))


def note_reading(panel: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(what the note says of w, its noise variance, the fit's coefficients): the least-squares
    fit of w on the panel's values as written (`panel_matrix`), with the residual variance.

    Args:
        panel: (n, 5) `panel_matrix` of the simulated notes.
        w: (n,) the variable their panel follows.
    """
    x = np.column_stack([np.ones(len(panel)), panel])
    coef, *_ = np.linalg.lstsq(x, w, rcond=None)
    fit = x @ coef
    return fit, float(np.var(w - fit)), coef


def read_panel(panel: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """What notes say of w, with the coefficients `note_reading` fitted on a simulation.

    Args:
        panel: (n, 5) `panel_matrix` of the notes to read.
        coef: `note_reading`'s coefficients (intercept first).
    """
    return np.column_stack([np.ones(len(panel)), panel]) @ coef


def bayes_risk(
    strengths: np.ndarray,
    intercept: float,
    findings,
    shown: tuple[str, ...],
    note: tuple[np.ndarray, float, int, float] | None,
) -> np.ndarray:
    """The (probit-approximated) Bayes risk of every patient given what `shown` reveals.

    Args:
        strengths: (3,) the logit's weights in `MODALITIES` order.
        intercept: the logit's intercept.
        findings: the findings table (fibrosis, liver_scale, ascites_mm).
        shown: the modalities seen.
        note: (reading, noise variance, index of the latent it reads, rho), `note_reading` and
            the dial's corr(w, z); None when the text is not shown.
    """
    n = len(findings)
    image = tuple(dict.fromkeys(f for m in shown for f in SHOWS[m]))
    mean, var = intercept * np.ones(n), np.zeros(n)
    for i, latent in enumerate(MODALITIES):
        mu, sd = np.zeros(n), np.ones(n)
        if note is not None and "text" in shown and note[2] == i:
            reading, noise, _, rho = note
            # reading = rho z + (1 - rho^2)^0.5 e' + noise: Gaussian likelihood of z
            slope, resid = rho, 1.0 - rho**2 + noise
            post_var = 1.0 / (1.0 + slope**2 / resid)
            mu, sd = post_var * slope * reading / resid, np.sqrt(post_var) * np.ones(n)
        m, v = truncated_moments(mu, sd, *_interval(findings, latent, image, n))
        mean += strengths[i] * m
        var += strengths[i] ** 2 * v
    return 1.0 / (1.0 + np.exp(-np.clip(mean / np.sqrt(1.0 + np.pi * var / 8.0), -50, 50)))


def oracle_aucs(
    strengths: np.ndarray,
    intercept: float,
    y: np.ndarray,
    findings,
    note: tuple[np.ndarray, float, int, float],
) -> dict[str, float]:
    """The Bayes AUC of every modality and subset (`subsets`), and of the image (CT or
    radiomics: what either can see of it), on one simulated sample.

    Args:
        strengths: (3,) the logit's weights in `MODALITIES` order.
        intercept: the logit's intercept.
        y: (n,) the labels.
        findings: the findings table.
        note: as for `bayes_risk`.
    """
    out = {}
    for subset in subsets():
        risk = bayes_risk(strengths, intercept, findings, subset, note)
        out[subset_name(subset)] = float(roc_auc_score(y, risk))
    out["image"] = out["ct+radiomics"]
    return {k: round(v, 4) for k, v in out.items()}
