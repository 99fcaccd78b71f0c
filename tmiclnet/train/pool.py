"""One pool of single-threaded workers for every (model, fold) job of a cross-validation.

The per-fold schedule trains a fold's CT-only model in the main process (two threads, which a
shared 2-core machine serves badly: one descheduled thread stalls the other at every barrier) and
then that fold's other models two at a time, leaving a core idle at every fold's tail. Here the
CT-only models of all folds go first into the pool, and as soon as one finishes (its tokens made
in the same worker) that fold's other models join the queue, largest first. Each job is the same
call with the same seeds as before, single-threaded, so its results do not depend on which worker
ran it or when.
"""

from __future__ import annotations

import concurrent.futures as cf

import torch
from tqdm.auto import tqdm

from tmiclnet.models.catalogue import modalities_of
from tmiclnet.train import cv
from tmiclnet.train.features import FoldInputs
from tmiclnet.train.fold import FoldJob, train_fold


def _ct_in_worker(job: FoldJob) -> tuple[dict, torch.Tensor, str]:
    """Train the CT-only model of one fold and make its tokens, single-threaded."""
    torch.set_num_threads(1)
    return cv.train_ct_only(job)


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

    for k, fin in fins:
        if not ctx.cached:
            submit_others(k, None, "volumes")
            continue
        job = cv.make_job(ctx.ct_name, k, fin, None, "volumes", ctx)
        if job.pending():
            running[pool.submit(_ct_in_worker, job)] = (k, ctx.ct_name)
        else:
            rows[(k, ctx.ct_name)], tokens, source = cv.train_ct_only(job)
            bar.update(1)
            submit_others(k, tokens, source)
    while running:
        finished, _ = cf.wait(list(running), return_when=cf.FIRST_COMPLETED)
        for future in finished:
            k, name = running.pop(future)
            result = future.result()
            bar.update(1)
            if ctx.cached and name == ctx.ct_name:
                rows[(k, name)] = result[0]
                submit_others(k, result[1], result[2])
            else:
                rows[(k, name)] = result
    bar.close()
    return [rows[(k, name)] for k, _ in fins for name in order]
