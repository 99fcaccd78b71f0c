"""Run-to-run variability: the same folds trained again with other training seeds.

A fold's AUC depends on its patients (which the fold-to-fold sd shows) and on the training run:
the initial weights, the order of the batches, dropout. On one machine and a CPU the run repeats
bit for bit (`tmiclnet.device.seed_everything`); on another processor the CPU kernels round
differently, and a network's training amplifies a difference in the last bit into another
trajectory, so a re-run there lands elsewhere, as a run with another seed does. Another seed is
the larger perturbation of the two, so its spread bounds how far a re-run may move a number.

`train_seeds` trains a few models on a few folds of the main run's split with seed offsets
s = 0, 1, ...: the folds and the validation split stay those of the main run (`run.seed`); only
the training seed moves, to `run.seed + SEED_STRIDE * s` (+ the fold, as in every run).
Offset 0 *is* the main run: its jobs have the main run's keys and its folder is the main results
store, so the training page's folds are read, not trained again. The other offsets write under
`<data_dir>/studies/seeds/seed<s>/`, never into `results/`. The CT-only model whose tokens feed a
fusion model is trained again with each seed too, as a re-run would. `tmiclnet.evaluate.seeds`
turns the predictions into the spread over seeds beside the spread over folds.
"""

from __future__ import annotations

from pathlib import Path

from tmiclnet import results
from tmiclnet.config import Run
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.features import fold_inputs, load_inputs
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, ct_plan, needed_modalities
from tmiclnet.train.schedule import train_folds

# the cheap model and the fusion model the book's conclusion is about
DEFAULT_MODELS = ("radiomics_only", "tmiclnet_tokens")
# seed offset s trains with run.seed + SEED_STRIDE * s: far from the repeats' seed + r and the
# folds' + k, so no offset's training seed is another run's
SEED_STRIDE = 1000


def seed_store(data_dir: str | Path, offset: int) -> Path:
    """Where seed offset `offset` is stored: the main results store for 0, else
    `<data_dir>/studies/seeds/seed<offset>`.

    Args:
        data_dir: the run's data folder.
        offset: the seed offset (>= 0).
    """
    if offset < 0:
        raise ValueError(f"seed offset {offset}: must be >= 0")
    if offset == 0:
        return results.results_root(data_dir)
    return Path(data_dir) / "studies" / "seeds" / f"seed{offset}"


def train_seeds(
    cohort_path: str | Path,
    run: Run,
    models: tuple[str, ...] | list[str] = DEFAULT_MODELS,
    seeds: tuple[int, ...] | list[int] = (0, 1, 2),
    folds: tuple[int, ...] | list[int] = (0, 1),
    retrain: bool = False,
) -> dict[int, Path]:
    """Train `models` on `folds` of the main split once per seed offset; returns each offset's
    results store (`seed_store`), which `tmiclnet.evaluate.seeds.seed_aucs` reads.

    Used by notebook 09 (evaluation, its last section).

    Args:
        cohort_path: the cohort folder (`tmiclnet.data.cohort.load` reads it).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        models: catalogue names (default: the radiomics-only model and TMI-CLNet tokens).
        seeds: seed offsets; 0 is the main run.
        folds: fold indices of the main split.
        retrain: train even where finished folds with the same key exist.
    """
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    models = list(models)
    bad = [k for k in folds if not 0 <= k < run.profile.folds]
    if bad:
        raise ValueError(f"folds {bad}: the profile has folds 0 .. {run.profile.folds - 1}")
    inputs = load_inputs(cohort, run.profile, needed_modalities(run.profile, models))
    labels = cohort.labels.loc[cohort.ids].astype(int)
    table = folds_mod.make_folds(labels, run.profile.folds, run.seed)  # the main run's folds
    fins = [
        (
            k,
            fold_inputs(
                inputs, folds_mod.split(table, k, run.profile.val_fraction, run.seed), run.profile
            ),
        )
        for k in folds
    ]
    cached, ct_name, order = ct_plan(run.profile, models)
    stores = {}
    for s in seeds:
        store = seed_store(run.data_dir, s)
        saved = folds_mod.load_or_make_folds(
            results.folds_path(store, cohort.name), labels, run.profile.folds, run.seed
        )
        if not saved.reset_index(drop=True).equals(table.reset_index(drop=True)):
            raise ValueError(f"{results.folds_path(store, cohort.name)}: not the main run's folds")
        srun = run.replace(seed=run.seed + SEED_STRIDE * s)
        ctx = JobContext(inputs, cohort.name, cached, ct_name, srun, store, SINGLE, retrain)
        train_folds(fins, order, ctx, desc=f"{cohort.name} seed offset {s}")
        stores[s] = store
    return stores
