"""Gather everything the evaluation page shows for one cohort, from saved results only."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.evaluate import mayo, references, tables

REFERENCE_MODELS = tuple(references.REFERENCE_LABELS)  # logreg_clinical, ..., mayo_refit
TRIAL_GROUPS = ("all", "trial", "non-trial")
# Recorded fields the cohort keeps in findings.csv (the CT renderer draws them); a fair clinical
# table reference uses them too. Render parameters derived from them (fibrosis, liver_scale, ...)
# are not recorded fields and are left out.
RECORDED_IMAGE_FIELDS = ("stage", "hepato", "ascites")
# What the CT shows, for the image ceiling (`logreg_image_fields`): the findings the renderer draws
# from that carry the label. A PBC patient's render parameters are its recorded fields plus
# label-free jitter, so the recorded fields; a synthetic patient's recorded fields are thresholds
# of the renderer's continuous factors (and the liver scale below the hepatomegaly cut shows in
# the CT too), so those factors.
TRUE_IMAGE_FACTORS = ("fibrosis", "liver_scale", "ascites_mm")


def usable_models(
    results_dir: str | os.PathLike, cohort: str, set_apart: dict[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """(models whose every fold finished with the current code, a note on each one set apart).

    The modality-dropout variants that the robustness page trains into the same store are set
    apart too: they are compared on that page, not in the catalogue's tables.

    Args:
        results_dir: the results store's folder.
        cohort: the cohort's name under it.
        set_apart: models to leave out, with why (`tmiclnet.evaluate.stale.check`).
    """
    from tmiclnet.models.catalogue import DROPOUT_VARIANTS

    variants = {e.name for e in DROPOUT_VARIANTS}
    usable, notes = [], []
    for m in results.trained_models(results_dir, cohort):
        why = "trained for the robustness page (modality dropout)" if m in variants else None
        why = why or (set_apart or {}).get(m) or results.unusable(results_dir, cohort, m)
        if why is None:
            usable.append(m)
        else:
            notes.append(f"{m}: {why}; left out of every table")
    return usable, notes


def load_all(
    results_dir: str | os.PathLike, cohort: str, models: list[str] | None = None
) -> dict[str, pd.DataFrame]:
    """{model: predictions} for the given models (default: every model `usable_models` keeps)."""
    names = models if models is not None else usable_models(results_dir, cohort)[0]
    return {m: results.load_predictions(results_dir, cohort, m) for m in names}


def results_dir_for(cohort_root: str | os.PathLike, name: str | None = None) -> Path:
    """`<data_dir>/results` for a cohort folder `<data_dir>/<cohort>` (symlinks kept, not
    followed), never one that overlaps the cohort folder (`tmiclnet.data.places`).

    Args:
        cohort_root: the cohort folder.
        name: the cohort's name (its folder under the results folder; default the folder's).
    """
    from tmiclnet.data.places import results_root_for

    return results_root_for(cohort_root, name)


@dataclass
class Report:
    """The tables of one cohort's evaluation (strings formatted for display)."""

    cohort: str
    models: list[str]
    comparison: pd.DataFrame
    differences: pd.DataFrame | None = None
    ablation: pd.DataFrame | None = None
    oracle: pd.Series | None = None
    notes: list[str] = field(default_factory=list)
    references: pd.DataFrame | None = None  # each reference: what it sees, fitted on, threshold
    trial: pd.DataFrame | None = None  # the references and TMI-CLNet on trial / non-trial patients
    trial_note: str = ""  # why `trial` is None ("not applicable: ..."), or what it shows


def build_report(
    results_dir: str | os.PathLike,
    cohort: str,
    oracle_auc: float | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    trial: pd.Series | None = None,
    set_apart: dict[str, str] | None = None,
) -> Report:
    """Comparison table, AUC differences vs TMI-CLNet, ablation table and oracle line if any,
    the references' labels, and the trial / non-trial table when `trial` is known.

    Args:
        results_dir: the results store's folder.
        cohort: the cohort's name under `results_dir`.
        oracle_auc: the synthetic cohort's Bayes AUC (None: no oracle line).
        n_boot: bootstrap resamples for the confidence intervals.
        seed: the bootstrap's seed.
        trial: per patient id, True for a Mayo trial patient (`mayo.trial_membership`); None
            when the cohort records no trial, and the trial table is "not applicable".
        set_apart: models left out of every table, with why (trained on an older cohort).
    """
    names, notes = usable_models(results_dir, cohort, set_apart)
    preds = load_all(results_dir, cohort, names)
    if not preds:
        raise FileNotFoundError(f"{Path(results_dir) / cohort}: no saved results to evaluate")
    rep = Report(cohort, sorted(preds), tables.comparison(preds), notes=notes)
    refs = [m for m in REFERENCE_MODELS if m in preds]
    rep.references = tables.reference_table(refs) if refs else None
    rep.trial, rep.trial_note = trial_table(preds, trial, n_boot, seed)
    if tables.MAIN_MODEL in preds:
        rep.differences = tables.auc_differences(preds, n_boot=n_boot, seed=seed)
        for m in rep.differences.attrs.get("skipped", []):
            rep.notes.append(
                f"{m}: not tested on the same patients as {tables.MAIN_MODEL} "
                "(unfinished folds?); left out of the differences and ablations"
            )
        rep.ablation = tables.ablation(preds, n_boot=n_boot, seed=seed)
        rep.oracle = tables.oracle_line(preds, oracle_auc)
    else:
        rep.notes.append(f"{tables.MAIN_MODEL} has no saved results: no differences or ablations")
    return rep


