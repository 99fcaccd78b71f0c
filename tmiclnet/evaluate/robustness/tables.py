"""The robustness page's tables and the sentences read off them, from `scores`' rows.

Nothing here is cached or keyed: the tables are made from the rows each time, so their layout
and wording can change without recomputing a number.
"""

from __future__ import annotations

import pandas as pd

from tmiclnet.claims import Claims
from tmiclnet.evaluate.robustness.conditions import default_conditions

# short column names, so that a table of every condition fits a page at 1280 px
SHORT = {
    "none": "none",
    "drop_ct": "no CT",
    "drop_radiomics": "no rad.",
    "drop_text": "no text",
    "ct_noise_10HU": "+10 HU",
    "ct_noise_25HU": "+25 HU",
    "ct_noise_50HU": "+50 HU",
    "external": "external",
}
WORDS = {"ct": "the CT", "radiomics": "the radiomics", "text": "the clinical note"}


def _ordered(df: pd.DataFrame) -> list[str]:
    order = [c.name for c in default_conditions() if c.name in set(df["condition"])]
    return order + [c for c in df["condition"].unique() if c not in order]


def _changes(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with `change`: the AUC minus the same model's unperturbed AUC on the same fold."""
    base = df[df["condition"] == "none"].set_index(["model", "fold"])["auc"]
    d = df.join(base.rename("base"), on=["model", "fold"])
    return d.assign(change=d["auc"] - d["base"])


def _stat(df: pd.DataFrame, column: str, how: str) -> pd.DataFrame:
    table = df.groupby(["model", "condition"])[column].agg(how).unstack("condition")
    return table.reindex(columns=_ordered(df))


# The conditions of each half of `summary_table`: a table of all eight is too wide for the page.
MISSING_CONDITIONS = ("none", "drop_ct", "drop_radiomics", "drop_text")
SHIFT_CONDITIONS = ("ct_noise_10HU", "ct_noise_25HU", "ct_noise_50HU", "external")


def summary_table(df: pd.DataFrame, decimals: int = 2, part: str = "all") -> pd.DataFrame:
    """Models x conditions: "mean ± sd" of the test AUC over folds (blank where a condition does
    not apply or the model was not trained for missing inputs), short column names (`SHORT`).

    Used by notebook 12 (robustness), in two halves one under the other.

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
        decimals: decimals of the mean and the sd.
        part: "all", "missing" (`MISSING_CONDITIONS`: unperturbed and each modality dropped) or
            "shift" (`SHIFT_CONDITIONS`: CT noise and the external center).
    """
    keep = {"all": None, "missing": MISSING_CONDITIONS, "shift": SHIFT_CONDITIONS}
    if part not in keep:
        raise ValueError(f"part must be one of {sorted(keep)}, not {part!r}")
    mean, sd = _stat(df, "auc", "mean"), _stat(df, "auc", "std")
    text = pd.DataFrame(
        [[_pm(m, v, decimals) for m, v in zip(mean.loc[i], sd.loc[i])] for i in mean.index],
        index=mean.index,
        columns=mean.columns,
    )
    if keep[part] is not None:
        text = text[[c for c in text.columns if c in keep[part]]]
    return text.rename(columns=SHORT)


def _pm(mean: float, sd: float, decimals: int) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.{decimals}f}" + ("" if pd.isna(sd) else f" ± {sd:.{decimals}f}")


def drop_table(df: pd.DataFrame, stat: str = "mean") -> pd.DataFrame:
    """AUC change against the unperturbed model, per model and condition (mean or sd over
    folds of the per-fold change), short column names.

    Used by notebook 12 (robustness).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
        stat: ``mean`` or ``std`` over folds.
    """
    return _stat(_changes(df), "change", stat).drop(columns="none").rename(columns=SHORT)


def change_intervals(df: pd.DataFrame, ratio: float) -> pd.DataFrame:
    """Per (model, condition): the mean over folds of the per-fold AUC change, with the corrected
    resampled t interval (`tmiclnet.evaluate.repeats.corrected_t_interval`; each fold's models
    were trained on another training set, so the folds' changes are correlated and a plain
    interval would be too narrow). Columns: mean, low, high, p (NaN bounds below two folds).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
        ratio: a fold's test patients over the patients its models were fitted on
            (`tmiclnet.evaluate.repeats.fit_ratio`).
    """
    from tmiclnet.evaluate.repeats import corrected_t_interval

    rows = []
    d = _changes(df)
    for (model, condition), part in d[d["condition"] != "none"].groupby(["model", "condition"]):
        changes = part["change"].dropna().to_numpy()
        if len(changes) >= 2:
            mean, low, high, p = corrected_t_interval(changes, ratio)
        else:
            mean, low, high, p = float(changes.mean()), float("nan"), float("nan"), float("nan")
        rows.append(dict(model=model, condition=condition, mean=mean, low=low, high=high, p=p))
    return pd.DataFrame(rows).set_index(["model", "condition"])


def _interval(row: pd.Series) -> str:
    """'-0.17 [-0.25, -0.09]', or the mean alone without an interval."""
    if pd.isna(row["low"]):
        return f"{row['mean']:+.2f}"
    return f"{row['mean']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}]"


def _reading(row: pd.Series) -> str:
    """Where an interval lies, in words (no fixed threshold: the interval decides)."""
    if pd.isna(row["low"]):
        return "one fold only: no interval"
    if row["high"] < 0:
        return "a loss: the interval lies below zero"
    if row["low"] > 0:
        return "a gain: the interval lies above zero"
    return "the interval includes zero: not told apart from no change"


