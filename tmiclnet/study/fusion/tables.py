"""The study's summary and verdicts, read off `training.run_study`'s rows (the words are `prose`'s).

Per regime and comparison, the fusion gain over the better single modality is the mean of the
R x K paired fold differences with the Nadeau-Bengio corrected 95 % interval
(`tmiclnet.evaluate.repeats.corrected_t_interval`). Two comparisons per regime:

- **pipeline**: the late-fusion head over the image model and the text network (what the book's
  reader makes of the note);
- **control**: the logistic regression on panel values + radiomics over each alone (what fusion
  gains when reading the note is not the problem).

Nothing here is in a key.
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
# the single models in one word, for `verdict_table`'s narrow `best` column
SHORT = {"image_lr": "image", "text_only": "text", "panel_lr": "panel"}
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
    """Per regime and comparison: the oracle's gain, the fold sd of the gain, the smallest gain
    these folds resolve (`resolvable`) and the patients a cohort would need to resolve the
    oracle's gain (`patients needed`, `patients_needed`; "-" where the oracle predicts none).

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
            "resolvable": table["resolvable"].round(3),
            "patients needed": [n if n > 0 else "-" for n in need],
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


def verdict(row, short: bool = False) -> str:
    """What one comparison's interval shows, in words (the prose's), or with `short` in a word
    (`verdict_table`'s): fusion `gains` (interval above 0), `loses` (below 0), or `unresolved`
    (the interval holds 0).

    Args:
        row: a `summary` row.
        short: one word.
    """
    if row["low"] > 0:
        return "gains" if short else "fusion gains (interval above 0)"
    if row["high"] < 0:
        return "loses" if short else "fusion loses (interval below 0)"
    return "unresolved" if short else "no difference resolved (interval holds 0)"


def verdict_table(table: pd.DataFrame) -> pd.DataFrame:
    """The page's (and the command's) table: per regime and comparison, the oracle's gain in the
    population (`oracle`; on the cohort's own patients it is `oracle_table`'s `gain_here`), the
    better single model (`best`, `SHORT`), the measured gain with its corrected 95 % interval,
    and what the interval shows (`verdict`). The fold sd and the smallest resolvable gain are
    `power_table`'s; the columns are few enough for the page at 1280 px.

    Args:
        table: `summary`'s table.
    """
    return pd.DataFrame(
        {
            "regime": table["regime"],
            "comparison": table["comparison"],
            "oracle": table["oracle_gain"].map("{:+.3f}".format),
            "best": table["best_single"].map(SHORT),
            "gain [95% CI]": [
                f"{r.gain:+.3f} [{r.low:+.3f}, {r.high:+.3f}]" for r in table.itertuples()
            ],
            "verdict": [verdict(r, short=True) for _, r in table.iterrows()],
        }
    ).set_index(["regime", "comparison"])


def models_table(per_fold: pd.DataFrame, oracles: pd.DataFrame) -> pd.DataFrame:
    """Per regime and model: test AUC (mean ± sd over every fold) and its share of the signal
    above chance (`share`), (AUC - 0.5) / (oracle - 0.5), against its modality's oracle
    (`ceiling`).

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
                "share": round(signal_share(s["mean"], top), 2),
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
