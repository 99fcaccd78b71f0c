"""The controlled cohort: latent factors from a known model, so the best reachable AUC is known.

Three independent latent factors, one per modality's intended channel:
- `ct`: liver volume and ascites (what a CNN sees at low resolution),
- `radiomics`: parenchymal texture and surface nodularity (what texture features measure),
- `text`: the liver panel written in the note (bilirubin, albumin, prothrombin time, ...).
The label is Bernoulli(sigmoid(b0 + sum_m strength_m * z_m)). Fields that carry no signal are drawn
independently from the real PBC marginals. The oracle AUC is that of the true risk given the
latents (a ceiling: the images and notes express the latents with noise).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from tmiclnet.batch import MODALITIES
from tmiclnet.data.pbc import TEXT_FIELDS, load_table


@dataclass(frozen=True)
class SyntheticModel:
    """The known generating model; every number here is stored in cohort.json."""

    strengths: dict = field(default_factory=lambda: {"ct": 1.0, "radiomics": 1.0, "text": 1.0})
    intercept: float = -0.7

    def logit(self, z: np.ndarray) -> np.ndarray:
        s = np.array([float(self.strengths.get(m, 0.0)) for m in MODALITIES])
        return self.intercept + z @ s

    def risk(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(z)))


def population_auc(model: SyntheticModel, n: int = 200_000, seed: int = 12345) -> dict:
    """Oracle AUCs of the model's population (Monte Carlo, fixed seed): all latents, each alone."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    y = rng.random(n) < model.risk(z)
    out = {"all": float(roc_auc_score(y, model.risk(z)))}
    for i, m in enumerate(MODALITIES):
        s = float(model.strengths.get(m, 0.0))
        out[m] = float(roc_auc_score(y, z[:, i] * np.sign(s))) if s else 0.5
    return {k: round(v, 4) for k, v in out.items()}


def _text_fields(z: np.ndarray, rng: np.random.Generator, real: pd.DataFrame) -> pd.DataFrame:
    """Clinical fields: the liver panel follows z_text, the rest is resampled from real PBC."""
    n = len(z)
    cols = {c: real[c].to_numpy()[rng.integers(len(real), size=n)] for c in TEXT_FIELDS}
    noise = lambda s: s * rng.standard_normal(n)  # noqa: E731
    cols["bili"] = np.round(np.exp(0.3 + 0.9 * z + noise(0.3)), 1).clip(0.3, 28)
    cols["albumin"] = np.round(3.5 - 0.35 * z + noise(0.15), 2).clip(1.9, 4.8)
    cols["protime"] = np.round(10.7 + 0.8 * z + noise(0.4), 1).clip(9, 18)
    cols["copper"] = np.round(np.exp(4.0 + 0.6 * z + noise(0.4))).clip(4, 600)
    cols["platelet"] = np.round(260 - 40 * z + noise(50)).clip(60, 720)
    return pd.DataFrame(cols)[list(TEXT_FIELDS)]


def _findings(z_ct: np.ndarray, z_rad: np.ndarray) -> pd.DataFrame:
    fibrosis = np.clip(1.5 + 1.0 * z_rad, 0.0, 3.0)
    scale = np.clip(1.0 + 0.08 * z_ct, 0.85, 1.3)
    ascites = np.clip(10.0 * (z_ct - 0.5), 0.0, 25.0)
    return pd.DataFrame(
        {
            "stage": np.rint(fibrosis).astype(int) + 1,
            "hepato": (scale > 1.08).astype(int),
            "ascites": (ascites > 0).astype(int),
            "fibrosis": fibrosis.round(4),
            "liver_scale": scale.round(4),
            "ascites_mm": ascites.round(3),
        }
    )


def generate(n: int, seed: int, model: SyntheticModel) -> dict:
    """Clinical table, findings, labels and oracle AUCs of a synthetic cohort of `n` patients."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    risk = model.risk(z)
    y = (rng.random(n) < risk).astype(int)
    ids = [f"syn-{i + 1:04d}" for i in range(n)]
    clinical = _text_fields(z[:, 2], rng, load_table())
    findings = _findings(z[:, 0], z[:, 1])
    latents = pd.DataFrame(z.round(6), columns=[f"z_{m}" for m in MODALITIES])
    latents["risk"] = risk.round(6)
    for frame in (clinical, findings, latents):
        frame.index = pd.Index(ids, name="id")
    sample = float(roc_auc_score(y, risk)) if 0 < y.sum() < n else None
    return {
        "clinical": clinical,
        "findings": findings,
        "latents": latents,
        "labels": pd.Series(y, index=clinical.index, name="label"),
        "oracle": {
            "population": population_auc(model),
            "sample": None if sample is None else round(sample, 4),
        },
    }