def findings(df: pd.DataFrame, ratio: float) -> Claims:
    """What the numbers say, with the table they say it from: per model and condition the mean
    AUC change over folds with its corrected resampled t interval (95 %), then sentences quoting
    those cells: each dropped modality, which models gain without one (a modality that hurts),
    which modality the models lean on, and what noise and the external center cost. No fixed
    threshold: a change is a loss or a gain when its interval excludes 0.

    Used by notebook 12 (robustness).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
        ratio: a fold's test patients over the patients its models were fitted on
            (`tmiclnet.evaluate.repeats.fit_ratio`), for the intervals.
    """
    stats = change_intervals(df, ratio)
    cell = stats.apply(_interval, axis=1)
    order = {c: i for i, c in enumerate(_ordered(df))}
    table = cell.rename("AUC change [95 % CI]").to_frame()
    table = table.sort_index(key=lambda i: i.map(order) if i.name == "condition" else i)
    table = table.rename(index=SHORT, level="condition")
    n_folds = df["fold"].nunique()
    out = [f"Over {n_folds} folds (mean AUC change and its interval, as in the table):"]
    drops = [c for c in _ordered(df) if c.startswith("drop_") and c in set(stats.index.levels[1])]
    mean_by = {}
    for c in drops:
        here = stats.xs(c, level="condition")
        modality = c.removeprefix("drop_")
        mean_by[modality] = float(here["mean"].mean())
        said = "; ".join(f"{m} {cell[m, c]} ({_reading(here.loc[m])})" for m in here.index)
        out.append(f"Without {WORDS.get(modality, modality)}: {said}.")
        for m in here.index[here["mean"] > 0]:
            out.append(
                f"{m} is better without {WORDS.get(modality, modality)} ({cell[m, c]}): on these "
                f"folds that input added more noise than signal to it"
                + (
                    "."
                    if here.loc[m, "low"] > 0
                    else ", though the interval includes zero, so this may be chance."
                )
            )
    if mean_by:
        lean = min(mean_by, key=mean_by.get)
        here = stats.xs(f"drop_{lean}", level="condition")
        out.append(
            f"The models lean most on {WORDS.get(lean, lean)}: averaged over the models asked, "
            "removing it costs the most AUC."
        )
    for c in [c for c in _ordered(df) if c.startswith("ct_noise_") or c == "external"][-2:]:
        if c in set(stats.index.levels[1]) and c in SHORT:
            here = stats.xs(c, level="condition")
            lo = here["mean"].idxmin()
            what = "the external center" if c == "external" else f"{SHORT[c]} of CT noise"
            reading = _reading(here.loc[lo])
            out.append(f"Under {what} the largest loss is {lo}'s, {cell[lo, c]} ({reading}).")
    caption = (
        f"AUC change against the unperturbed model on the same fold: mean over {n_folds} folds "
        "[95 % corrected resampled t interval]; each model under the conditions it was asked."
    )
    return Claims(table, out, caption=caption)


def dropout_cost(df: pd.DataFrame, ratio: float, pairs: dict[str, str] | None = None) -> Claims:
    """What modality dropout costs on complete patients: each `_md` variant against the same
    model trained with every input, paired per fold on the unperturbed test patients, with the
    corrected resampled t interval (the two were trained separately on each fold).

    Used by notebook 12 (robustness).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
        ratio: a fold's test patients over the patients its models were fitted on.
        pairs: variant -> the model it was made from; None: every `X_md` with its `X` present.
    """
    from tmiclnet.evaluate.repeats import corrected_t_interval

    base = df[df["condition"] == "none"].pivot_table(index="fold", columns="model", values="auc")
    pairs = pairs or {m: m.removesuffix("_md") for m in base.columns if m.endswith("_md")}
    pairs = {v: m for v, m in pairs.items() if v in base and m in base}
    rows, words = {}, []
    for variant, model in pairs.items():
        diffs = (base[variant] - base[model]).dropna().to_numpy()
        row = {"mean": float(diffs.mean()), "low": float("nan"), "high": float("nan")}
        if len(diffs) >= 2:
            row["mean"], row["low"], row["high"], _ = corrected_t_interval(diffs, ratio)
        rows[variant] = {
            "AUC, dropout": f"{base[variant].mean():.3f}",
            "AUC, without": f"{base[model].mean():.3f}",
            "difference": _interval(pd.Series(row)),
        }
        words.append(
            f"On patients with every input, {variant} reaches {rows[variant]['AUC, dropout']} "
            f"and {model}, the same model trained without dropout, "
            f"{rows[variant]['AUC, without']}: a difference of {rows[variant]['difference']} "
            f"({_reading(pd.Series(row))})."
        )
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("trained with dropout")
    if not rows:
        words = ["No modality-dropout variant and its original were both evaluated."]
    return Claims(table, words, caption="AUC: mean over the folds; difference: paired per fold")


def test_train_ratio(data_dir, cohort: str, seed: int) -> float:
    """The corrected resampled t's n_test / n_fit for the cohort's saved folds (the main run's:
    repeat 0, drawn with `seed`), as `tmiclnet.evaluate.repeats.fit_ratio` computes it.

    Used by notebook 12 (robustness).

    Args:
        data_dir: the run's data folder (holds `results/`).
        cohort: the cohort's name.
        seed: the run's seed.
    """
    from pathlib import Path

    from tmiclnet import results
    from tmiclnet.evaluate.references import VAL_FRACTION
    from tmiclnet.evaluate.repeats import fit_ratio

    return fit_ratio(results.read_folds(Path(data_dir) / "results", cohort), VAL_FRACTION, seed)
