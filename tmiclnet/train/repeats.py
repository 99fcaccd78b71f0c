"""Repeated cross-validation of the comparison the book's conclusion rests on.

One 5-fold split of ~300 patients gives fold AUCs with an sd near 0.05, while most differences
between models are 0.00-0.03: a ranking read off one split is mostly the split. Repeat r >= 1 of
the cross-validation draws new stratified folds with seed `run.seed + r`
(`tmiclnet.inputs.folds.repeat_seed`) and trains only `COMPARISON_MODELS` on them, each repeat
in its own results folder (`tmiclnet.results.repeat_dir`). Repeat 0 is the main run of the whole
catalogue (`run_cv`), read as it is. `tmiclnet.evaluate.repeats` scores the classical references
on the same folds and turns the repeats into mean AUCs, paired intervals and ranks.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from tmiclnet import results
from tmiclnet.config import Run
from tmiclnet.train.cv import run_cv

# TMI-CLNet (tokens), the unimodal models (so that the best of them is chosen from data; ct_only
# also makes the CT tokens), the naive fusions and the three ablations (without IMA, TCAF or the
# TMFF loss), so that each ablation's change carries the variation between splits too.
COMPARISON_MODELS = (
    "tmiclnet_tokens",
    "ct_only",
    "radiomics_only",
    "text_only",
    "early_fusion",
    "late_fusion",
    "no_ima",
    "no_tcaf",
    "no_tmff",
)


def run_repeats(
    cohort_path: str | Path,
    run: Run,
    models: list[str] | tuple[str, ...] = COMPARISON_MODELS,
    repeats: list[int] | None = None,
    retrain: bool = False,
    results_dir: str | Path | None = None,
    permute_labels: int | None = None,
) -> pd.DataFrame:
    """Train `models` on each repeat of the cross-validation (the classical references are
    scored on the same folds by evaluation, `tmiclnet.evaluate.repeats.evaluate_repeats`).

    Returns one row per (repeat, model, fold) with run_cv's columns, a `repeat` column and the
    repeat's wall seconds (`repeat_seconds`, the same on each row of a repeat).

    Used by notebook 08 (training).

    Args:
        cohort_path: the cohort folder (`tmiclnet.data.cohort.load` reads it).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        models: catalogue names; default `COMPARISON_MODELS`.
        repeats: which repeats to run; default 1 .. profile.cv_repeats - 1 (repeat 0 is the main
            run of the whole catalogue, trained by `run_cv` before this).
        retrain: train even where a finished fold with the same key exists.
        results_dir: the results folder (default `<run.data_dir>/results`); each repeat writes
            under `tmiclnet.results.run_dir` of it.
        permute_labels: a seed to run on permuted labels (a pipeline check), None for the real.
    """
    root = Path(results_dir) if results_dir else results.results_root(run.data_dir)
    todo = list(range(1, run.profile.cv_repeats)) if repeats is None else list(repeats)
    frames = []
    for r in tqdm(todo, desc=f"repeats of {Path(cohort_path).name}", unit="repeat"):
        start = time.perf_counter()
        rows = run_cv(cohort_path, list(models), run, retrain, root, None, repeat=r,
                      permute_labels=permute_labels)  # fmt: skip
        frames.append(rows.assign(repeat=r, repeat_seconds=round(time.perf_counter() - start, 1)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
