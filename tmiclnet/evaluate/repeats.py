"""Is the ranking more than noise? Mean AUC, paired intervals and ranks over repeated CV.

Every repeat of the cross-validation (`tmiclnet.train.repeats`) tests each model once on every
patient, on folds drawn with another seed. Per model this module gives the mean ± sd of the test
AUC over all R x K folds; the paired difference to TMI-CLNet (same test patients in each fold)
with the corrected resampled t interval of Nadeau & Bengio (2003), which widens the naive
interval because the training sets of different folds and repeats overlap (Bouckaert & Frank
(2004) recommend it for repeated cross-validation); and the rank of each model within each
(repeat, fold), with how often each model ranks first. A bootstrap over R = 3 or 5 repeats
would have too few units to resample; the corrected t needs only the R x K paired differences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from tmiclnet import results
from tmiclnet.data.cohort import load
from tmiclnet.evaluate import metrics
from tmiclnet.evaluate.references import IN_SAMPLE, VAL_FRACTION
from tmiclnet.evaluate.report import add_references, usable_models
from tmiclnet.evaluate.tables import ABLATIONS, MAIN_MODEL
from tmiclnet.inputs.folds import repeat_seed, split
from tmiclnet.inputs.permute import permute_cohort

UNIMODAL = ("ct_only", "radiomics_only", "text_only")
LEVEL = 0.95


def corrected_t_interval(
    diffs, test_train_ratio: float, level: float = LEVEL
) -> tuple[float, float, float, float]:
    """(mean, low, high, two-sided p) of paired differences from repeated cross-validation.

    Nadeau & Bengio's corrected resampled t: the variance of the mean of J = R x K fold
    differences is (1/J + n_test/n_train) s^2 instead of s^2 / J, since folds that share
    training patients give correlated differences; the t quantile has J - 1 degrees of freedom.

    Args:
        diffs: the J paired differences, one per (repeat, fold).
        test_train_ratio: a fold's test patients over the patients its models were fitted on
            (`fit_ratio`: the training split without its validation patients, so 1/(K-1)
            divided by 1 - val_fraction for K-fold, e.g. 0.3125 for 5 folds and 0.2).
        level: the interval's coverage.
    """
    d = np.asarray(diffs, dtype=float)
    if d.size < 2:
        raise ValueError(f"need at least 2 paired differences, got {d.size}")
    mean = float(d.mean())
    se = float(np.sqrt((1.0 / d.size + test_train_ratio) * d.var(ddof=1)))
    if se == 0.0:  # every fold gives the same difference
        return mean, mean, mean, 1.0 if mean == 0 else 0.0
    half = float(stats.t.ppf(0.5 + level / 2, d.size - 1)) * se
    p = float(2 * stats.t.sf(abs(mean) / se, d.size - 1))
    return mean, mean - half, mean + half, p


def fit_ratio(folds: pd.DataFrame, val_fraction: float, seed: int) -> float:
    """Mean over folds of n_test / n_fit, n_fit the patients the models were fitted on.

    Nadeau and Bengio's correction uses the size of the training set the models were fit on:
    the networks and the references fit on each fold's training split, the validation patients
    held out for early stopping and the threshold, so n_fit is not every non-test patient.

    Args:
        folds: folds.csv of one repeat (id, label, fold).
        val_fraction: the share of each fold's non-test patients held out for validation.
        seed: that repeat's seed (`tmiclnet.inputs.folds.repeat_seed`), which draws the split.
    """
    ratios = []
    for k in sorted(folds["fold"].unique()):
        part = split(folds, int(k), val_fraction, seed)
        ratios.append(len(part.test) / len(part.train))
    return float(np.mean(ratios))


def ranks(aucs: pd.DataFrame) -> pd.DataFrame:
    """`aucs` with a `rank` column: 1 = the best AUC within its (repeat, fold); ties share the
    better rank (scipy's "min" method), so each model has one rank per (repeat, fold).

    Args:
        aucs: one row per (repeat, fold, model) with an `auc` column (`RepeatReport.aucs`).
    """
    out = aucs.copy()
    out["rank"] = out.groupby(["repeat", "fold"])["auc"].rank(ascending=False, method="min")
    out["rank"] = out["rank"].astype(int)
    return out


def rank_counts(aucs: pd.DataFrame) -> pd.DataFrame:
    """Models x rank (1 .. number of models): in how many (repeat, fold) each model had that rank.

    Args:
        aucs: one row per (repeat, fold, model) with an `auc` column (`RepeatReport.aucs`).
    """
    ranked = ranks(aucs)
    n_models = ranked["model"].nunique()
    table = pd.crosstab(ranked["model"], ranked["rank"])
    return table.reindex(columns=range(1, n_models + 1), fill_value=0)


def summary_table(aucs: pd.DataFrame, ratio: float, main: str = MAIN_MODEL) -> pd.DataFrame:
    """One row per model, best mean AUC first: mean and sd of the AUC over every (repeat, fold),
    the paired difference AUC(main) - AUC(model) with its corrected interval and p, the mean
    rank and how often the model ranked first.

    Args:
        aucs: one row per (repeat, fold, model) with an `auc` column (`RepeatReport.aucs`).
        ratio: test over training patients of a fold (`corrected_t_interval`).
        main: the model every other is compared with.
    """
    wide = aucs.pivot_table(index=["repeat", "fold"], columns="model", values="auc")
    ranked = ranks(aucs)
    rows = {}
    for model in wide.columns:
        row = {
            "auc_mean": wide[model].mean(),
            "auc_sd": wide[model].std(ddof=1),
            "folds": int(wide[model].notna().sum()),
        }
        if main in wide and model != main:
            d, lo, hi, p = corrected_t_interval(wide[main] - wide[model], ratio)
            row.update(diff=d, diff_low=lo, diff_high=hi, p=p, excludes_0=bool(lo > 0 or hi < 0))
        r = ranked.loc[ranked["model"] == model, "rank"]
        row.update(mean_rank=r.mean(), first=int((r == 1).sum()))
        rows[model] = row
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("auc_mean", ascending=False)
    table.index.name = "model"
    return table


@dataclass
class RepeatReport:
    """What the repeated cross-validation of one cohort shows (`evaluate_repeats`)."""

    cohort: str
    repeats: list[int]  # the repeats found and used
    n_folds: int
    ratio: float  # test patients / patients the models were fitted on, per fold (`fit_ratio`)
    aucs: pd.DataFrame  # repeat, fold, model, auc
    summary: pd.DataFrame  # summary_table
    counts: pd.DataFrame  # rank_counts
    notes: list[str] = field(default_factory=list)


def _fold_aucs(results_dir: Path, cohort: str, model: str, repeat: int) -> pd.DataFrame:
    per_fold = metrics.fold_metrics(results.load_predictions(results_dir, cohort, model))
    out = per_fold[["auc"]].reset_index()
    return out.assign(repeat=repeat, model=model)[["repeat", "fold", "model", "auc"]]


def score_references(
    cohort_path: str | Path,
    results_dir: str | Path,
    repeat: int,
    seed: int,
    permute_labels: int | None = None,
) -> list[str]:
    """The classical references on one repeat's folds (its own labels when permuted).

    Args:
        cohort_path: the cohort folder.
        results_dir: the results root (`tmiclnet.results.results_root`).
        repeat: the repeat whose folds to use.
        seed: the run's seed (repeat r's references are fitted with its repeat seed).
        permute_labels: the labelling's seed, None for the real labels.
    """
    cohort = load(cohort_path)
    if permute_labels is not None:
        cohort = permute_cohort(cohort, permute_labels)
    where = results.run_dir(results_dir, repeat, permute_labels)
    return add_references(cohort, where, repeat_seed(seed, repeat))


def evaluate_repeats(
    data_dir: str | os.PathLike,
    cohort: str,
    n_repeats: int,
    permuted: int | None = None,
    models: list[str] | None = None,
    with_references: bool = True,
    main: str = MAIN_MODEL,
    seed: int = 0,
) -> RepeatReport:
    """Read every repeat of a cohort's cross-validation and summarise it.

    Only models whose every fold finished with the current code in every repeat found enter
    (`tmiclnet.evaluate.report.usable_models`); a repeat that was not trained is left out and
    named in the notes, as is every model set apart.

    Used by notebook 09 (evaluation).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds `<cohort>/` and `results/`.
        cohort: the cohort's name, e.g. ``pbc``.
        n_repeats: repeats the profile asks for (``run.profile.cv_repeats``).
        permuted: read the run on labels permuted with this seed instead of the real one.
        models: the models to compare (default: those usable in every repeat).
        with_references: score the classical references on each repeat's folds first
            (skipped where they are up to date).
        main: the model every other is compared with.
        seed: the run's seed (``run.seed``): repeat r's references are fitted with seed + r.
    """
    root = results.results_root(data_dir)
    found, notes, usable = [], [], []
    for r in range(n_repeats):
        where = results.run_dir(root, r, permuted)
        if not results.folds_path(where, cohort).exists():
            notes.append(f"repeat {r}: not trained ({where / cohort} has no folds.csv); left out")
            continue
        if with_references:
            score_references(Path(data_dir) / cohort, root, r, seed, permuted)
        names, set_apart = usable_models(where, cohort)
        notes += [f"repeat {r}: {n}" for n in set_apart]
        found.append(r)
        usable.append(set(names))
    if not found:
        raise FileNotFoundError(f"{root}: no repeat of {cohort!r} was trained")
    keep = sorted(set.intersection(*usable)) if models is None else list(models)
    frames, ratios, n_folds = [], [], 0
    for r in found:
        where = results.run_dir(root, r, permuted)
        folds = results.read_folds(where, cohort)
        n_folds = folds["fold"].nunique()
        ratios.append(fit_ratio(folds, VAL_FRACTION, repeat_seed(seed, r)))
        frames += [_fold_aucs(where, cohort, m, r) for m in keep]
    aucs = pd.concat(frames, ignore_index=True)
    ratio = float(np.mean(ratios))
    summary = summary_table(aucs, ratio, main)
    return RepeatReport(cohort, found, n_folds, ratio, aucs, summary, rank_counts(aucs), notes)


def display_table(rep: RepeatReport, digits: int = 3) -> pd.DataFrame:
    """The summary as strings for the page: AUC mean ± sd, difference [interval], ranks.

    Short headers, so the table fits the page at 1280 px: `Δ AUC` is AUC(tmiclnet_tokens) −
    AUC(model) with its 95 % corrected resampled-t interval, `rank` the mean rank over the R × K
    folds, `1st of N` how many of those folds the model ranked first in. (The references' "sees"
    tags are in the comparison table above it.)

    Used by notebook 09 (evaluation).

    Args:
        rep: the cohort's `RepeatReport`.
        digits: decimals of the AUCs and differences.
    """
    s, n = rep.summary, len(rep.repeats) * rep.n_folds
    f = f"{{:.{digits}f}}"
    out = pd.DataFrame(index=pd.Index(s.index, name="model"))
    out["AUC"] = [f"{f.format(a)} ± {f.format(b)}" for a, b in zip(s.auc_mean, s.auc_sd)]
    if "diff" in s:
        out["Δ AUC [95% CI]"] = [
            "" if pd.isna(d) else f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
            for d, lo, hi in zip(s["diff"], s["diff_low"], s["diff_high"])
        ]
    out["rank"] = s["mean_rank"].map("{:.2f}".format)
    out[f"1st of {n}"] = s["first"].astype(int)
    return out


def best_unimodal(rep: RepeatReport) -> str | None:
    """The unimodal model with the highest mean AUC, chosen from the data (None if none ran).

    Args:
        rep: the cohort's `RepeatReport`.
    """
    uni = [m for m in rep.summary.index if m in UNIMODAL]
    return uni[0] if uni else None  # the summary is sorted by mean AUC


def _versus(rep: RepeatReport, other: str, main: str) -> str:
    row = rep.summary.loc[other]
    lo, hi = row["diff_low"], row["diff_high"]
    verdict = (
        f"the interval excludes 0: {main} is {'better' if lo > 0 else 'worse'}"
        if row["excludes_0"]
        else "the interval includes 0: these data cannot tell the two apart"
    )
    return (
        f"AUC({main}) − AUC({other}) = {row['diff']:+.3f}, 95 % corrected interval "
        f"[{lo:+.3f}, {hi:+.3f}]; {verdict}"
    )


def _named(model: str) -> str:
    """A model's name in bold, with its in-sample mark when it has one (`IN_SAMPLE`)."""
    return f"**{model}** ({IN_SAMPLE[model]})" if model in IN_SAMPLE else f"**{model}**"


