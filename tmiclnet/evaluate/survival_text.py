"""The survival page's tables and sentences, built from the numbers (never typed by hand).

`cohort_counts` says who the binary label keeps and drops; `cox_table` pairs each Cox-trained
model with its binary version on the same folds; `findings` turns the survival summary into the
page's conclusion, so the prose follows whichever profile the page was run with.
"""

from __future__ import annotations

import pandas as pd

from tmiclnet.evaluate.references import IN_SAMPLE
from tmiclnet.evaluate.survival import LABELS, SurvivalSummary, paired
from tmiclnet.models.catalogue import COX_SUFFIX


def cohort_counts(follow_up: pd.DataFrame, eligible: pd.Index, horizon_days: int = 1825) -> dict:
    """Who the binary label keeps and who it drops, among the patients of a survival view.

    Used by notebook 09b (survival).

    Args:
        follow_up: time (days), event, transplant of every patient (`pbc.survival_table`).
        eligible: the patients with a binary label (the cohort's).
        horizon_days: the binary label's horizon.
    """
    dropped = follow_up.loc[follow_up.index.difference(eligible)]
    return {
        "patients": len(follow_up),
        "with a binary label": len(eligible),
        "dropped by the horizon": len(dropped),
        "of whom transplanted": int(dropped["transplant"].sum()),
        "of whom alive at their last visit": int((~dropped["transplant"]).sum()),
        "deaths in all follow-up": int(follow_up["event"].sum()),
        "deaths within the horizon": int(
            (follow_up["event"] & (follow_up["time"] <= horizon_days)).sum()
        ),
    }


def cox_table(
    summary: SurvivalSummary, bases: list[str], metric: str = "harrell", digits: int = 3
) -> pd.DataFrame:
    """Per base model: one C index (`metric`) of its binary and Cox-trained versions, each the mean
    over the (repeat, fold)s both have (the same test patients), and Δ = C(Cox) - C(binary) with
    its 95 % corrected interval.

    Used by notebook 09b (survival), once for Harrell's C and once for Uno's C.

    Args:
        summary: the cohort's `SurvivalSummary` (both versions in it).
        bases: the base models (their `<base>_cox` must be in the summary).
        metric: "harrell" or "uno" (`tmiclnet.evaluate.survival.METRICS`).
        digits: decimals.
    """
    rows = {}
    s = summary.summary
    for base in bases:
        cox = f"{base}{COX_SUFFIX}"
        if base not in s.index or cox not in s.index:
            continue
        d = paired(summary, cox, base, metric)
        rows[base] = {
            "binary": round(d["mean_b"], digits),
            "Cox": round(d["mean_a"], digits),
            "Δ [95% CI]": (
                f"{d['diff']:+.{digits}f} [{d['low']:+.{digits}f}, {d['high']:+.{digits}f}]"
            ),
            "folds": d["folds"],
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = f"{LABELS[metric]}: model"
    return out


def _verdict(d: dict) -> str:
    if d["low"] > 0:
        return "the interval excludes 0: the Cox-trained version ranks better"
    if d["high"] < 0:
        return "the interval excludes 0: the binary version ranks better"
    return "the interval includes 0: these data cannot tell the two apart"


def findings(summary: SurvivalSummary, bases: list[str], mayo: dict | None = None) -> str:
    """The page's conclusion in plain words, from the numbers (Markdown).

    Used by notebook 09b (survival).

    Args:
        summary: the cohort's `SurvivalSummary`.
        bases: the models that have a Cox-trained version in the summary.
        mayo: `tmiclnet.evaluate.survival.mayo_trial_c`'s result, if computed.
    """
    s = summary.summary
    n = int(s["folds"].max())

    def c_of(model: str) -> str:
        row = s.loc[model]
        return (
            f"**{model}**'s ({row['harrell']:.3f}, 95 % corrected interval "
            f"[{row['harrell_low']:.3f}, {row['harrell_high']:.3f}])"
        )

    best = s.index[0]
    head = f"- Over {n} test folds, the highest mean Harrell's C is {c_of(best)}"
    fair = [m for m in s.index if m not in IN_SAMPLE]
    if best in IN_SAMPLE:
        head += f", {IN_SAMPLE[best]}"
        if fair:
            head += f"; the highest out of sample is {c_of(fair[0])}"
    lines = [head + "."]
    if mayo is not None:
        lines.append(
            f"- The published Mayo score on the {mayo['patients']} trial patients, in sample: "
            f"Harrell's C {mayo['harrell']:.3f} [{mayo['low']:.3f}, {mayo['high']:.3f}]."
        )
    for base in bases:
        cox = f"{base}{COX_SUFFIX}"
        if base in s.index and cox in s.index:
            d = paired(summary, cox, base)
            lines.append(
                f"- {cox} against {base}: C(Cox) − C(binary) = {d['diff']:+.3f} "
                f"[{d['low']:+.3f}, {d['high']:+.3f}]; {_verdict(d)}."
            )
    gap = (s["harrell"] - s["auc_binary"]).dropna()
    if len(gap):
        lines.append(
            f"- Harrell's C is below the binary AUC for {int((gap < 0).sum())} of {len(gap)} "
            "models: ranking every pair over all of follow-up, censored patients in, is a harder "
            "question than separating deaths within 5 years from 5-year survivors."
        )
    return "\n".join(lines)
