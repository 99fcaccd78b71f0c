"""Gather everything the evaluation page shows for one cohort, from saved results only."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.evaluate import references, tables

REFERENCE_MODELS = ("logreg_clinical", "logreg_note_fields", "mayo_risk")
# Recorded fields the cohort keeps in findings.csv (the CT renderer draws them); a fair clinical
# table reference uses them too. Render parameters derived from them (fibrosis, liver_scale, ...)
# are not recorded fields and are left out.
RECORDED_IMAGE_FIELDS = ("stage", "hepato", "ascites")


def usable_models(results_dir: str | os.PathLike, cohort: str) -> tuple[list[str], list[str]]:
    """(models whose every fold finished with the current code, a note on each one set apart)."""
    usable, notes = [], []
    for m in results.trained_models(results_dir, cohort):
        why = results.unusable(results_dir, cohort, m)
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


def results_dir_for(cohort_root: str | os.PathLike) -> Path:
    """`<data_dir>/results` for a cohort folder `<data_dir>/<cohort>` (symlinks kept, not
    followed)."""
    return Path(cohort_root).absolute().parent / "results"


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


def build_report(
    results_dir: str | os.PathLike,
    cohort: str,
    oracle_auc: float | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> Report:
    """Comparison table, AUC differences vs TMI-CLNet, ablation table and oracle line if any."""
    names, set_apart = usable_models(results_dir, cohort)
    preds = load_all(results_dir, cohort, names)
    if not preds:
        raise FileNotFoundError(f"{Path(results_dir) / cohort}: no saved results to evaluate")
    rep = Report(cohort, sorted(preds), tables.comparison(preds), notes=set_apart)
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


def add_references(cohort_obj, results_dir: str | os.PathLike, seed: int = 0) -> list[str]:
    """Score the classical references on the cohort's saved folds (skipped when up to date)."""
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
    )


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
) -> tuple[Report, dict[str, pd.DataFrame]]:
    """Load `<data_dir>/<name>`, score the references on its saved folds, build its report.

    Returns the report and {model: predictions} (the references included).

    Used by notebook 09 (evaluation).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds `<name>/` and `results/`.
        name: the cohort's folder name, e.g. ``pbc``.
        n_boot: bootstrap resamples for the confidence intervals.
        seed: seed of the references' fits and of the bootstrap.
        with_references: also score the classical references on the saved folds first.
    """
    from tmiclnet.data.cohort import load

    cohort = load(Path(data_dir) / name)
    results_dir = Path(data_dir) / "results"
    if with_references:
        add_references(cohort, results_dir, seed)
    rep = build_report(results_dir, cohort.name, cohort.oracle_auc, n_boot, seed)
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
