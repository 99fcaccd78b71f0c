"""The study's three regimes: what the note reveals, each regime's notes, inputs and folder.

A regime rewrites the notes' liver panel alone (`tmiclnet.data.synthetic.NoteDial`); labels,
CT volumes and radiomics are the built cohort's. Every regime draws its panel with the same
noise (the same seed), so two regimes' notes differ in the five panel lines only, and only by
the factor those lines follow and how strongly. The new notes' content key goes into the inputs'
`info`, so every model that reads them has its own fold keys.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from tmiclnet.config import Run
from tmiclnet.data.notes import write_note
from tmiclnet.data.render import stable_seed
from tmiclnet.data.synthetic import (
    NoteDial,
    SyntheticModel,
    dial_clinical,
    dial_oracle,
    sample_oracle,
)
from tmiclnet.inputs.features import CohortInputs

STUDY_DIR = "fusion"
# The note's liver panel in the clinical table and in the note's words (tmiclnet.data.notes).
PANEL = ("bili", "albumin", "protime", "copper", "platelet")
PANEL_WORDS = ("bilirubin", "Albumin", "Prothrombin", "copper", "Platelets")


@dataclass(frozen=True)
class Regime:
    """One regime: its name, what its note reveals, and what the design predicts.

    Args:
        name: `complementary`, `redundant` or `harmful`.
        dial: the factor the note's panel follows and how strongly.
        expect: the design's prediction, in words (checked against the oracle on the page).
    """

    name: str
    dial: NoteDial
    expect: str


REGIMES = (
    Regime(
        "complementary",
        NoteDial("text", 4.0),
        "the note reads z_text, which no image shows: fusion should beat every single modality",
    ),
    Regime(
        "redundant",
        NoteDial("ct", 4.0),
        "the note reads z_ct, which the image already shows: fusion should tie the image",
    ),
    Regime(
        "harmful",
        NoteDial("text", 0.25),
        "the note says little (corr 0.24 with z_text) through many inputs, learnt from a few "
        "hundred patients: fusion can lose what the extra inputs cost in variance",
    ),
)
BY_NAME = {r.name: r for r in REGIMES}


def oracle_table(model: SyntheticModel, regimes=REGIMES, cohort=None) -> pd.DataFrame:
    """Per regime, the Bayes AUC of the image, the note and both, and the oracle's fusion gain
    (both over the better single one): the prediction, made before any training, for the
    population. With `cohort`, the same on its own patients (`sample_oracle`: columns
    `image_here`, `note_here`, `all_here`, `gain_here`), the ceiling the trained models on this
    cohort are held to: a few hundred patients are one draw, whose oracle differs from the
    population's by a few hundredths.

    Args:
        model: the generating model (the cohort's cohort.json).
        regimes: the regimes to tabulate.
        cohort: the synthetic cohort (`tmiclnet.data.cohort.load`), or None.
    """
    rows = []
    for r in regimes:
        o = dial_oracle(model, r.dial)
        row = {
            "regime": r.name,
            "reads": r.dial.reads,
            "strength": r.dial.strength,
            "rho": round(r.dial.rho, 3),
            "image": o["image"],
            "note": o["text"],
            "all": o["all"],
            "gain": round(o["all"] - max(o["image"], o["text"]), 4),
        }
        if cohort is not None:
            h = _here(model, r, cohort)
            row |= {"image_here": h["image"], "note_here": h["text"], "all_here": h["all"]}
            row["gain_here"] = round(h["all"] - max(h["image"], h["text"]), 4)
        rows.append(row)
    return pd.DataFrame(rows).set_index("regime")


def _here(model: SyntheticModel, regime: Regime, cohort) -> dict:
    """`sample_oracle` of the regime on the cohort's own patients."""
    findings = pd.read_csv(Path(cohort.root) / "findings.csv", dtype={"id": str}).set_index("id")
    labels = cohort.labels.loc[list(cohort.ids)]
    clinical = regime_clinical(cohort, regime)
    return sample_oracle(model, regime.dial, findings, clinical, labels)


def regime_clinical(cohort, regime: Regime) -> pd.DataFrame:
    """The clinical table under the regime: the liver panel rewritten, every other field kept.

    Args:
        cohort: the synthetic cohort (`tmiclnet.data.cohort.load`); needs its latents.csv.
        regime: the regime.
    """
    path = Path(cohort.root) / "latents.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; the fusion study needs the synthetic cohort")
    latents = pd.read_csv(path, dtype={"id": str}).set_index("id")
    return dial_clinical(cohort.clinical, latents, regime.dial, int(cohort.manifest.get("seed", 0)))


def regime_notes(cohort, regime: Regime) -> dict[str, str]:
    """Every patient's note under the regime: the liver panel rewritten, everything else
    (wording, history, the other labs) as the build wrote it (the same writer and seeds).

    Args:
        cohort: the synthetic cohort.
        regime: the regime.
    """
    seed = int(cohort.manifest.get("seed", 0))
    table = regime_clinical(cohort, regime)
    return {
        pid: write_note(row.to_dict(), stable_seed(pid, seed, "note"))
        for pid, row in table.iterrows()
    }


@dataclass
class _NotesCohort:
    """What `tmiclnet.text.text_inputs` reads of a cohort, with the regime's notes."""

    ids: list[str]
    texts: dict[str, str]
    name: str

    def note(self, pid: str) -> str:
        return self.texts[pid]


def regime_inputs(base: CohortInputs, cohort, regime: Regime, run: Run) -> CohortInputs:
    """The base inputs with the text tokens of the regime's notes (radiomics and labels are the
    very tensors of `base`); `info` carries the new notes' content key.

    Args:
        base: the cohort's inputs as built (`load_inputs`).
        cohort: that cohort.
        regime: the regime.
        run: its profile sets how the notes are encoded.
    """
    from tmiclnet.text import text_inputs

    notes = _NotesCohort(list(cohort.ids), regime_notes(cohort, regime), cohort.name)
    text, info = text_inputs(notes, run.profile)
    return replace(base, text=text, info={**base.info, **info})


def regime_dir(results_dir: str | Path, regime: Regime) -> Path:
    """`<results_dir>/fusion/<regime>`: one regime's results folder.

    Args:
        results_dir: the results root (`tmiclnet.results.results_root`).
        regime: the regime.
    """
    return Path(results_dir) / STUDY_DIR / regime.name
