"""Training the dial: the fixed models once, then the three note-reading models per setting.

The fixed models (CT-only, radiomics-only) read no note: they are the training page's own, in
its results folder, and their CT tokens feed every setting's fusion models. Each setting's
note-reading models are trained with the training page's jobs on the same folds, into the
setting's own folder (`settings.setting_dir`). The result is one row per (setting, model, fold)
with the test AUC and the setting's oracle.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from tmiclnet import results
from tmiclnet.config import CtStrategy, Run
from tmiclnet.data.synthetic import NoteDial, SyntheticModel, dial_oracle
from tmiclnet.evaluate.metrics import fold_metrics
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.features import CohortInputs, FoldInputs, fold_inputs, load_inputs
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.provenance import atomic_write_text
from tmiclnet.study.fusion_dial.settings import (
    dials_for,
    folds_for,
    setting_dir,
    setting_inputs,
    signal_kind,
    slug,
)
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.jobs import JobContext, ct_plan, make_job, train_ct_only
from tmiclnet.train.schedule import train_folds, train_jobs

FIXED_MODELS = ("ct_only", "radiomics_only")  # read no note: one run serves every setting
NOTE_MODELS = ("text_only", "early_fusion", "tmiclnet_tokens")  # trained per setting


def _with_text(fin: FoldInputs, inputs: CohortInputs) -> FoldInputs:
    """The fold's tensors (radiomics already scaled on its training rows) with `inputs`' text,
    its value channels scaled on the same training rows (`tmiclnet.text.fold_text`)."""
    from tmiclnet.text import fold_text

    fields = inputs.info.get("text_fields")
    text, scale = fold_text(inputs.text, fields, inputs.ids, fin.split.train)
    data = TensorData(fin.data.ids, {**fin.data.inputs, **text}, fin.data.labels)
    return FoldInputs(data, fin.split, fin.rad_families, fin.rad_columns, scale)


def _fixed_models(fins, base: CohortInputs, name: str, run: Run, root: Path, retrain: bool):
    """Train (or read) the CT-only and radiomics-only models exactly as the training page does;
    return each fold's (CT tokens, their source tag) for the fusion models."""
    cached, ct_name, order = ct_plan(run.profile, list(FIXED_MODELS))
    ctx = JobContext(base, name, cached, ct_name, run, root, SINGLE, retrain)
    train_folds(fins, order, ctx, desc=name)
    if not cached:
        return {k: (None, "volumes") for k, _ in fins}
    out = {}
    for k, fin in fins:  # done now: reads ct_tokens.pt (made under that model's key)
        _, tokens, source = train_ct_only(make_job(ct_name, k, fin, None, "volumes", ctx))
        out[k] = (tokens, source)
    return out


def _share_folds(table: pd.DataFrame, root: Path, name: str, labels, run: Run) -> None:
    """The training page's folds.csv, copied into a setting's folder (checked if present)."""
    path = results.folds_path(root, name)
    if not path.exists():
        atomic_write_text(path, table.to_csv(index=False))
    folds_mod.load_or_make_folds(path, labels, run.profile.folds, run.seed)


def run_dial(
    cohort_path: str | Path,
    run: Run,
    dials: list[NoteDial] | None = None,
    results_dir: str | Path | None = None,
    retrain: bool = False,
) -> pd.DataFrame:
    """Train every model of every setting (or read what is done): one row per (setting, model,
    fold) with the test AUC, and the setting's oracle AUCs.

    Args:
        cohort_path: the synthetic cohort (`data/generated/<profile>/synthetic`).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        dials: the settings (default `dials_for(run.profile.name)`; `[]` trains and returns the
            CT-only and radiomics-only models alone).
        results_dir: the results root (default `<run.data_dir>/results`, the training page's).
        retrain: train even where results with the same key exist.
    """
    from tmiclnet.data.cohort import load

    cohort = load(cohort_path)
    if "model" not in cohort.manifest:
        raise ValueError(f"{cohort.root}: not a synthetic cohort (cohort.json has no 'model')")
    model = SyntheticModel(**cohort.manifest["model"])
    dials = dials_for(run.profile.name) if dials is None else dials
    root = Path(results_dir) if results_dir else results.results_root(run.data_dir)
    base = load_inputs(cohort, run.profile, {"ct", "radiomics", "text"})
    table = folds_mod.load_or_make_folds(
        results.folds_path(root, cohort.name), cohort.labels, run.profile.folds, run.seed
    )
    fins = []
    for k in folds_for(run):
        split = folds_mod.split(table, k, run.profile.val_fraction, run.seed)
        fins.append((k, fold_inputs(base, split, run.profile)))
    tokens = _fixed_models(fins, base, cohort.name, run, root, retrain)
    rows = [_rows(root, cohort.name, m, None, None) for m in FIXED_MODELS]
    rows = [r[r["fold"].isin(folds_for(run))] for r in rows]  # the folds every setting has
    cached = run.profile.ct_strategy is CtStrategy.CACHED
    for dial in tqdm(dials, desc="fusion dial", unit="setting"):
        folder = setting_dir(root, dial)
        _share_folds(table, folder, cohort.name, cohort.labels, run)
        inputs = setting_inputs(base, cohort, dial, run)
        ctx = JobContext(inputs, cohort.name, cached, "ct_only", run, folder, SINGLE, retrain)
        jobs = [
            make_job(name, k, _with_text(fin, inputs), *tokens[k], ctx)
            for k, fin in fins
            for name in NOTE_MODELS
        ]
        train_jobs(jobs, run, SINGLE, desc=slug(dial))
        results.write_json(
            folder / "setting.json",
            {"reads": dial.reads, "strength": dial.strength, "text_key": inputs.info["text_key"]},
        )
        rows += [_rows(folder, cohort.name, m, dial, model) for m in NOTE_MODELS]
    return _expand(pd.concat(rows, ignore_index=True), dials, model)


def _rows(root: Path, cohort: str, name: str, dial, model) -> pd.DataFrame:
    """Per-fold test AUC of one model, tagged with its setting (None: every setting)."""
    auc = fold_metrics(results.load_predictions(root, cohort, name))["auc"]
    out = pd.DataFrame({"model": name, "fold": auc.index, "auc": auc.to_numpy()})
    out["setting"] = None if dial is None else slug(dial)
    return out


def _expand(rows: pd.DataFrame, dials: list[NoteDial], model: SyntheticModel) -> pd.DataFrame:
    """The fixed models' rows repeated under every setting, and each setting's dial and oracle."""
    if not dials:  # only the fixed models were asked for (e.g. to train them ahead)
        return rows
    fixed = rows[rows["setting"].isna()]
    parts = [rows[rows["setting"].notna()]]
    parts += [fixed.assign(setting=slug(d)) for d in dials]
    out = pd.concat(parts, ignore_index=True)
    meta = pd.DataFrame(
        [
            {
                "setting": slug(d),
                "reads": d.reads,
                "strength": d.strength,
                "signal": signal_kind(d),
                "rho": round(d.rho, 4),
                **{f"oracle_{k}": v for k, v in dial_oracle(model, d).items()},
            }
            for d in dials
        ]
    )
    return out.merge(meta, on="setting").sort_values(["strength", "reads", "model", "fold"])