def conclusion(rep: RepeatReport, main: str = MAIN_MODEL) -> str:
    """The page's conclusion for one cohort in plain words, built from the numbers (Markdown).

    Used by notebook 09 (evaluation).

    Args:
        rep: the cohort's `RepeatReport`.
        main: the model the conclusion is about.
    """
    s, n = rep.summary, len(rep.repeats) * rep.n_folds
    best = s.index[0]
    head = (
        f"**{rep.cohort}** ({len(rep.repeats)} repeat(s) x {rep.n_folds} folds = {n} test folds, "
        f"{len(s)} models): the best mean AUC is {_named(best)} ({s.loc[best, 'auc_mean']:.3f} ± "
        f"{s.loc[best, 'auc_sd']:.3f}), ranked first in {int(s.loc[best, 'first'])} of {n} folds."
    )
    fair = [m for m in s.index if m not in IN_SAMPLE]
    if best in IN_SAMPLE and fair:
        top = fair[0]
        head += (
            f" The best out of sample is {_named(top)} ({s.loc[top, 'auc_mean']:.3f} ± "
            f"{s.loc[top, 'auc_sd']:.3f})."
        )
    if main not in s.index:
        return head + f" {main} has no results in every repeat, so nothing is said about it."
    lines = [head]
    m = s.loc[main]
    lines.append(
        f"- {main}: AUC {m['auc_mean']:.3f} ± {m['auc_sd']:.3f}, mean rank {m['mean_rank']:.2f}, "
        f"first in {int(m['first'])} of {n} folds."
    )
    rival = best if best != main else (s.index[1] if len(s) > 1 else None)
    if rival is not None:
        what = "the best model" if best != main else "the runner-up"
        lines.append(f"- Against {what}, {_named(rival)}: {_versus(rep, rival, main)}.")
    uni = best_unimodal(rep)
    if uni is not None and uni != rival:
        lines.append(f"- Against the best unimodal model, **{uni}**: {_versus(rep, uni, main)}.")
    return "\n".join(lines)


