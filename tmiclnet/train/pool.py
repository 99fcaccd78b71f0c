"""One pool of single-threaded workers for every (model, fold) job of a cross-validation.

The per-fold schedule trains a fold's CT-only model in the main process (two threads, which a
shared 2-core machine serves badly: one descheduled thread stalls the other at every barrier) and
then that fold's other models two at a time, leaving a core idle at every fold's tail. Here the
CT encoders of all folds go first into the pool (the CT-only model, and its two half-encoders
when tokens are cross-fitted, tmiclnet.train.crossfit), and as soon as a fold's are all finished
(their tokens made in the same workers) that fold's other models join the queue, largest first.
Each job is the same call with the same seeds as before, single-threaded, so its results do not
depend on which worker ran it or when.
"""

from __future__ import annotations

import concurrent.futures as cf

import torch
from tqdm.auto import tqdm

from tmiclnet.models.catalogue import modalities_of
from tmiclnet.train import crossfit, cv
from tmiclnet.train.features import FoldInputs
from tmiclnet.train.fold import FoldJob, train_fold


def _ct_in_worker(part: str, job: FoldJob) -> tuple[dict, torch.Tensor, str]:
    """Train one CT encoder of one fold (the CT-only model or a half) and make its tokens,
    single-threaded."""
    torch.set_num_threads(1)
    return crossfit.train_ct_part(part, job)


def _executor(n_workers: int):
    """joblib's reusable loky pool, one thread per worker. joblib's own factory, not loky's: the
    pool is a process-wide singleton that joblib.Parallel (the per-fold schedule) reuses."""
    from joblib.executor import get_memmapping_executor

    env = {v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    return get_memmapping_executor(n_workers, env=env)


def train_pooled(
    fins: list[tuple[int, FoldInputs]],
    order: list[str],
    ctx: cv.JobContext,
    n_workers: int,
    desc: str = "",
) -> list[dict]:
    """train_fold's rows for every model of every fold, in the per-fold schedule's order.

    Args:
        fins: (fold index, that fold's inputs) for each fold to train.
        order: model names, the CT-only model first when its tokens are cached.
        ctx: what the jobs share (cv.JobContext).
        n_workers: processes training at once.
        desc: progress bar label.
    """
    pool, rows, running = _executor(n_workers), {}, {}
    by_fold = dict(fins)
    others = sorted(
        (n for n in order if not (ctx.cached and n == ctx.ct_name)),
        key=lambda n: -len(modalities_of(n)),  # the three-modality models are the slowest: first
    )
    bar = tqdm(total=len(fins) * len(order), desc=f"{desc} (pooled)", unit="model")

    def submit_others(k: int, tokens, source: str) -> None:
        for name in others:
            job = cv.make_job(name, k, by_fold[k], tokens, source, ctx)
            if job.pending():
                running[pool.submit(cv._train_in_worker, job)] = (k, name)
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
        ct_jobs[k] = crossfit.ct_jobs(cv.make_job(ctx.ct_name, k, fin, None, "volumes", ctx), ctx)
        ct_done[k] = {}
        for part, job in ct_jobs[k].items():
            if job.pending():
                running[pool.submit(_ct_in_worker, part, job)] = (k, part)
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
