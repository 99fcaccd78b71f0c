"""Cross-validation of catalogue models: same folds for all, results saved per (model, fold).

For each fold the inputs are assembled once (radiomics scaled on that fold's training rows), then
each model is built, trained with early stopping on the validation split, and its validation and
test predictions, threshold (Youden's J on validation), history, checkpoint and done.json are
written (`tmiclnet.train.fold`, into the results store `tmiclnet.results`), on the schedule
that `tmiclnet.train.schedule.train_folds` chooses. A (model, fold) whose done.json carries the
same config hash is skipped, unless `retrain`. With `CtStrategy.CACHED` (`Profile.ct_strategy`)
the CT encoder is trained once per fold (the CT-only model) and its feature-map tokens feed every
other model that sees CT (`tmiclnet.train.ct_tokens`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.config import Run
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.features import CohortInputs, fold_inputs, load_inputs
from tmiclnet.inputs.permute import permute_inputs
from tmiclnet.models.catalogue import BY_NAME
from tmiclnet.train.ddp import SINGLE, World
from tmiclnet.train.jobs import JobContext, ct_plan, needed_modalities
from tmiclnet.train.schedule import train_folds


def run_cv(
    cohort_path: str | Path,
    models: list[str],
    run: Run,
    retrain: bool = False,
    results_dir: str | Path | None = None,
    folds: list[int] | None = None,
    world: World = SINGLE,
    repeat: int = 0,
    permute_labels: int | None = None,
) -> pd.DataFrame:
    """Train catalogue models on every fold of a cohort; one summary row per (model, fold).

    Args:
        cohort_path: the cohort folder (`tmiclnet.data.cohort.load` reads it).
        models: catalogue names (`tmiclnet.models.catalogue()`).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        retrain: train even where a finished fold with the same key exists.
        results_dir: where results go (default `<run.data_dir>/results`).
        folds: fold indices to train (default: all of the profile's folds).
        world: this process's rank under torchrun (DDP); single-process by default.
        repeat: the cross-validation repeat (`cross_validate`); 0 is the main run.
        permute_labels: a seed to run on permuted labels (`cross_validate`), None for the real.
    """
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    results_dir = Path(results_dir) if results_dir else results.results_root(run.data_dir)
    unknown = [m for m in models if m not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; the catalogue has {sorted(BY_NAME)}")
    inputs = load_inputs(cohort, run.profile, needed_modalities(run.profile, models))
    return cross_validate(
        inputs, cohort.name, cohort.labels, models, run, results_dir, retrain, folds, world,
        repeat, permute_labels,
    )  # fmt: skip


def cross_validate(
    inputs: CohortInputs,
    cohort_name: str,
    labels: pd.Series,
    models: list[str],
    run: Run,
    results_dir: str | Path,
    retrain: bool = False,
    folds: list[int] | None = None,
    world: World = SINGLE,
    repeat: int = 0,
    permute_labels: int | None = None,
) -> pd.DataFrame:
    """The CV loop on inputs already assembled (run_cv's body; tests call it on toy inputs).

    Repeat r >= 1 draws its folds, validation splits and training seeds with seed run.seed + r
    and writes under `results.repeat_dir`; repeat 0 is the main run, unchanged. With
    `permute_labels` the labels are shuffled (`tmiclnet.inputs.permute`) and everything goes under
    `results.permuted_dir` instead.
    """
    results_dir = results.run_dir(results_dir, repeat, permute_labels)
    if permute_labels is not None:
        inputs, labels = permute_inputs(inputs, labels, permute_labels)
    run = run.replace(seed=folds_mod.repeat_seed(run.seed, repeat))
    cached, ct_name, order = ct_plan(run.profile, models)
    table = folds_mod.load_or_make_folds(
        results.folds_path(results_dir, cohort_name), labels, run.profile.folds, run.seed
    )
    ctx = JobContext(inputs, cohort_name, cached, ct_name, run, results_dir, world, retrain)
    fins = []
    for k in folds if folds is not None else range(run.profile.folds):
        split = folds_mod.split(table, k, run.profile.val_fraction, run.seed)
        fins.append((k, fold_inputs(inputs, split, run.profile)))
    rows = train_folds(fins, order, ctx, desc=cohort_name)
    return pd.DataFrame([{**row, "requested": row["model"] in models} for row in rows])
