"""The CT encoder's peak learning rate, chosen on validation patients only.

At the shared peak rate of 1e-3 the CT-only model's training sometimes dies: at the top of the
one-cycle schedule its training loss climbs back to the prior's and the network it keeps gives
every patient nearly the same probability. Its validation AUC can still look fine (a ranking of
near-ties), so the smoothed-AUC selection does not catch it; its test AUC is then near 0.5 and
its tokens carry nothing to the fusion models.

`train_variant` trains the CT-only model again on the repeated cross-validation's own folds with
another peak rate and another training seed (`run.seed + r + SEED_STRIDE * offset`, the seeds
study's stride), in a store of its own under `<data_dir>/studies/ct_lr/`. `validation_rows` then
reads what the choice may use, per cohort, rate and seed: the validation AUC at the kept epoch
and the folds whose kept model stopped ranking (validation probabilities with an sd below
`COLLAPSE_SD`). No test patient enters the choice; the record it makes is
`data/measured/ct_lr.csv`, shown on the training page.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from tmiclnet import results
from tmiclnet.config import Run
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.features import fold_inputs, load_inputs
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, ct_plan, needed_modalities
from tmiclnet.train.schedule import train_folds
from tmiclnet.train.seeds import SEED_STRIDE

# a kept model whose validation probabilities spread less than this no longer ranks patients: a
# trained CT-only model's spread by about 0.05 to 0.3 on the cpu cohorts
COLLAPSE_SD = 0.01
RECORD_WHAT = (
    "The CT-only model at each peak learning rate (Profile.ct_lr) and training seed offset, "
    "every other CT setting the cpu profile's, on the 3 repeats x 5 folds of the training page; "
    "validation patients only: the mean validation AUC at the kept epoch, and the folds whose kept "
    f"model gives its validation patients probabilities with an sd below {COLLAPSE_SD} (a training "
    "that died)."
)


def variant_store(data_dir: str | Path, lr: float, offset: int) -> Path:
    """`<data_dir>/studies/ct_lr/lr<lr>/seed<offset>`: one variant's results store.

    Args:
        data_dir: the run's data folder.
        lr: the CT encoder's peak learning rate.
        offset: the training seed's offset (>= 0).
    """
    if lr <= 0 or offset < 0:
        raise ValueError(f"lr {lr} and seed offset {offset}: need lr > 0 and offset >= 0")
    return Path(data_dir) / "studies" / "ct_lr" / f"lr{lr:g}" / f"seed{offset}"


def train_variant(
    cohort_path: str | Path, run: Run, lr: float, offset: int, repeats: list[int]
) -> Path:
    """Train the CT-only model on `repeats` of the main cross-validation's folds with peak rate
    `lr` and training seed offset `offset`; returns its store (`variant_store`). Finished folds
    with the same key are read, not trained again.

    Args:
        cohort_path: the cohort folder; its repeats' folds must exist (the training page's).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        lr: the CT encoder's peak learning rate (`Profile.ct_lr`).
        offset: the training seed's offset; the folds and validation splits stay the main run's.
        repeats: the cross-validation repeats to train on.
    """
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    main_runs = [results.run_dir(results.results_root(run.data_dir), r) for r in repeats]
    for r, main_run in zip(repeats, main_runs):
        if not results.folds_path(main_run, cohort.name).exists():
            raise FileNotFoundError(
                f"{results.folds_path(main_run, cohort.name)}: missing; train repeat {r} first "
                "(the training page)"
            )
    profile = dataclasses.replace(run.profile, ct_lr=lr)
    cached, ct_name, order = ct_plan(profile, ["ct_only"])
    inputs = load_inputs(cohort, profile, needed_modalities(profile, order))
    labels = cohort.labels.loc[cohort.ids].astype(int)
    store = variant_store(run.data_dir, lr, offset)
    for r, main_run in zip(repeats, main_runs):
        seed = folds_mod.repeat_seed(run.seed, r)
        main = results.folds_path(main_run, cohort.name)
        table = results.read_folds(main_run, cohort.name)
        where = results.run_dir(store, r)
        mine = folds_mod.load_or_make_folds(
            results.folds_path(where, cohort.name), labels, profile.folds, seed
        )
        if not mine.reset_index(drop=True).equals(table.reset_index(drop=True)):
            raise ValueError(f"{results.folds_path(where, cohort.name)}: not the folds of {main}")
        fins = [
            (k, fold_inputs(inputs, folds_mod.split(table, k, profile.val_fraction, seed), profile))
            for k in range(profile.folds)
        ]
        vrun = run.replace(profile=profile, seed=seed + SEED_STRIDE * offset)
        ctx = JobContext(inputs, cohort.name, cached, ct_name, vrun, where, SINGLE, False)
        train_folds(fins, order, ctx, desc=f"{cohort.name} lr {lr:g} seed {offset} repeat {r}")
    return store


def validation_rows(
    data_dir: str | Path, cohort: str, lr: float, offset: int, repeats: list[int]
) -> dict:
    """One variant's validation reading on one cohort: folds, mean validation AUC at the kept
    epoch, and the folds whose kept model stopped ranking (`COLLAPSE_SD`).

    Args:
        data_dir: the run's data folder.
        cohort: the cohort's name, e.g. ``pbc``.
        lr: the variant's peak learning rate.
        offset: its training seed offset.
        repeats: the repeats it was trained on.
    """
    aucs, collapsed = [], 0
    for r in repeats:
        where = results.run_dir(variant_store(data_dir, lr, offset), r)
        preds = results.load_predictions(where, cohort, "ct_only")
        for _, fold in preds[preds["split"] == "val"].groupby("fold"):
            aucs.append(roc_auc_score(fold["label"], fold["prob"]))
            collapsed += int(fold["prob"].std() < COLLAPSE_SD)
    return {
        "cohort": cohort, "peak lr": f"{lr:g}", "seed offset": offset, "folds": len(aucs),
        "val AUC kept": round(float(pd.Series(aucs).mean()), 3), "collapsed folds": collapsed,
    }  # fmt: skip