def trial_table(
    preds: dict[str, pd.DataFrame], trial: pd.Series | None, n_boot: int = 2000, seed: int = 0
) -> tuple[pd.DataFrame | None, str]:
    """(AUC with CI of mayo_risk, mayo_refit and TMI-CLNet on all / trial / non-trial patients,
    a line saying what it shows), or (None, why it is not applicable).

    The published Mayo coefficients were fitted on the trial patients, so only the non-trial
    patients test the score out of sample."""
    shown = [m for m in ("mayo_risk", "mayo_refit", tables.MAIN_MODEL) if m in preds]
    if "mayo_risk" not in preds:
        return None, "not applicable: no mayo_risk reference (the cohort lacks its inputs)"
    if trial is None:
        return None, (
            "not applicable: this cohort records no Mayo trial membership, so whether the Mayo "
            "coefficients saw a patient is unknown (they saw none of a synthetic cohort)"
        )
    trial = trial.copy()
    trial.index = trial.index.astype(str)
    groups = {
        "all": set(trial.index),
        "trial": set(trial.index[trial]),
        "non-trial": set(trial.index[~trial]),
    }
    table = tables.subset_auc({m: preds[m] for m in shown}, groups, n_boot, seed)
    return table, (
        "AUC of the pooled test predictions with a 95 % bootstrap CI; the Mayo coefficients were "
        "fitted on the trial patients, so only the non-trial rows are out of sample for mayo_risk"
    )


def add_references(
    cohort_obj,
    results_dir: str | os.PathLike,
    seed: int = 0,
    val_fraction: float = references.VAL_FRACTION,
) -> list[str]:
    """Score the classical references on the cohort's saved folds (skipped when up to date).

    Each is fitted on every fold's train split and thresholded on its val split, the networks'
    patients (`references.ensure_references`).

    Args:
        cohort_obj: a loaded cohort (`tmiclnet.data.cohort.load`).
        results_dir: the results store's folder, holding `<cohort>/folds.csv`.
        seed: the training run's seed (it draws the train/val split).
        val_fraction: the profile's validation fraction.
    """
    folds = results.read_folds(results_dir, cohort_obj.name)
    return references.ensure_references(
        cohort_obj.clinical,
        cohort_obj.labels,
        folds,
        results_dir,
        cohort_obj.name,
        seed,
        recorded_extra(cohort_obj),
        schema=getattr(cohort_obj, "schema", None),
        val_fraction=val_fraction,
        image=image_fields(cohort_obj),
    )


def image_fields(cohort_obj) -> pd.DataFrame | None:
    """What a built cohort's CT shows (`TRUE_IMAGE_FACTORS` for the synthetic cohort, whose
    cohort.json holds its generating model; `RECORDED_IMAGE_FIELDS` otherwise), None for a
    folder without findings.csv.

    Args:
        cohort_obj: a loaded cohort (`tmiclnet.data.cohort.load`).
    """
    findings = cohort_obj.findings() if hasattr(cohort_obj, "findings") else None
    if findings is None:
        return None
    synthetic = "model" in (getattr(cohort_obj, "manifest", None) or {})
    wanted = TRUE_IMAGE_FACTORS if synthetic else RECORDED_IMAGE_FIELDS
    cols = [c for c in wanted if c in findings.columns]
    return findings[cols] if cols else None


def recorded_extra(cohort_obj) -> pd.DataFrame | None:
    """The recorded image fields of a built cohort (findings.csv), or None for other folders."""
    findings = cohort_obj.findings() if hasattr(cohort_obj, "findings") else None
    if findings is None:
        return None
    cols = [c for c in RECORDED_IMAGE_FIELDS if c in findings.columns]
    return findings[cols] if cols else None


