"""The dial's settings: what the note reveals, which folds run, and each setting's notes and inputs.

A setting changes the notes alone: its text tokens are made from the rewritten notes, and the CT,
radiomics and labels are the very tensors of the cohort as built. The new notes' content key
goes into the inputs' `info`, so every model that reads them has its own fold keys.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from tmiclnet.config import Run
from tmiclnet.data.notes import write_note
from tmiclnet.data.render import stable_seed
from tmiclnet.data.synthetic import NoteDial, dial_clinical
from tmiclnet.inputs.features import CohortInputs

STUDY_DIR = "fusion_dial"

# profile -> (complementary strengths, redundant strengths); strength 0 is one setting (a note
# that reveals nothing reads no factor), listed once under complementary
DIALS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "quick": ((0.0, 2.0), (2.0,)),
    "cpu": ((0.0, 1.0, 2.0), (2.0,)),
    "gpu": ((0.0, 0.5, 1.0, 2.0), (0.5, 1.0, 2.0)),
}


# profile -> how many of the training page's folds each setting trains (None: all of them). The
# cpu profile's 4 settings on all 5 folds cost more than this chapter's share of the book's budget;
# the first 3 folds keep every comparison paired (the same test patients for every model).
STUDY_FOLDS: dict[str, int | None] = {"quick": None, "cpu": 3, "gpu": None}


def folds_for(run: Run) -> list[int]:
    """The training page's folds a setting trains on this profile (`STUDY_FOLDS`).

    Args:
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
    """
    n = STUDY_FOLDS.get(run.profile.name) or run.profile.folds
    return list(range(min(n, run.profile.folds)))


def dials_for(profile: str) -> list[NoteDial]:
    """The settings a profile runs: the note reads its own factor (complementary) at each
    strength, then the CT's factor (redundant).

    Args:
        profile: a profile name (`quick` and `cpu` run 3 and 4 settings, `gpu` 7; the CT-only
            and radiomics-only models are trained once for all of them).
    """
    complementary, redundant = DIALS.get(profile, DIALS["cpu"])
    return [NoteDial("text", s) for s in complementary] + [NoteDial("ct", s) for s in redundant]


def slug(dial: NoteDial) -> str:
    """The setting's folder name, e.g. `text-1.5` (`none-0` for a note that reveals nothing).

    Args:
        dial: the setting.
    """
    return "none-0" if dial.strength == 0 else f"{dial.reads}-{dial.strength:g}"


def signal_kind(dial: NoteDial) -> str:
    """`complementary` (the note's own factor), `redundant` (an image's), `none` (strength 0).

    Args:
        dial: the setting.
    """
    if dial.strength == 0:
        return "none"
    return "complementary" if dial.reads == "text" else "redundant"


def setting_notes(cohort, dial: NoteDial) -> dict[str, str]:
    """Every patient's note under the dial: the liver panel rewritten, everything else (wording,
    history, the other labs) as the build wrote it (the same writer and per-patient seeds).

    Args:
        cohort: the synthetic cohort (`tmiclnet.data.cohort.load`); needs its latents.csv.
        dial: what the note reveals.
    """
    path = Path(cohort.root) / "latents.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; the note dial needs the synthetic cohort")
    latents = pd.read_csv(path, dtype={"id": str}).set_index("id")
    seed = int(cohort.manifest.get("seed", 0))
    table = dial_clinical(cohort.clinical, latents, dial, seed)
    return {
        pid: write_note(row.to_dict(), stable_seed(pid, seed, "note"))
        for pid, row in table.iterrows()
    }


@dataclass
class _NotesCohort:
    """What `tmiclnet.text.text_inputs` reads of a cohort, with the setting's notes."""

    ids: list[str]
    texts: dict[str, str]
    name: str

    def note(self, pid: str) -> str:
        return self.texts[pid]


def setting_inputs(base: CohortInputs, cohort, dial: NoteDial, run: Run) -> CohortInputs:
    """The base inputs with the text tokens of the setting's notes (CT, radiomics, labels are
    the very tensors of `base`); `info` carries the new notes' content key.

    Args:
        base: every modality's inputs of the cohort as built (`load_inputs`).
        cohort: that cohort.
        dial: the setting.
        run: its profile sets how the notes are encoded.
    """
    from tmiclnet.text import text_inputs

    notes = _NotesCohort(list(cohort.ids), setting_notes(cohort, dial), cohort.name)
    text, info = text_inputs(notes, run.profile)
    return replace(base, text=text, info={**base.info, **info})


def setting_dir(results_dir: str | Path, dial: NoteDial) -> Path:
    """`<results_dir>/fusion_dial/<slug>`: one setting's results folder (kept apart per setting).

    Args:
        results_dir: the results root (`tmiclnet.results.results_root`).
        dial: the setting.
    """
    return Path(results_dir) / STUDY_DIR / slug(dial)
