"""Cross-validation of catalogue models: same folds for all, results saved per (model, fold).

For each fold the inputs are assembled once (radiomics scaled on that fold's training rows), then
each model is built, trained with early stopping on the validation split, and its validation and
test predictions, threshold (Youden's J on validation), history, checkpoint and done.json are
written (`tmiclnet.train.fold`, into the results store `tmiclnet.results`). A (model, fold) whose
done.json carries the same config hash is skipped, unless `retrain`. With
`profile.ct_strategy == "cached"` the CT encoder is trained once per fold (the CT-only model) and
its feature-map tokens feed every other model that sees CT (`tmiclnet.train.ct_tokens`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd
import torch

from tmiclnet import results
from tmiclnet.config import Run
from tmiclnet.models.catalogue import BY_NAME, ct_only_name, modalities_of
from tmiclnet.train import crossfit
from tmiclnet.train import folds as folds_mod
from tmiclnet.train.ddp import SINGLE, World
from tmiclnet.train.features import CohortInputs, FoldInputs, fold_inputs, load_inputs
from tmiclnet.train.fold import FoldJob, build_config, fold_key, train_fold


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
    want = set().union(*(modalities_of(m) for m in models))
    if "ct" in want and run.profile.ct_strategy == "cached":
        want |= set(modalities_of(ct_only_name()))
    inputs = load_inputs(cohort, run.profile, want)
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
    `permute_labels` the labels are shuffled (`tmiclnet.train.permute`) and everything goes under
    `results.permuted_dir` instead.
    """
    results_dir = results.run_dir(results_dir, repeat, permute_labels)
    if permute_labels is not None:
        from tmiclnet.train.permute import permute_inputs

        inputs, labels = permute_inputs(inputs, labels, permute_labels)
    run = run.replace(seed=folds_mod.repeat_seed(run.seed, repeat))
    cached = run.profile.ct_strategy == "cached" and any("ct" in modalities_of(m) for m in models)
    ct_name = ct_only_name() if cached else None
    order = ([ct_name] if cached else []) + [m for m in models if m != ct_name]
    table = folds_mod.load_or_make_folds(
        results.folds_path(results_dir, cohort_name), labels, run.profile.folds, run.seed
    )
    ctx = JobContext(inputs, cohort_name, cached, ct_name, run, results_dir, world, retrain)
    fins = []
    for k in folds if folds is not None else range(run.profile.folds):
        split = folds_mod.split(table, k, run.profile.val_fraction, run.seed)
        fins.append((k, fold_inputs(inputs, split, run.profile)))
    if pooled(run, world):
        from tmiclnet.train.pool import train_pooled

        rows = train_pooled(fins, order, ctx, parallel_jobs(run, world, 2), desc=cohort_name)
    else:
        rows = [row for k, fin in fins for row in _train_fold_models(k, fin, order, ctx)]
    return pd.DataFrame([{**row, "requested": row["model"] in models} for row in rows])


class JobContext(NamedTuple):
    """What every (model, fold) job of one cross_validate call shares."""

    inputs: CohortInputs
    cohort_name: str
    cached: bool  # fusion models read the CT-only model's cached tokens
    ct_name: str | None  # that CT-only model
    run: Run
    results_dir: Path
    world: World
    retrain: bool


def make_job(
    name: str, k: int, fin: FoldInputs, ct_tokens: torch.Tensor | None, ct_source: str, ctx
) -> FoldJob:
    """The job of model `name` on fold `k` (CT models read `ct_tokens` when they are cached)."""
    mods = modalities_of(name)
    use_tokens = ctx.cached and name != ctx.ct_name and "ct" in mods
    config = build_config(fin, ctx.inputs, ctx.run, use_ct_tokens=use_tokens)
    if use_tokens:
        config["ct_token_dim"] = int(ct_tokens.shape[-1])
    source = ct_source if use_tokens else "volumes"
    key = fold_key(name, config, fin, ctx.inputs, ctx.run, source)
    # the job carries this model's tensors only: fin.data holds every modality (the CT volumes
    # too), which a worker process would otherwise receive for every model
    data = fin.data.for_model(mods, ct_tokens if use_tokens else None)
    light = FoldInputs(data, fin.split, fin.rad_families, fin.rad_columns)
    folder = results.fold_dir(ctx.results_dir, ctx.cohort_name, name, k)
    return FoldJob(name, mods, config, light, ctx.run, folder, key, ctx.world, ctx.retrain)


def train_ct_only(job: FoldJob) -> tuple[dict, torch.Tensor, str]:
    """Train (or read) a fold's CT-only model: (its summary row, every patient's CT tokens,
    their source tag). The fusion models read `crossfit.fold_tokens` of all the fold's CT
    encoders (tmiclnet.train.crossfit), of which this is one."""
    return crossfit.train_ct_part(crossfit.FULL, job)


def _train_fold_models(k: int, fin: FoldInputs, order: list[str], ctx: JobContext) -> list[dict]:
    """The per-fold schedule: the CT-only model first, here, then the others of this fold."""
    rows, jobs = [], []
    ct_tokens, ct_source = None, "volumes"
    for name in order:
        job = make_job(name, k, fin, ct_tokens, ct_source, ctx)
        if name == ctx.ct_name:  # its tokens feed the others: train it (and its halves) here
            row, ct_tokens, ct_source = crossfit.train_ct_encoders(job, ctx)
            rows.append(row)
        else:
            jobs.append(job)
    return rows + _train_many(jobs, ctx.run, ctx.world, desc=f"{ctx.cohort_name} fold {k}")


def pooled(run: Run, world: World) -> bool:
    """Whether the folds' jobs share one pool of single-threaded workers (tmiclnet.train.pool):
    the profile asks for it and parallel_jobs allows more than one worker."""
    return run.profile.train_schedule == "pooled" and parallel_jobs(run, world, 2) > 1


def _train_in_worker(job: FoldJob) -> dict:
    """One (model, fold) in a joblib worker, single-threaded so that workers share the cores."""
    torch.set_num_threads(1)
    return train_fold(job)[0]


def parallel_jobs(run: Run, world: World, n_models: int) -> int:
    """How many models of a fold train at once: the profile's n_jobs on a CPU, else one.

    Small models use two CPU threads poorly; two single-threaded processes keep both cores
    busy. On a GPU, or under DDP, models train one after the other."""
    if run.device.type != "cpu" or world.size > 1 or n_models < 2:
        return 1
    return max(1, min(int(run.profile.n_jobs), n_models))


def _train_many(jobs: list[FoldJob], run: Run, world: World, desc: str) -> list[dict]:
    """Rows of train_fold for each job, in order; pending ones in parallel workers when
    parallel_jobs says so (done ones just read their results, here)."""
    n = parallel_jobs(run, world, len(jobs))
    if n == 1:
        return [train_fold(job)[0] for job in jobs]
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    todo = [i for i, job in enumerate(jobs) if job.pending()]
    rows = [None if i in todo else train_fold(job)[0] for i, job in enumerate(jobs)]
    trained = Parallel(n_jobs=n, return_as="generator")(
        delayed(_train_in_worker)(jobs[i]) for i in todo
    )
    for i, row in tqdm(zip(todo, trained), total=len(todo), desc=desc, unit="model"):
        rows[i] = row
    return rows
