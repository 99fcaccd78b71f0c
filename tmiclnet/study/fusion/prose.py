"""What the study shows, in words: the page's takeaways, its Summary and the introduction's answer,
every sentence built from `tables.summary` (so the prose cannot disagree with the table).
Nothing here is in a key.
"""

from __future__ import annotations

import pandas as pd

from tmiclnet.evaluate.tables import signal_share
from tmiclnet.study.fusion.tables import COMPARISONS, LABELS, ceiling, verdict


def _sentence(row) -> str:
    what = {
        "pipeline": "late fusion of the image model and the text network",
        "control": "the logistic regression on panel values and radiomics",
    }[row["comparison"]]
    return (
        f"{what} gains {row['gain']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}] over "
        f"{LABELS[row['best_single']]}: {verdict(row)}"
    )


def takeaways(table: pd.DataFrame, oracles: pd.DataFrame, profile: str) -> str:
    """What the study shows, as Markdown: per regime the oracle's prediction and what each
    comparison's interval shows, every number read from `summary` (so the prose cannot disagree
    with the table).

    Args:
        table: `summary`'s table.
        oracles: `regimes.oracle_table`.
        profile: the profile that produced it (quick numbers are a smoke test, and say so).
    """
    n = int(table["folds"].iloc[0])
    lines = [f"**What this run shows** (profile `{profile}`, {n} paired folds per comparison):", ""]
    for regime, rows in table.groupby("regime", sort=False):
        o = oracles.loc[regime]
        said = "; ".join(_sentence(r) for _, r in rows.iterrows())
        lines.append(
            f"- **{regime.capitalize()}**: the oracle predicted a gain of {o['gain']:+.3f} "
            f"(image {o['image']:.3f}, note {o['note']:.3f}, both {o['all']:.3f})"
            + (f", {o['gain_here']:+.3f} on this cohort's own patients" if "gain_here" in o else "")
            + f". Measured: {said}."
        )
    harmful = table[table["regime"] == "harmful"]
    if len(harmful):
        worst = harmful.loc[harmful["gain"].idxmin()]
        ceiling = f"{oracles.loc['harmful', 'gain']:+.3f}"
        gains = ", ".join(f"{r['gain']:+.3f} ({r['comparison']})" for _, r in harmful.iterrows())
        if worst["high"] < 0:
            why = (
                f"fusion lost ({gains}): the weights a fusion model learns for a note that says "
                "little are fitted on a few hundred patients, and their noise cost more than the "
                "note brought"
            )
        elif worst["gain"] < 0:
            why = (
                f"fusion lost on average ({gains}), though not resolvably: the weights learnt for "
                "a note that says little cost about what the note brings"
            )
        else:
            why = (
                f"fusion did not lose ({gains}): the weak note still carries a little of z_text, "
                "which no image shows, and the penalised fits (the control's inner "
                "cross-validation, the late-fusion head's two weights) kept the cost of its "
                "noise below that; harm needs more inputs per patient than these heads give it"
            )
        lines.append(f"- In the harmful regime the note's ceiling adds {ceiling}; {why}.")
    if profile == "quick":
        lines.append(
            "- These are **quick-profile** numbers (tens of patients, two folds, two epochs): a "
            "smoke test of the pipeline, not evidence. Run the page with `-p profile cpu`."
        )
    return "\n".join(lines)


def _interval(row) -> str:
    return f"{row['gain']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"


def summary_lines(table: pd.DataFrame, oracles: pd.DataFrame, per_fold: pd.DataFrame) -> str:
    """The page's Summary as Markdown bullets, each built from the table (so the Summary claims
    nothing the table does not show).

    Args:
        table: `summary`'s table.
        oracles: `regimes.oracle_table`.
        per_fold: `run_study`'s rows (for the readers' shares above chance).
    """
    t = table.set_index(["regime", "comparison"])
    predicted = ", ".join(f"{g:+.3f} ({r})" for r, g in oracles["gain"].items())
    lines = [
        "- Fusion can only add what one modality knows and the others lack. Computed from the "
        f"generator before any training, the oracle's gain over the better single modality was "
        f"{predicted}.",
    ]
    for comparison, what in (("control", "The positive control"), ("pipeline", "The pipeline")):
        parts = [
            f"{regime} {_interval(t.loc[(regime, comparison)])}: "
            f"{verdict(t.loc[(regime, comparison)])}"
            for regime in oracles.index
            if (regime, comparison) in t.index
        ]
        lines.append(f"- {what} ({LABELS[COMPARISONS[comparison][0]]}): " + "; ".join(parts) + ".")
    if "complementary" in oracles.index:
        comp = per_fold[per_fold["regime"] == "complementary"].groupby("model")["auc"].mean()
        note = ceiling(oracles, "complementary", "text_only")
        text, panel = signal_share(comp["text_only"], note), signal_share(comp["panel_lr"], note)
        line = (
            f"- On the complementary note the text network reached {text:.0%} of the note's "
            f"signal above chance and the panel LR, which reads the values themselves, "
            f"{panel:.0%} (against the note's oracle on these patients)."
        )
        control = t.loc[("complementary", "control")]
        pipeline = t.loc[("complementary", "pipeline")]
        if control["low"] > 0 and pipeline["low"] <= 0 and text < panel:
            line += (
                " Fusion gained resolvably where the note's values were read (the control) and "
                "not where the text network read it: the pipeline's smaller gain goes with a "
                "weaker reading of the note, not with fusion failing."
            )
        lines.append(line)
    lines.append(
        "- Every interval is the corrected resampled t over repeated folds; an interval that "
        "holds 0 says these folds cannot tell a gain from none (the power table gives the "
        "smallest gain they resolve), not that there is none."
    )
    return "\n".join(lines)


def answer(table: pd.DataFrame) -> str:
    """'When does fusion help?' in one paragraph for the introduction's box
    (`tmiclnet.book.findings`), every number read from the table.

    Args:
        table: `summary`'s table.
    """
    t = table.set_index(["regime", "comparison"])
    said = {
        "complementary": "when the note carries a factor no image shows",
        "redundant": "when it repeats the image's",
        "harmful": "when it says little",
    }
    parts = []
    for regime, words in said.items():
        if (regime, "control") in t.index:
            row = t.loc[(regime, "control")]
            parts.append(
                f"{words}, fusing the note's values with radiomics gains {_interval(row)} AUC "
                f"(oracle {row['oracle_gain']:+.3f})"
            )
    text = "Over repeated folds with corrected 95 % intervals: " + "; ".join(parts) + "."
    if ("complementary", "pipeline") in t.index:
        row = t.loc[("complementary", "pipeline")]
        text += (
            f" Through the book's text network, the complementary gain is {_interval(row)}: "
            f"{verdict(row)}."
        )
    return text
