"""One (model, fold) job, and what runs it in a worker process.

A cross-validation, a repeat, the leakage study and the fusion study all train the same kind of
job: a catalogue model on one fold's inputs, keyed by its configuration, written into a results
folder. `make_job` builds it from what the jobs of one run share (`JobContext`); the schedules
that run many of them are in `tmiclnet.train.schedule`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch

from tmiclnet import results
from tmiclnet.config import CtStrategy, Profile, Run
from tmiclnet.inputs.features import CohortInputs, FoldInputs
from tmiclnet.models.catalogue import ct_only_name, modalities_of
from tmiclnet.train import crossfit
from tmiclnet.train.ddp import World
from tmiclnet.train.fold import FoldJob, build_config, fold_key, train_fold


class JobContext(NamedTuple):
    """What every (model, fold) job of one run shares."""

    inputs: CohortInputs
    cohort_name: str
    cached: bool  # fusion models read the CT-only model's cached tokens
    ct_name: str | None  # that CT-only model
    run: Run
    results_dir: Path
    world: World
    retrain: bool


def ct_plan(profile: Profile, models: list[str]) -> tuple[bool, str | None, list[str]]:
    """(whether CT tokens are cached, the CT-only model that makes them, the training order).

    With cached tokens the CT-only model trains first in every fold: the others read its tokens.

    Args:
        profile: the profile (its `ct_strategy`).
        models: catalogue names to train.
    """
    cached = profile.ct_strategy is CtStrategy.CACHED and any(
        "ct" in modalities_of(m) for m in models
    )
    ct_name = ct_only_name() if cached else None
    order = ([ct_name] if cached else []) + [m for m in models if m != ct_name]
    return cached, ct_name, order


def needed_modalities(profile: Profile, models: list[str]) -> set[str]:
    """The modalities a run's inputs must hold: every model's, plus the CT-only model's when the
    CT tokens are cached (it makes them, so it trains too).

    Args:
        profile: the profile (its `ct_strategy`).
        models: catalogue names to train.
    """
    want = set().union(*(modalities_of(m) for m in models))
    if "ct" in want and profile.ct_strategy is CtStrategy.CACHED:
        want |= set(modalities_of(ct_only_name()))
    return want


def make_job(
    name: str,
    k: int,
    fin: FoldInputs,
    ct_tokens: torch.Tensor | None,
    ct_source: str,
    ctx: JobContext,
) -> FoldJob:
    """The job of model `name` on fold `k`.

    Args:
        name: catalogue name.
        k: fold index.
        fin: the fold's inputs (every modality).
        ct_tokens: every patient's cached CT tokens, read by CT models other than the CT-only one.
        ct_source: the tokens' source tag (part of the job's key).
        ctx: what the run's jobs share.
    """
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
    encoders (`tmiclnet.train.crossfit`), of which this is one."""
    return crossfit.train_ct_part(crossfit.FULL, job)


def train_in_worker(job: FoldJob) -> dict:
    """One (model, fold) in a worker process, single-threaded so that workers share the cores."""
    torch.set_num_threads(1)
    return train_fold(job)[0]


def ct_in_worker(part: str, job: FoldJob) -> tuple[dict, torch.Tensor, str]:
    """Train one CT encoder of one fold (the CT-only model or a half) and make its tokens,
    single-threaded."""
    torch.set_num_threads(1)
    return crossfit.train_ct_part(part, job)


def executor(n_workers: int):
    """joblib's reusable loky pool, one thread per worker. joblib's own factory, not loky's: the
    pool is a process-wide singleton that joblib.Parallel (the per-fold schedule) reuses."""
    from joblib.executor import get_memmapping_executor

    env = {v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    return get_memmapping_executor(n_workers, env=env)


def parallel_jobs(run: Run, world: World, n_models: int) -> int:
    """How many models train at once: the profile's n_jobs on a CPU, else one.

    Small models use two CPU threads poorly; two single-threaded processes keep both cores
    busy. On a GPU, or under DDP, models train one after the other."""
    if run.device.type != "cpu" or world.size > 1 or n_models < 2:
        return 1
    return max(1, min(int(run.profile.n_jobs), n_models))
