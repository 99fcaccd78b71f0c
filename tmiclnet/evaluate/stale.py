"""Saved networks made from another version of the cohort: found before any table is built.

After a user corrects their labels, or replaces masks or notes, the results folder still holds the
networks trained on the old files. Training would retrain them (their keys differ); evaluation
does not train, so it compares instead: the saved folds' labels (folds.csv) with labels.csv now,
and each fold's record of what it was trained on (`tmiclnet.train.trained_on`: the inputs'
content keys, the labels' digest) with the same keys computed for the cohort as it is now, by
training's own code (`tmiclnet.inputs.features.load_inputs`, which reads the caches when nothing
changed). Changed labels refuse the whole evaluation (the references would be refitted on labels
the networks never saw); a network whose inputs changed is set apart by name, with what changed
and how to retrain it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
from pathlib import Path
from typing import NamedTuple

from tmiclnet import results
from tmiclnet.config import PROFILES, get_profile
from tmiclnet.train.trained_on import folds_mismatch, labels_digest, read_record

# Which modality a content key belongs to, and how a message names what it covers.
MODALITY_OF_KEY = {"ct_key": "ct", "radiomics_key": "radiomics", "text_key": "text"}
WHAT_CHANGED = {
    "labels": "labels",
    "ct_key": "CT input (images, masks, or any file of a folder without cohort.json)",
    "radiomics_key": "radiomic features (images or masks)",
    "text_key": "notes",
    "text_dim": "text model",
    "text_lines": "text settings",
    "text_fields": "value fields in the notes",
}
# keys that follow from the notes: when the notes changed, naming them too says nothing more
FOLLOW_NOTES = ("text_dim", "text_fields")


class Staleness(NamedTuple):
    """What evaluation must not compare: models set apart, and models it could not check."""

    set_apart: dict[str, str]  # model -> what changed since it was trained
    unchecked: list[str]  # models with folds trained before records were kept
    profile: str | None = None  # the profile the set-apart folds were trained with


def labels_changed(cohort, results_dir: str | os.PathLike) -> str | None:
    """Why the saved folds cannot be evaluated against the cohort's labels now, or None.

    Args:
        cohort: the loaded cohort (`tmiclnet.data.cohort.load`).
        results_dir: the results folder holding `<cohort>/folds.csv`.
    """
    path = results.folds_path(results_dir, cohort.name)
    if not path.exists():
        return None
    why = folds_mismatch(results.read_folds(results_dir, cohort.name), cohort.labels)
    return f"{path}: label: the saved results were trained on {why}" if why else None


def _current_keys(cohort, saved: dict, cache: dict) -> dict:
    """The content keys training would compute now, under the fold's recorded profile."""
    from tmiclnet.inputs.features import load_inputs

    mods = {MODALITY_OF_KEY[k] for k in saved["inputs"] if k in MODALITY_OF_KEY}
    ident = (saved["profile"], saved["radiomics_params"], tuple(sorted(mods)))
    if ident not in cache:
        profile = dataclasses.replace(
            get_profile(saved["profile"]), radiomics_params=saved["radiomics_params"]
        )
        # quietly: progress bars would bury the one line that says what changed
        with contextlib.redirect_stderr(io.StringIO()):
            cache[ident] = load_inputs(cohort, profile, mods).info
    return cache[ident]


def fold_changes(cohort, saved: dict, cache: dict) -> list[str]:
    """What differs between a fold's record and the cohort now (WHAT_CHANGED's keys).

    Args:
        cohort: the loaded cohort.
        saved: the fold's record (`tmiclnet.train.trained_on.read_record`).
        cache: keys already computed, shared by the folds of one evaluation.
    """
    now = {"labels": labels_digest(cohort.ids, cohort.labels.loc[cohort.ids].tolist())}
    now |= _current_keys(cohort, saved, cache)
    then = {"labels": saved["labels"], **saved["inputs"]}
    changed = [k for k in then if then[k] != now.get(k)]
    if "text_key" in changed:
        changed = [k for k in changed if k not in FOLLOW_NOTES]
    return changed


def check(cohort, results_dir: str | os.PathLike, networks: list[str]) -> Staleness:
    """Which of `networks` were trained on other inputs or labels than the cohort has now.

    Args:
        cohort: the loaded cohort.
        results_dir: the results folder.
        networks: the saved catalogue models to check (not the references).
    """
    cache: dict = {}
    set_apart, unchecked, profiles = {}, [], []
    if networks:
        print("checking the saved networks against the cohort as it is now ...", flush=True)
    for model in networks:
        changed: dict[str, list[int]] = {}
        for k, folder in results.finished_folds(results_dir, cohort.name, model).items():
            saved = read_record(folder)
            if saved is None or saved.get("profile") not in PROFILES:
                unchecked.append(model)
                continue
            for key in fold_changes(cohort, saved, cache):
                changed.setdefault(key, []).append(k)
                profiles.append(saved["profile"])
        if changed:
            what = ", ".join(WHAT_CHANGED.get(key, key) for key in changed)
            folds = sorted({k for ks in changed.values() for k in ks})
            folds_text = ", ".join(map(str, folds))
            set_apart[model] = f"trained when the cohort had other {what} (fold(s) {folds_text})"
    return Staleness(set_apart, sorted(set(unchecked)), profiles[0] if profiles else None)


def retrain_command(cohort_root: Path, profile: str, models: list[str], results_dir: Path) -> str:
    """The command that trains `models` again on the cohort as it is now.

    Args:
        cohort_root: the cohort folder.
        profile: the profile to train with.
        models: the catalogue names.
        results_dir: the results folder.
    """
    return (
        f"python -m tmiclnet train --cohort {cohort_root} --profile {profile} "
        f"--model {','.join(models)} --results {results_dir}"
    )
