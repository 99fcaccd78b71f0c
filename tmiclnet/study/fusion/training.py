"""Training the study: every regime on every repeat and fold, one row per (regime, repeat, fold,
model) with its test AUC.

The folds are the training page's repeats' (stratified K-fold with seed + r, the same validation
split), the same in every regime, so each comparison is paired. Per (repeat, fold) the radiomics
are scaled once on the training patients; per regime the text-only network (the catalogue's,
reading the regime's frozen note tokens) is trained with the training page's jobs into the
regime's folder (`regimes.regime_dir`, keyed by the notes' content), and the cheap models of
`heads` are fitted on the spot (seconds; nothing to cache).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tmiclnet import results
from tmiclnet.config import Run
from tmiclnet.data.synthetic import SyntheticModel
from tmiclnet.evaluate.repeats import fit_ratio
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.features import CohortInputs, FoldInputs, fold_inputs, load_inputs
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.study.fusion import heads
from tmiclnet.study.fusion.regimes import (
    REGIMES,
    Regime,
    regime_clinical,
    regime_dir,
    regime_inputs,
)
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, make_job
from tmiclnet.train.schedule import train_jobs

TEXT_MODEL = "text_only"  # the catalogue's note reader, trained per regime


def _with_text(fin: FoldInputs, inputs: CohortInputs) -> FoldInputs:
    """The fold's tensors (radiomics already scaled on its training rows) with `inputs`' text,
    its value channels scaled on the same training rows (`tmiclnet.text.fold_text`)."""
    from tmiclnet.text import fold_text

    fields = inputs.info.get("text_fields")
    text, scale = fold_text(inputs.text, fields, inputs.ids, fin.split.train)
    data = TensorData(fin.data.ids, {**fin.data.inputs, **text}, fin.data.labels)
    return FoldInputs(data, fin.split, fin.rad_families, fin.rad_columns, scale)


def cohort_model(cohort) -> SyntheticModel:
    """The generating model written in a synthetic cohort's cohort.json.

    Args:
        cohort: the synthetic cohort (`tmiclnet.data.cohort.load`).
    """
    if "model" not in cohort.manifest:
        raise ValueError(f"{cohort.root}: not a synthetic cohort (cohort.json has no 'model')")
    return SyntheticModel(**cohort.manifest["model"])


def repeats_of(run: Run) -> list[int]:
    """The repeats the study runs: the profile's `cv_repeats` (quick 1, cpu 3, gpu 5).

    Args:
        run: profile, data folder, seed and device.
    """
    return list(range(max(1, run.profile.cv_repeats)))


def _splits(root: Path, regime: Regime, cohort, run: Run, r: int):
    """(repeat folder of the regime, its fold table, the repeat's seed)."""
    seed = folds_mod.repeat_seed(run.seed, r)
    out = results.run_dir(regime_dir(root, regime), r)
    table = folds_mod.load_or_make_folds(
        results.folds_path(out, cohort.name), cohort.labels, run.profile.folds, seed
    )
    return out, table, seed


def run_study(
    cohort_path: str | Path,
    run: Run,
    regimes: tuple[Regime, ...] = REGIMES,
    results_dir: str | Path | None = None,
    retrain: bool = False,
) -> tuple[pd.DataFrame, float]:
    """Train and score every model of every regime on every repeat and fold.

    Returns (per-fold table: regime, repeat, fold, model, auc; the mean test/fit ratio of the
    folds for the corrected interval, `tmiclnet.evaluate.repeats.fit_ratio`).

    Args:
        cohort_path: the synthetic cohort (`data/generated/<profile>/synthetic`).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        regimes: the regimes (default all three).
        results_dir: the results root (default `<run.data_dir>/results`).
        retrain: train the text models even where results with the same key exist.
    """
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    cohort_model(cohort)  # not a synthetic cohort, or a malformed model: fails here, not mid-run
    root = Path(results_dir) if results_dir else results.results_root(run.data_dir)
    base = load_inputs(cohort, run.profile, {"radiomics"})
    inputs = {g.name: regime_inputs(base, cohort, g, run) for g in regimes}
    clinical = {g.name: regime_clinical(cohort, g) for g in regimes}
    folds, jobs, ratios = [], [], []
    for r in repeats_of(run):
        fins = []
        for g in regimes:  # every regime's folds are the same (same labels, same seed)
            out, table, seed = _splits(root, g, cohort, run, r)
            if not fins:
                ratios.append(fit_ratio(table, run.profile.val_fraction, seed))
                for k in range(run.profile.folds):
                    split = folds_mod.split(table, k, run.profile.val_fraction, seed)
                    fins.append(fold_inputs(base, split, run.profile))
                folds += [(r, k, fin) for k, fin in enumerate(fins)]
            ctx = JobContext(
                inputs[g.name], cohort.name, False, None, run.replace(seed=seed), out, SINGLE,
                retrain,
            )  # fmt: skip
            for k, fin in enumerate(fins):
                jobs.append(make_job(TEXT_MODEL, k, _with_text(fin, inputs[g.name]), None,
                                     "volumes", ctx))  # fmt: skip
    train_jobs(jobs, run, SINGLE, desc="fusion study")
    rows = []
    for r, k, fin in folds:
        rows += _score_fold(cohort, fin, r, k, regimes, clinical, root)
    return pd.DataFrame(rows), float(np.mean(ratios))


def _score_fold(cohort, fin: FoldInputs, r: int, k: int, regimes, clinical, root) -> list[dict]:
    """One (repeat, fold): the cheap models' and the text model's test AUCs in every regime."""
    ids = list(fin.data.ids)
    pos = {pid: i for i, pid in enumerate(ids)}
    rows = {p: np.array([pos[i] for i in getattr(fin.split, p)]) for p in ("train", "val", "test")}
    y = fin.data.labels.numpy().astype(int)
    rad = fin.data.inputs["radiomics"].numpy()
    out = []
    for g in regimes:
        panel = heads.panel_values(clinical[g.name], ids)
        scores = heads.control_scores(rad, panel, y, rows)
        preds = _text_predictions(root, g, r, cohort.name, k)
        text = {p: heads.logit(preds[p].reindex(getattr(fin.split, p)).to_numpy()) for p in preds}
        scores[TEXT_MODEL] = text
        val = np.column_stack([scores["image_lr"]["val"], text["val"]])
        test = np.column_stack([scores["image_lr"]["test"], text["test"]])
        scores["late_fusion"] = {"test": heads.late_fusion(val, y[rows["val"]], test)}
        y_test = y[rows["test"]]
        out += [
            {"regime": g.name, "repeat": r, "fold": k, "model": name,
             "auc": heads.auc(y_test, s["test"])}
            for name, s in scores.items()
        ]  # fmt: skip
    return out


def _text_predictions(root: Path, regime: Regime, r: int, cohort: str, k: int) -> dict:
    """The text model's validation and test probabilities of one fold, by patient id."""
    out = results.run_dir(regime_dir(root, regime), r)
    preds = results.load_predictions(out, cohort, TEXT_MODEL)
    preds = preds[preds["fold"] == k].set_index("id")
    return {p: preds.loc[preds["split"] == p, "prob"] for p in ("val", "test")}
