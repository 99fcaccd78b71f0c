"""The schedules that train many (model, fold) jobs: the one public way to train a run's folds.

`train_folds` trains every model of every fold, with the CT-only model first in each fold when
its tokens feed the others, and chooses between two schedules with the same jobs and seeds:

- **pooled** (`Profile.train_schedule`, the CPU default): the CT encoders of all folds go first
  into one pool of single-threaded workers (the CT-only model, and its two half-encoders when
  tokens are cross-fitted, `tmiclnet.train.crossfit`); as soon as a fold's are all finished (their
  tokens made in the same workers) that fold's other models join the queue, largest first. A
  per-fold schedule on a shared 2-core machine leaves a core idle at every fold's tail.
- **per fold**: a fold's CT-only model in this process, then the fold's other models two at a
  time (`train_jobs`); also what a GPU or DDP run uses.

Each job is single-threaded in a worker, so its result does not depend on which worker ran it.
"""

from __future__ import annotations

import concurrent.futures as cf

from tqdm.auto import tqdm

from tmiclnet.config import Schedule
from tmiclnet.inputs.features import FoldInputs
from tmiclnet.models.catalogue import modalities_of
from tmiclnet.train import crossfit
from tmiclnet.train.ddp import SINGLE, World
from tmiclnet.train.fold import FoldJob, train_fold
from tmiclnet.train.jobs import (
    JobContext,
    ct_in_worker,
    executor,
    make_job,
    parallel_jobs,
    train_in_worker,
)
from tmiclnet.train.trained_on import write_records


def pooled(run, world: World = SINGLE) -> bool:
    """Whether a run's jobs share one pool of single-threaded workers: the profile asks for it
    and parallel_jobs allows more than one worker."""
    return run.profile.train_schedule is Schedule.POOLED and parallel_jobs(run, world, 2) > 1


def train_folds(
    fins: list[tuple[int, FoldInputs]], order: list[str], ctx: JobContext, desc: str = ""
) -> list[dict]:
    """train_fold's rows for every model of every fold (done ones read), in fold then `order`.

    Args:
        fins: (fold index, that fold's inputs) for each fold to train.
        order: model names, the CT-only model first when its tokens are cached
            (`tmiclnet.train.jobs.ct_plan`).
        ctx: what the jobs share.
        desc: progress bar label.
    """
    if pooled(ctx.run, ctx.world):
        rows = _train_pooled(fins, order, ctx, parallel_jobs(ctx.run, ctx.world, 2), desc)
    else:
        rows = [row for k, fin in fins for row in _train_fold_models(k, fin, order, ctx)]
    write_records(ctx, rows)  # what each fold was trained on, for evaluation to compare
    return rows


def train_jobs(jobs: list[FoldJob], run, world: World = SINGLE, desc: str = "") -> list[dict]:
    """Rows of train_fold for each job, in order; pending ones in parallel workers when
    parallel_jobs says so (done ones just read their results, here).

    Args:
        jobs: built with `tmiclnet.train.jobs.make_job`.
        run: the run (its device and profile decide how many at once).
        world: this process's rank under torchrun.
        desc: progress bar label.
    """
    n = parallel_jobs(run, world, len(jobs))
    if n == 1:
        return [train_fold(job)[0] for job in jobs]
    from joblib import Parallel, delayed

    todo = [i for i, job in enumerate(jobs) if job.pending()]
    rows = [None if i in todo else train_fold(job)[0] for i, job in enumerate(jobs)]
    trained = Parallel(n_jobs=n, return_as="generator")(
        delayed(train_in_worker)(jobs[i]) for i in todo
    )
    for i, row in tqdm(zip(todo, trained), total=len(todo), desc=desc, unit="model"):
        rows[i] = row
    return rows


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
    return rows + train_jobs(jobs, ctx.run, ctx.world, desc=f"{ctx.cohort_name} fold {k}")


def _train_pooled(
    fins: list[tuple[int, FoldInputs]], order: list[str], ctx: JobContext, n_workers: int, desc: str
) -> list[dict]:
    """The pooled schedule: rows for every model of every fold, in the per-fold schedule's order."""
    pool, rows, running = executor(n_workers), {}, {}
    by_fold = dict(fins)
    others = sorted(
        (n for n in order if not (ctx.cached and n == ctx.ct_name)),
        key=lambda n: -len(modalities_of(n)),  # the three-modality models are the slowest: first
    )
    bar = tqdm(total=len(fins) * len(order), desc=f"{desc} (pooled)", unit="model")

    def submit_others(k: int, tokens, source: str) -> None:
        for name in others:
            job = make_job(name, k, by_fold[k], tokens, source, ctx)
            if job.pending():
                running[pool.submit(train_in_worker, job)] = (k, name)
            else:
                rows[(k, name)] = train_fold(job)[0]
                bar.update(1)

    ct_jobs, ct_done = {}, {}  # per fold: its CT encoders' jobs, and those finished

    def ct_finished(k: int, part: str, result: tuple) -> None:
        ct_done[k][part] = result
        if part == crossfit.FULL:
            rows[(k, ctx.ct_name)] = result[0]
            bar.update(1)
        if len(ct_done[k]) == len(ct_jobs[k]):  # all of the fold's CT encoders: its tokens
            submit_others(k, *crossfit.fold_tokens(ct_jobs[k], ct_done[k]))

    for k, fin in fins:
        if not ctx.cached:
            submit_others(k, None, "volumes")
            continue
        ct_jobs[k] = crossfit.ct_jobs(make_job(ctx.ct_name, k, fin, None, "volumes", ctx), ctx)
        ct_done[k] = {}
        for part, job in ct_jobs[k].items():
            if job.pending():
                running[pool.submit(ct_in_worker, part, job)] = (k, part)
            else:
                ct_finished(k, part, crossfit.train_ct_part(part, job))
    while running:
        finished, _ = cf.wait(list(running), return_when=cf.FIRST_COMPLETED)
        for future in finished:
            k, name = running.pop(future)
            result = future.result()
            if ctx.cached and name in ct_jobs.get(k, {}):  # one of the fold's CT encoders
                ct_finished(k, name, result)
            else:
                rows[(k, name)] = result
                bar.update(1)
    bar.close()
    return [rows[(k, name)] for k, _ in fins for name in order]
