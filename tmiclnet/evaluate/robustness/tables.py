"""The robustness page's tables and the sentences read off them, from `scores`' rows.

Nothing here is cached or keyed: the tables are made from the rows each time, so their layout
and wording can change without recomputing a number.
"""

from __future__ import annotations

import pandas as pd

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


def _amount(change: float, sd: float) -> str:
    """'loses 0.17 ± 0.04' / 'gains 0.02 ± 0.03' in words, 'within the fold spread' if small."""
    verb = "loses" if change < 0 else "gains"
    words = f"{verb} {abs(change):.2f} ± {sd:.2f} AUC"
    return words + (" (within the spread between folds)" if abs(change) <= sd else "")


def findings(df: pd.DataFrame) -> str:
    """What the numbers say, in markdown sentences built from them (so that the page's prose
    follows the profile's numbers and cannot contradict its table): which modality the models
    trained for missing inputs lean on, and what noise and the external center cost.

    Used by notebook 12 (robustness).

    Args:
        df: the (model, fold, condition, auc, n) table from `evaluate_robustness`.
    """
    d = _changes(df)
    mean = d.groupby(["model", "condition"])["change"].mean()
    sd = d.groupby(["model", "condition"])["change"].std().fillna(0.0)
    n_folds = d["fold"].nunique()
    out = [f"Over {n_folds} folds (mean ± sd of the per-fold AUC change):"]
    drops = [c for c in _ordered(df) if c.startswith("drop_")]
    if drops:
        worst = {}
        for c in drops:
            models = sorted(m for m, k in mean.index if k == c)
            said = "; ".join(f"{m} {_amount(mean[m, c], sd[m, c])}" for m in models)
            modality = c.removeprefix("drop_")
            worst[modality] = float(mean.xs(c, level="condition").mean())
            out.append(f"- without {WORDS.get(modality, modality)}: {said}.")
        lean = min(worst, key=worst.get)
        rest = [m for m in worst if m != lean]
        if worst[lean] < -0.05:
            out.append(
                f"- The models trained for missing inputs lean on {WORDS.get(lean, lean)}: "
                f"without it they lose {-worst[lean]:.2f} AUC on average, which the other "
                f"{'two' if len(rest) == 2 else 'modalities'} do not make up for; "
                + " and ".join(
                    f"without {WORDS.get(m, m)} the AUC changes by {worst[m]:+.2f}" for m in rest
                )
                + " on average."
            )
        else:
            out.append(
                "- No single modality is indispensable: dropping any one costs at most "
                f"{-worst[lean]:.2f} AUC on average."
            )
    for c in [c for c in _ordered(df) if c.startswith("ct_noise_") or c == "external"][-2:]:
        if (c in mean.index.get_level_values("condition")) and c in SHORT:
            models = sorted(m for m, k in mean.index if k == c)
            lo = min(models, key=lambda m: mean[m, c])
            what = "the external center" if c == "external" else f"{SHORT[c]} of CT noise"
            out.append(
                f"- Under {what} the largest change is {lo}'s: it {_amount(mean[lo, c], sd[lo, c])}"
                f"; the smallest in size is {min(models, key=lambda m: abs(mean[m, c]))}'s "
                f"({mean[min(models, key=lambda m: abs(mean[m, c])), c]:+.2f})."
            )
    return "\n".join(out)
