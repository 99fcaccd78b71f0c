"""Cox-trained models on every patient, censored included, in the binary models' folds.

For each repeat whose binary cross-validation was trained, the patients censored before the
horizon (the companion folder, `tmiclnet.data.censored`) join the binary folds
(`tmiclnet.inputs.survival.add_censored`); a Cox-trained variant (`tmiclnet.models.cox`) of a
catalogue model learns each fold from all its non-test patients, with follow-up time and death
from the PBC table, and predicts the fold's test patients, censored ones too. Same test patients
as its binary version in every fold, so their C-indices pair.

The fusion models read the CT tokens of the binary run's CT-only model of the same fold (the
in-fold tokens, which every patient's test tokens are anyway): the Cox variant changes the loss
and the patients, not the CT encoder. Results go to the survival folder of the results store
(`tmiclnet.train.risks.survival_dir`), apart from the binary ones.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from tmiclnet import results
from tmiclnet.config import Run
from tmiclnet.inputs.features import fold_inputs
from tmiclnet.inputs.folds import repeat_seed
from tmiclnet.inputs.survival import SurvivalInputs, add_censored, survival_inputs, survival_split
from tmiclnet.models.catalogue import cox_name, ct_only_name
from tmiclnet.provenance import atomic_write_text
from tmiclnet.train.ct_tokens import extract_ct_tokens
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, ct_plan, make_job, needed_modalities
from tmiclnet.train.risks import survival_dir, survival_folds_path
from tmiclnet.train.schedule import train_jobs


def all_ct_tokens(
    binary_dir: Path, cohort_name: str, k: int, data: SurvivalInputs, run: Run
) -> tuple[torch.Tensor, str]:
    """Every patient's CT tokens from fold k's CT-only encoder of the binary run, and their tag
    (the one the binary fusion models' keys carry). The cohort's come from the cached
    ct_tokens.pt when it is there; the companion's are made from the saved encoder."""
    folder = results.fold_dir(binary_dir, cohort_name, ct_only_name(), k)
    done = results.read_done(folder)
    if done is None:
        raise FileNotFoundError(f"{folder}: not trained; train the binary models first")
    model, _ = results.load_model(folder, run.device)
    ct = data.inputs.ct
    cached = results.read_ct_tokens(folder, done.key)
    if cached is None or len(cached) != data.n_main:
        cached = extract_ct_tokens(model, ct[: data.n_main], run.device)
    extra = extract_ct_tokens(model, ct[data.n_main :], run.device)
    return torch.cat([cached, extra]), f"ct_tokens:{done.key[:16]}"


def run_survival_cv(
    data_dir: str | Path,
    cohort_name: str,
    bases: list[str],
    run: Run,
    repeats: list[int],
    retrain: bool = False,
    results_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Train the Cox-trained variants of `bases` on every fold of each repeat; one row per
    (repeat, model, fold) with train_fold's columns.

    Used by notebook 09b (survival).

    Args:
        data_dir: the folder holding the cohort and its companion.
        cohort_name: the cohort's name (``pbc``).
        bases: catalogue models whose Cox variant to train (`tmiclnet.models.catalogue.cox_name`).
        run: profile, data folder, seed and device.
        repeats: the repeats, each of which needs its binary run trained first.
        retrain: train even where a finished fold with the same key exists.
        results_dir: the results folder (default `<data_dir>/results`).
    """
    root = Path(results_dir) if results_dir else results.results_root(data_dir)
    models = [cox_name(b) for b in bases]
    data = survival_inputs(data_dir, cohort_name, run, needed_modalities(run.profile, models))
    surv = {
        "surv_time": torch.tensor(data.follow_up["time"].to_numpy(float), dtype=torch.float32),
        "surv_event": torch.tensor(data.follow_up["event"].to_numpy(bool)),
    }
    cached, ct_name, _ = ct_plan(run.profile, models)
    frames = []
    for r in repeats:
        binary_dir = results.run_dir(root, r)
        binary = results.read_folds(binary_dir, cohort_name)
        seed = repeat_seed(run.seed, r)
        events = data.follow_up["event"].iloc[data.n_main :]
        table = add_censored(binary, events, run.profile.folds, seed)
        out_dir = results.run_dir(survival_dir(root), r)
        path = survival_folds_path(out_dir, cohort_name)
        atomic_write_text(path, table.to_csv(index=False, lineterminator="\n"))
        ctx = JobContext(
            data.inputs, cohort_name, cached, ct_name, run.replace(seed=seed), out_dir, SINGLE,
            retrain,
        )  # fmt: skip
        jobs = []
        for k in sorted(binary["fold"].unique()):
            part = survival_split(binary, table, int(k), run.profile.val_fraction, seed)
            fin = fold_inputs(data.inputs, part, run.profile)
            fin.data.inputs.update(surv)
            tokens, source = None, "volumes"
            if cached:
                tokens, source = all_ct_tokens(binary_dir, cohort_name, int(k), data, run)
            jobs += [make_job(m, int(k), fin, tokens, source, ctx) for m in models]
        rows = train_jobs(jobs, ctx.run, desc=f"{cohort_name} Cox, repeat {r}")
        frames.append(pd.DataFrame(rows).assign(repeat=r))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