def ablation_table(rep: RepeatReport, digits: int = 3) -> pd.DataFrame:
    """The ablations over every (repeat, fold): its AUC (mean ± sd) and its change against the
    full model, AUC(ablation) − AUC(full), with the corrected 95 % interval and whether that
    interval excludes 0 (the page says what each ablation removes).

    One split's bootstrap holds the fitted models fixed; here each fold's models are trained
    afresh, so the interval includes training variability. Used by notebook 09 (evaluation).

    Args:
        rep: the cohort's `RepeatReport` (its main model the full TMI-CLNet).
        digits: decimals of the AUCs and changes.
    """
    s, f = rep.summary, f"{{:.{digits}f}}"
    rows = {}
    for name, _ in ABLATIONS:
        if name not in s.index:
            continue
        row = {"AUC": f"{f.format(s.loc[name, 'auc_mean'])} ± {f.format(s.loc[name, 'auc_sd'])}"}
        if name != MAIN_MODEL:
            d, lo, hi = (-s.loc[name, c] for c in ("diff", "diff_high", "diff_low"))
            row["Δ vs full [95% CI]"] = f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
            row["excludes 0"] = "yes" if bool(s.loc[name, "excludes_0"]) else "no"
        rows[name] = row
    out = pd.DataFrame.from_dict(rows, orient="index").fillna("—")
    out.index.name = "model"
    return out
