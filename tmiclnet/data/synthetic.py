"""The controlled cohort: latent factors from a known model, so the best reachable AUC is known.

Three independent latent factors, named after the channel each was meant for:
- `ct`: liver volume and ascites,
- `radiomics`: parenchymal texture and surface nodularity,
- `text`: the liver panel written in the note (bilirubin, albumin, prothrombin time, ...).
The label is Bernoulli(sigmoid(b0 + sum_m strength_m * z_m)). Fields that carry no signal are drawn
independently from the real PBC marginals.

The image is one modality: the renderer scales the CT *and its liver mask* with z_ct, and the
radiomics measured inside that mask (shape features on) see liver size as well as texture, so
the CT and the radiomics models can both see both image factors. The note's panel sees z_text
only. What each modality and each subset can reach (the oracle) is computed from what the
generator writes (`tmiclnet.data.oracle`, `rendered_oracle`). The note's factor weighs 1.5 and
each image factor 1, so that the image (two factors) and the note are about equally informative
and fusing them gains the most (chapter 10 sizes its study on that gain).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from tmiclnet.batch import MODALITIES
from tmiclnet.data import oracle
from tmiclnet.data.pbc import TEXT_FIELDS, load_table


@dataclass(frozen=True)
class SyntheticModel:
    """The known generating model; every number here is stored in cohort.json.

    Args:
        strengths: per-modality weight of its latent factor in the label's logit.
        intercept: the logit's intercept (sets the share of positive labels).
    """

    strengths: dict = field(default_factory=lambda: {"ct": 1.0, "radiomics": 1.0, "text": 1.5})
    intercept: float = -0.7

    def logit(self, z: np.ndarray) -> np.ndarray:
        s = np.array([float(self.strengths.get(m, 0.0)) for m in MODALITIES])
        return self.intercept + z @ s

    def risk(self, z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(z)))


def population_auc(model: SyntheticModel, n: int = 200_000, seed: int = 12345) -> dict:
    """Oracle AUCs of the built cohort's population: every modality and subset as the generator
    writes them (`tmiclnet.data.oracle`; the note's panel follows z_text), by simulation with a
    fixed seed. `image` is what the CT (or radiomics, measured on it) can show.

    Args:
        model: the generating model (strengths, intercept).
        n: Monte Carlo patients.
        seed: fixed, so the oracle of a model is one number.
    """
    return rendered_oracle(model, None, n, seed)


def _note_model(model: SyntheticModel, dial, n: int, seed: int):
    """Simulate `n` patients; return (z, y, w, panel, note reader's (coef, noise), reads, rho)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    y = rng.random(n) < model.risk(z)
    if dial is None:
        w, reads, rho = z[:, MODALITIES.index("text")], MODALITIES.index("text"), 1.0
    else:
        w = dial.revealed(z, rng.standard_normal(n))
        reads, rho = MODALITIES.index(dial.reads), dial.rho
    panel = oracle.panel_matrix(_liver_panel(w, rng))
    reading, noise, coef = oracle.note_reading(panel, w)
    return z, y, reading, (coef, noise), reads, rho


def rendered_oracle(
    model: SyntheticModel, dial: NoteDial | None = None, n: int = 200_000, seed: int = 12345
) -> dict:
    """Bayes AUCs of every modality and subset given what the generator writes: the findings the
    renderer draws (both image models see both image factors, clipped as `_findings` clips
    them) and the note's liver panel as written (rounded, clipped), which follows z_text
    (`dial` None: the built cohort) or the dial's w (`NoteDial.revealed`).

    Simulation from the generator's own functions (`_findings`, `_liver_panel`), then the
    closed-form posterior of `tmiclnet.data.oracle`.

    Args:
        model: the generating model (strengths, intercept).
        dial: what the note reveals (None: the built cohort's note, which reads z_text itself).
        n: Monte Carlo patients.
        seed: fixed, so the oracle of a setting is one number.
    """
    z, y, reading, (_, noise), reads, rho = _note_model(model, dial, n, seed)
    s = np.array([float(model.strengths.get(m, 0.0)) for m in MODALITIES])
    findings = _findings(z[:, 0], z[:, 1])
    return oracle.oracle_aucs(s, model.intercept, y, findings, (reading, noise, reads, rho))


def sample_oracle(
    model: SyntheticModel,
    dial: NoteDial | None,
    findings: pd.DataFrame,
    clinical: pd.DataFrame,
    labels: pd.Series,
    n: int = 200_000,
    seed: int = 12345,
) -> dict:
    """The same Bayes rule as `rendered_oracle`, scored on one cohort's own patients: what the
    oracle reaches on *these* labels, findings and notes. A cohort of a few hundred patients is
    one draw; its oracle differs from the population's by a few hundredths, and a model fitted
    on it is held to this one.

    Args:
        model: the generating model.
        dial: what the cohort's notes reveal (None: the built notes).
        findings: the cohort's findings.csv (index id).
        clinical: its clinical table as the notes state it (rewritten by the dial, if any).
        labels: its labels.
        n: Monte Carlo patients to fit the note's reading on.
        seed: fixed.
    """
    _, _, _, (coef, noise), reads, rho = _note_model(model, dial, n, seed)
    ids = list(labels.index)
    reading = oracle.read_panel(oracle.panel_matrix(clinical.loc[ids]), coef)
    s = np.array([float(model.strengths.get(m, 0.0)) for m in MODALITIES])
    y = labels.to_numpy().astype(int)
    note = (reading, noise, reads, rho)
    return oracle.oracle_aucs(s, model.intercept, y, findings.loc[ids], note)


def _text_fields(z: np.ndarray, rng: np.random.Generator, real: pd.DataFrame) -> pd.DataFrame:
    """Clinical fields: the liver panel follows z_text, the rest is resampled from real PBC."""
    n = len(z)
    cols = {c: real[c].to_numpy()[rng.integers(len(real), size=n)] for c in TEXT_FIELDS}
    cols.update(_liver_panel(z, rng))
    return pd.DataFrame(cols)[list(TEXT_FIELDS)]


def _liver_panel(z: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The five liver-panel fields a note states, following the standard-normal factor `z`
    (the draws' order is part of the default cohort's bytes: keep it)."""
    n = len(z)
    noise = lambda s: s * rng.standard_normal(n)  # noqa: E731
    return {
        "bili": np.round(np.exp(0.3 + 0.9 * z + noise(0.3)), 1).clip(0.3, 28),
        "albumin": np.round(3.5 - 0.35 * z + noise(0.15), 2).clip(1.9, 4.8),
        "protime": np.round(10.7 + 0.8 * z + noise(0.4), 1).clip(9, 18),
        "copper": np.round(np.exp(4.0 + 0.6 * z + noise(0.4))).clip(4, 600),
        "platelet": np.round(260 - 40 * z + noise(50)).clip(60, 720),
    }


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


# ---------------------------------------------------------------- the note dial (chapter 10)
@dataclass(frozen=True)
class NoteDial:
    """How much of which latent factor a rewritten note reveals; labels, CT and radiomics stay.

    The note's liver panel follows w = (strength * z_reads + e) / sqrt(1 + strength^2), with e a
    standard-normal draw fixed per cohort seed (the same e at every setting, so that only the
    strength moves). w is standard normal at every strength, so the notes look alike; how much
    they say about z_reads is corr(w, z_reads) = strength / sqrt(1 + strength^2). `reads="text"`
    is complementary signal (the note's own factor, which no image shows); `reads="ct"` is
    redundant signal (the factor the CT already shows).

    Args:
        reads: the modality whose latent factor the note's liver panel follows.
        strength: s >= 0 in w above; 0 reveals nothing.
    """

    reads: str = "text"
    strength: float = 1.0

    def __post_init__(self) -> None:
        if self.reads not in MODALITIES:
            raise ValueError(f"reads={self.reads!r}: expected one of {MODALITIES}")
        if not self.strength >= 0:
            raise ValueError(f"strength={self.strength!r}: expected a number >= 0")

    @property
    def rho(self) -> float:
        """corr(w, z_reads): what the note reveals of its factor."""
        return float(self.strength / np.sqrt(1.0 + self.strength**2))

    def revealed(self, z: np.ndarray, e: np.ndarray) -> np.ndarray:
        """w of every patient from the latents `z` (n, 3) and the fixed noise `e` (n,)."""
        i = MODALITIES.index(self.reads)
        return (self.strength * z[:, i] + e) / np.sqrt(1.0 + self.strength**2)


def dial_clinical(clinical: pd.DataFrame, latents: pd.DataFrame, dial: NoteDial, seed: int):
    """The clinical table with its liver panel rewritten from the dial's w; every other field
    (and every other file of the cohort) is left as it was.

    Args:
        clinical: the cohort's clinical.csv (index id).
        latents: its latents.csv (z_ct, z_radiomics, z_text; index id, same patients).
        dial: which factor the note reads and how strongly.
        seed: the cohort's seed; fixes the noise e and the panel's measurement noise, the same
            at every setting.
    """
    z = latents.loc[clinical.index, [f"z_{m}" for m in MODALITIES]].to_numpy(dtype=float)
    rng = np.random.default_rng([int(seed), 20250])
    e = rng.standard_normal(len(z))
    out = clinical.copy()
    for name, values in _liver_panel(dial.revealed(z, e), rng).items():
        out[name] = values
    return out


def dial_oracle(model: SyntheticModel, dial: NoteDial, n: int = 200_000, seed: int = 12345):
    """Bayes AUCs of every modality and subset when the note follows the dial
    (`rendered_oracle`): `all`, `ct`, `radiomics`, `text`, `image`, and each pair.

    Args:
        model: the generating model (strengths, intercept).
        dial: what the note reveals.
        n: Monte Carlo patients.
        seed: fixed, so the oracle of a setting is one number.
    """
    return rendered_oracle(model, dial, n, seed)