def headline_models(preds_by_model: dict[str, pd.DataFrame], n_best: int = 2) -> list[str]:
    """The models worth a figure: TMI-CLNet, the classical references and the best other models.

    Used by notebook 09 (evaluation).

    Args:
        preds_by_model: model name -> its predictions (columns fold, split, label, prob), as
            `tmiclnet.evaluate.report.evaluate_cohort` returns them; test rows are used.
        n_best: how many of the other models to add, best mean AUC first.
    """
    from tmiclnet.evaluate import metrics

    fixed = [m for m in (tables.MAIN_MODEL, *REFERENCE_MODELS) if m in preds_by_model]
    auc = {
        m: metrics.summarize(metrics.fold_metrics(p)).loc["auc", "mean"]
        for m, p in preds_by_model.items()
        if m not in fixed
    }
    best = sorted(auc, key=lambda m: -auc[m])[:n_best]
    return fixed + best


def evaluate_cohort(
    data_dir: str | os.PathLike,
    name: str,
    n_boot: int = 2000,
    seed: int = 0,
    with_references: bool = True,
    val_fraction: float = references.VAL_FRACTION,
) -> tuple[Report, dict[str, pd.DataFrame]]:
    """Load `<data_dir>/<name>`, score the references on its saved folds, build its report.

    Returns the report and {model: predictions} (the references included).

    Used by notebook 09 (evaluation).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds `<name>/` and `results/`.
        name: the cohort's folder name, e.g. ``pbc``.
        n_boot: bootstrap resamples for the confidence intervals.
        seed: the training run's seed (``run.seed``: the references' train/val split, as the
            networks'), and the bootstrap's.
        with_references: also score the classical references on the saved folds first.
        val_fraction: the profile's validation fraction (``run.profile.val_fraction``): the
            references fit on the same train split as the networks.
    """
    from tmiclnet.data.cohort import load
    from tmiclnet.evaluate.stale import labels_changed

    cohort = load(Path(data_dir) / name)
    results_dir = Path(data_dir) / "results"
    why = labels_changed(cohort, results_dir)  # references must not meet networks of old labels
    if why:
        raise ValueError(f"{why}; train again into a new results folder")
    if with_references:
        add_references(cohort, results_dir, seed, val_fraction)
    trial = mayo.trial_membership(cohort)
    rep = build_report(results_dir, cohort.name, cohort.oracle_auc, n_boot, seed, trial)
    return rep, load_all(results_dir, cohort.name)


def history_of(
    data_dir: str | os.PathLike, cohort: str, model: str = tables.MAIN_MODEL
) -> pd.DataFrame:
    """history.csv of every fold of a model (empty if it has none).

    Used by notebook 09 (evaluation).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds `results/`.
        cohort: the cohort's name, e.g. ``pbc``.
        model: the catalogue name of the trained model.
    """
    return results.load_history(Path(data_dir) / "results", cohort, model)


def has_results(data_dir: str | os.PathLike, name: str) -> bool:
    """True when a cohort was cross-validated (its folds.csv exists) and has a finished model.

    Used by notebook 09 (evaluation).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds `<name>/` and `results/`.
        name: the cohort's name, e.g. ``pbc``.
    """
    results_dir = Path(data_dir) / "results"
    return (results_dir / name / "folds.csv").exists() and bool(
        results.trained_models(results_dir, name)
    )


def trial_summary(rep: Report) -> str:
    """The trial table in one Markdown paragraph, written from its numbers (no hand-typed result).

    Used by notebook 09 (evaluation).

    Args:
        rep: a report from `build_report` / `evaluate_cohort`; its `trial` table may be None.
    """
    if rep.trial is None:
        return f"Mayo score on non-trial patients: {rep.trial_note}."

    def auc(model: str, group: str) -> str:
        if (model, group) not in rep.trial.index:
            return "not available"
        r = rep.trial.loc[(model, group)]
        if pd.isna(r["auc"]):
            return f"undefined ({r['n']} patients, {r['events']} deaths: one class only)"
        return f"AUC {r['auc']:.3f} (95 % CI {r['lo']:.3f} to {r['hi']:.3f})"

    non = rep.trial.loc[("mayo_risk", "non-trial")]
    text = (
        f"On the {non['n']} non-trial patients ({non['events']} deaths), whose outcomes the Mayo "
        f"coefficients never saw, `mayo_risk` reaches {auc('mayo_risk', 'non-trial')}; on the "
        f"trial patients, in-sample for its coefficients, {auc('mayo_risk', 'trial')}."
    )
    if ("mayo_refit", "all") in rep.trial.index:
        text += (
            f" `mayo_refit`, fitted on each training fold only, reaches "
            f"{auc('mayo_refit', 'non-trial')} on the non-trial and {auc('mayo_refit', 'all')} "
            "on all patients."
        )
    return text
