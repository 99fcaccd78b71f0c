"""The study's summary, its verdicts and the page's prose, read off `training.run_study`'s rows.

Per regime and comparison, the fusion gain over the better single modality is the mean of the
R x K paired fold differences with the Nadeau-Bengio corrected 95 % interval
(`tmiclnet.evaluate.repeats.corrected_t_interval`). Two comparisons per regime:

- **pipeline**: the late-fusion head over the image model and the text network (what the book's
  reader makes of the note);
- **control**: the logistic regression on panel values + radiomics over each alone (what fusion
  gains when reading the note is not the problem).

Every sentence of the prose is built from these numbers. Nothing here is in a key.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from tmiclnet.evaluate.repeats import LEVEL, corrected_t_interval
from tmiclnet.evaluate.tables import signal_share
from tmiclnet.study.fusion.regimes import PANEL_WORDS, REGIMES, regime_notes

# comparison -> (fusion model, its single-modality models)
COMPARISONS = {
    "pipeline": ("late_fusion", ("image_lr", "text_only")),
    "control": ("panel_image_lr", ("image_lr", "panel_lr")),
}
LABELS = {
    "image_lr": "image (radiomics LR)",
    "text_only": "text network",
    "late_fusion": "late fusion",
    "panel_lr": "panel LR (control)",
    "panel_image_lr": "panel + radiomics LR (control)",
}
# the oracle each model is held to: what its modality (or modalities) can reach
CEILING = {
    "image_lr": "image",
    "text_only": "note",
    "panel_lr": "note",
    "late_fusion": "all",
    "panel_image_lr": "all",
}


def ceiling(oracles: pd.DataFrame, regime: str, model: str) -> float:
    """The oracle a model is held to: its modality's on the cohort's own patients when the table
    has it (`oracle_table(..., cohort)`), else the population's.

    Args:
        oracles: `regimes.oracle_table`.
        regime: the regime.
        model: a study model (`CEILING` names what it reads).
    """
    key = CEILING[model]
    here = f"{key}_here"
    return float(oracles.loc[regime, here if here in oracles.columns else key])


def resolvable_gain(sd: float, n_diffs: int, ratio: float, level: float = LEVEL) -> float:
    """The smallest mean gain whose corrected interval excludes 0, given the sd of the fold
    differences: t(J-1) * sqrt(1/J + n_test/n_fit) * sd.

    Args:
        sd: sd of the J paired fold differences.
        n_diffs: J, the number of (repeat, fold) differences.
        ratio: test over fit patients of a fold (`fit_ratio`).
        level: the interval's coverage.
    """
    t = float(stats.t.ppf(0.5 + level / 2, n_diffs - 1))
    return t * float(np.sqrt(1.0 / n_diffs + ratio)) * float(sd)


def patients_needed(gain: float, sd: float, n: int, n_diffs: int, ratio: float) -> int:
    """Patients the cohort needs for `gain` to be resolved, if the fold sd shrinks as one over
    the square root of the test fold's size (an AUC's standard error does): n (r / gain)^2,
    r = `resolvable_gain` at n patients.

    Args:
        gain: the gain to resolve (e.g. the oracle's, or the one measured).
        sd: sd of the fold differences measured at `n` patients.
        n: the cohort's patients.
        n_diffs: J, the number of (repeat, fold) differences.
        ratio: test over fit patients of a fold.
    """
    if gain <= 0:
        return -1
    return int(np.ceil(n * (resolvable_gain(sd, n_diffs, ratio) / gain) ** 2))


def power_table(table: pd.DataFrame, n_patients: int, ratio: float) -> pd.DataFrame:
    """Per regime and comparison: the fold sd of the gain, the smallest gain these folds resolve,
    and the patients a cohort would need to resolve the oracle's gain (`patients_needed`).

    Args:
        table: `summary`'s table.
        n_patients: the cohort's patients.
        ratio: the folds' test/fit ratio.
    """
    need = [
        patients_needed(r.oracle_gain, r.sd, n_patients, r.folds, ratio) for r in table.itertuples()
    ]
    return pd.DataFrame(
        {
            "regime": table["regime"],
            "comparison": table["comparison"],
            "oracle gain": table["oracle_gain"].round(3),
            "fold sd": table["sd"].round(3),
            "resolvable at n": table["resolvable"].round(3),
            "patients for the oracle's gain": [n if n > 0 else "-" for n in need],
        }
    ).set_index(["regime", "comparison"])


# A note's lab line: "- Total bilirubin 2.3 mg/dL (ref 0.1-1.2) H" (see tmiclnet.data.notes).
_LAB_LINE = re.compile(
    r"^- (?P<name>.+?) (?P<value>[<>]?[\d.]+) (?P<unit>\S+) \(ref [^)]*\)(?P<flag> [HL])?$"
)


def example_panel(cohort, pid: str, regimes=REGIMES) -> pd.DataFrame:
    """One patient's liver panel under each regime: a row per lab, its value, unit and the
    note's H / L flag per regime (the rest of the note never changes).

    Args:
        cohort: the synthetic cohort (`tmiclnet.data.cohort.load`).
        pid: the patient.
        regimes: the regimes to show, one column each.
    """
    columns = {}
    for g in regimes:
        values = {}
        for line in regime_notes(cohort, g)[pid].splitlines():
            m = _LAB_LINE.match(line.strip())
            if m and any(w in m["name"] for w in PANEL_WORDS):
                values[m["name"]] = f"{m['value']} {m['unit']}{m['flag'] or ''}"
        columns[g.name] = values
    return pd.DataFrame(columns).rename_axis("lab")


def summary(per_fold: pd.DataFrame, oracles: pd.DataFrame, ratio: float) -> pd.DataFrame:
    """One row per (regime, comparison): the oracle's gain (the prediction), the single models'
    and the fusion model's mean AUC, the better single one (by mean AUC), and the gain's mean,
    corrected interval, p, fold sd and the smallest gain these folds resolve.

    Args:
        per_fold: `run_study`'s rows.
        oracles: `regimes.oracle_table`.
        ratio: the folds' test/fit ratio (`run_study`).
    """
    rows = []
    for regime, g in per_fold.groupby("regime", sort=False):
        wide = g.pivot_table(index=["repeat", "fold"], columns="model", values="auc").dropna()
        for comparison, (fused, singles) in COMPARISONS.items():
            means = wide[list(singles)].mean()
            best = str(means.idxmax())
            diff = wide[fused] - wide[best]
            mean, lo, hi, p = corrected_t_interval(diff.to_numpy(), ratio)
            sd = float(diff.std(ddof=1))
            rows.append(
                {
                    "regime": regime,
                    "comparison": comparison,
                    "oracle_gain": float(oracles.loc[regime, "gain"]),
                    "oracle_gain_here": float(oracles.loc[regime].get("gain_here", np.nan)),
                    **{f"{m}_auc": float(wide[m].mean()) for m in (*singles, fused)},
                    "best_single": best,
                    "fusion": fused,
                    "gain": mean,
                    "low": lo,
                    "high": hi,
                    "p": p,
                    "sd": sd,
                    "folds": len(diff),
                    "resolvable": resolvable_gain(sd, len(diff), ratio),
                }
            )
    return pd.DataFrame(rows)


def verdict(row) -> str:
    """What one comparison's interval shows, in words.

    Args:
        row: a `summary` row.
    """
    if row["low"] > 0:
        return "fusion gains (interval above 0)"
    if row["high"] < 0:
        return "fusion loses (interval below 0)"
    return "no difference resolved (interval holds 0)"


def verdict_table(table: pd.DataFrame) -> pd.DataFrame:
    """The page's (and the command's) table: per regime and comparison, the oracle's gain, the
    measured gain with its corrected 95 % interval, and what the interval shows.

    Args:
        table: `summary`'s table.
    """
    return pd.DataFrame(
        {
            "regime": table["regime"],
            "comparison": table["comparison"],
            "oracle gain": table["oracle_gain"].map("{:+.3f}".format),
            "on these patients": table["oracle_gain_here"].map("{:+.3f}".format),
            "best single": table["best_single"].map(LABELS),
            "measured gain [95% CI]": [
                f"{r.gain:+.3f} [{r.low:+.3f}, {r.high:+.3f}]" for r in table.itertuples()
            ],
            "fold sd": table["sd"].round(3),
            "resolvable": table["resolvable"].round(3),
            "verdict": [verdict(r) for _, r in table.iterrows()],
        }
    ).set_index(["regime", "comparison"])


def models_table(per_fold: pd.DataFrame, oracles: pd.DataFrame) -> pd.DataFrame:
    """Per regime and model: test AUC (mean ± sd over every fold) and its share of the signal
    above chance, (AUC - 0.5) / (oracle - 0.5), against its modality's oracle (`ceiling`).

    Args:
        per_fold: `run_study`'s rows.
        oracles: `regimes.oracle_table`.
    """
    stats_ = per_fold.groupby(["regime", "model"], sort=False)["auc"].agg(["mean", "std"])
    rows = []
    for (regime, model), s in stats_.iterrows():
        top = ceiling(oracles, regime, model)
        rows.append(
            {
                "regime": regime,
                "model": LABELS[model],
                "AUC": f"{s['mean']:.3f} ± {s['std']:.3f}",
                "oracle": round(top, 3),
                "share above chance": round(signal_share(s["mean"], top), 2),
            }
        )
    return pd.DataFrame(rows).set_index(["regime", "model"])


def ceiling_breaches(per_fold: pd.DataFrame, oracles: pd.DataFrame, ratio: float) -> list[str]:
    """Models whose mean AUC exceeds their ceiling beyond the folds' noise (the corrected
    interval of AUC - oracle lies above 0): none, if the oracle is a ceiling.

    Args:
        per_fold: `run_study`'s rows.
        oracles: `regimes.oracle_table`.
        ratio: the folds' test/fit ratio.
    """
    out = []
    for (regime, model), g in per_fold.groupby(["regime", "model"], sort=False):
        over = g["auc"].dropna().to_numpy() - ceiling(oracles, regime, model)
        if len(over) > 1 and corrected_t_interval(over, ratio)[1] > 0:
            out.append(f"{regime}/{model}")
    return out


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
