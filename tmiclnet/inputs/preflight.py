"""What a profile asks of a cohort before anything is trained: checked with training's own code.

The validator (`tmiclnet.data.validate`) checks the folder; what depends on the profile is checked
here, by making the folds and their validation splits exactly as training does
(`tmiclnet.inputs.folds`, seed 0: the class counts of every fold do not depend on the seed) and
looking at what each fold's training patients hold. A cohort that passes both is one that
`train` and `evaluate` can run on; one that does not gets a line naming the file, the field and
the reason, instead of a library's error from deep inside the split or the references.
"""

from __future__ import annotations

import math

import pandas as pd

from tmiclnet.config import Profile
from tmiclnet.data.problems import Problem
from tmiclnet.inputs import folds as folds_mod


def _split_reason(rest: pd.Series, val_fraction: float) -> str:
    """Why a stratified train/validation split of `rest` (the labels of a fold's training part)
    cannot be made, in its counts."""
    counts = rest.value_counts().reindex([0, 1], fill_value=0)
    n_val = math.ceil(val_fraction * len(rest))
    return (
        f"{len(rest)} training patients ({counts[0]} with label 0, {counts[1]} with label 1) "
        f"cannot be split {1 - val_fraction:.0%}/{val_fraction:.0%} into train and validation "
        f"({n_val} validation patient(s)) with both classes in each: each class needs at least 2 "
        "patients there and the validation part at least 2; add patients of the smaller class "
        "or use a profile with fewer folds"
    )


def fold_splits(
    labels: pd.Series, profile: Profile, column: str = "label"
) -> tuple[dict[int, folds_mod.FoldSplit], list[Problem]]:
    """({fold: its split}, problems): the profile's folds made as training makes them.

    Args:
        labels: the 0/1 labels (index id).
        profile: its `folds` and `val_fraction` are read.
        column: the label's column in labels.csv (for messages).
    """
    try:
        table = folds_mod.make_folds(labels, profile.folds, 0)
    except ValueError:
        counts = labels.value_counts().reindex([0, 1], fill_value=0).to_dict()
        reason = (
            f"{counts[0]} patient(s) with label 0 and {counts[1]} with label 1 cannot make "
            f"{profile.folds} stratified folds: each class needs at least {profile.folds}"
        )
        return {}, [Problem("labels.csv", column, reason)]
    splits, problems = {}, []
    for k in range(profile.folds):
        rest = table.loc[table["fold"] != k, "label"]
        try:
            split = folds_mod.split(table, k, profile.val_fraction, 0)
        except ValueError:
            reason = _split_reason(rest, profile.val_fraction)
            problems.append(Problem("labels.csv", column, f"fold {k}: {reason}"))
            continue
        val = labels.loc[split.val]
        if val.nunique() < 2:
            reason = f"fold {k}: its validation part has only label {int(val.iloc[0])}"
            problems.append(Problem("labels.csv", column, reason))
        splits[k] = split
    return splits, problems


def reference_problems(
    clinical: pd.DataFrame, schema, splits: dict[int, folds_mod.FoldSplit]
) -> list[Problem]:
    """The references can be fitted on every fold: the logistic regression has a predictor with
    a value among each fold's training patients, and every Mayo input has one.

    Args:
        clinical: the clinical table (index id).
        schema: the cohort's `tmiclnet.data.schema.Schema`.
        splits: the folds (`fold_splits`).
    """
    problems = []
    predictors = [c for c in schema.predictors() if c in clinical.columns]
    mayo = {k: c for k, c in (schema.mayo or {}).items() if c in clinical.columns}
    for k, split in splits.items():
        train = clinical.loc[[pid for pid in split.train if pid in clinical.index]]
        if predictors and not train[predictors].notna().any().any():
            problems.append(
                Problem(
                    "clinical.csv",
                    ",".join(predictors[:5]),
                    f"no value among fold {k}'s training patients: the logistic regression "
                    "cannot be fitted",
                )
            )
        for key, col in mayo.items():
            if not pd.to_numeric(train[col], errors="coerce").notna().any():
                problems.append(
                    Problem(
                        "clinical.csv",
                        col,
                        f"no value among fold {k}'s training patients: the Mayo score needs its "
                        f"{key} input (fill it in, or set references.mayo to null)",
                    )
                )
    return problems


def profile_problems(cohort, profile: Profile) -> list[Problem]:
    """Every problem training or evaluating the (valid) cohort under `profile` would meet.

    Args:
        cohort: a loaded cohort (`tmiclnet.data.cohort.load`): labels, clinical table, schema.
        profile: the profile the user will train with.
    """
    column = cohort.schema.label_column if cohort.schema else "label"
    splits, problems = fold_splits(cohort.labels, profile, column)
    if cohort.schema is not None:
        problems += reference_problems(cohort.clinical, cohort.schema, splits)
    return problems
