"""Discrimination over time: Harrell's and Uno's C and the time-dependent AUC, from risk files.

The binary view asks one question: who dies within 5 years? It cannot ask it of a patient
followed for less than that without a death, so those patients leave the evaluation. The survival
view asks every pair of patients whose order of death is known: does the one with the higher risk
die first? (Harrell's C, `concordance_index_censored`; Uno's C, `concordance_index_ipcw`, weighs
each pair by the inverse probability of staying uncensored that long, estimated on the fold's
training patients, so that the many short follow-ups do not dominate.) The time-dependent AUC at
t (`cumulative_dynamic_auc`) is the binary AUC of "died by t" against "alive after t", censored
patients weighted the same way; its integrated form averages it over the years 1 to 8.

Every metric is computed per (repeat, fold) on that fold's test patients, censored included, from
the risk files of the results store (`tmiclnet.train.risks`); intervals are Nadeau and Bengio's
corrected resampled t over the R x K folds (`tmiclnet.evaluate.repeats.corrected_t_interval`),
which includes training variability. The published Mayo score, which needs no training, gets a
bootstrap of patients instead (`mayo_trial_c`). scikit-survival computes all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tmiclnet.evaluate.repeats import corrected_t_interval

YEAR = 365.25
YEARS = tuple(range(1, 9))  # the time-dependent AUC's years
TAU_YEARS = 8  # Uno's C truncation: pairs beyond 8 years, where few remain followed, are left out
HORIZON_YEARS = 1825 / YEAR
METRICS = ("harrell", "uno", "iauc", "auc_binary")
LABELS = {
    "harrell": "Harrell's C",
    "uno": "Uno's C",
    "iauc": "integrated td-AUC",
    "auc_binary": "binary AUC",
}


def surv_array(time, event) -> np.ndarray:
    """scikit-survival's structured outcome: (event, time) per patient.

    Args:
        time: follow-up times.
        event: True where follow-up ended with the event.
    """
    from sksurv.util import Surv

    return Surv.from_arrays(np.asarray(event, bool), np.asarray(time, float))


def harrell_c(time, event, risk) -> float:
    """Harrell's C: of the pairs whose order of events is known, the share the risk orders
    right (ties in risk count one half). scikit-survival's `concordance_index_censored`.

    Args:
        time: follow-up times.
        event: True where follow-up ended with the event.
        risk: higher = worse prognosis.
    """
    from sksurv.metrics import concordance_index_censored

    e, t, r = np.asarray(event, bool), np.asarray(time, float), np.asarray(risk, float)
    return float(concordance_index_censored(e, t, r)[0])


def uno_c(train: pd.DataFrame, test: pd.DataFrame, tau: float | None = None) -> float:
    """Uno's C of the test patients' risks, the censoring distribution from `train`.

    Args:
        train: time, event of the patients the censoring weights are estimated on.
        test: time, event, risk of the patients scored.
        tau: truncation time (pairs with the first event later are ignored); None: `TAU_YEARS`
            in `time`'s unit when that is days, else no truncation.
    """
    from sksurv.metrics import concordance_index_ipcw

    test = within_follow_up(train, test)
    tau = TAU_YEARS * YEAR if tau is None else tau
    tau = min(tau, float(test["time"].max()))
    y_train = surv_array(train["time"], train["event"])
    y_test = surv_array(test["time"], test["event"])
    return float(concordance_index_ipcw(y_train, y_test, test["risk"].to_numpy(float), tau)[0])


def within_follow_up(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """`test` censored at the training patients' last follow-up: the censoring weights are
    estimated on `train` and are not defined after its last time (a later event is kept as
    censored there, as an administrative end of follow-up would)."""
    limit = float(train["time"].max()) - 1.0
    late = test["time"] >= limit
    return test.assign(time=test["time"].where(~late, limit), event=test["event"] & ~late)


def valid_times(train: pd.DataFrame, test: pd.DataFrame, years=YEARS) -> list[float]:
    """The years (in days) at which a time-dependent AUC is defined on this fold: after the
    first test event, before the last test and training follow-up, with someone at risk after."""
    t, e = test["time"].to_numpy(float), test["event"].to_numpy(bool)
    out = []
    for y in years:
        d = y * YEAR
        if e[t <= d].any() and (t > d).any() and d < train["time"].max() and d < t.max():
            out.append(d)
    return out


def td_auc(train: pd.DataFrame, test: pd.DataFrame, years=YEARS) -> tuple[pd.Series, float]:
    """(AUC at each year where it is defined, NaN elsewhere; their integrated mean) of the test
    patients' risks: scikit-survival's `cumulative_dynamic_auc` (censoring weights from `train`).

    Args:
        train: time, event of the fold's training patients.
        test: time, event, risk of its test patients.
        years: the years to evaluate.
    """
    from sksurv.metrics import cumulative_dynamic_auc

    out = pd.Series(np.nan, index=list(years), dtype=float)
    test = within_follow_up(train, test)
    times = valid_times(train, test, years)
    if len(times) == 0:
        return out, float("nan")
    y_train = surv_array(train["time"], train["event"])
    y_test = surv_array(test["time"], test["event"])
    aucs, mean = cumulative_dynamic_auc(y_train, y_test, test["risk"].to_numpy(float), times)
    out.loc[[round(d / YEAR) for d in times]] = aucs
    return out, float(mean) if len(times) > 1 else float(aucs[0])


def binary_auc(test: pd.DataFrame, horizon_days: float = 1825) -> float:
    """The binary view's AUC on the same risks: death within the horizon against known alive
    after it; the patients censored before it are left out, as the binary label leaves them.

    Args:
        test: time, event, risk of a fold's test patients.
        horizon_days: the binary label's horizon.
    """
    from sklearn.metrics import roc_auc_score

    died = test["event"] & (test["time"] <= horizon_days)
    known = died | (test["time"] > horizon_days)
    y = died[known].astype(int)
    return float(roc_auc_score(y, test.loc[known, "risk"])) if y.nunique() == 2 else float("nan")


def fold_metrics(risks: pd.DataFrame, years=YEARS) -> pd.DataFrame:
    """One row per (repeat, fold): Harrell's and Uno's C, the integrated and per-year td-AUC and
    the binary AUC of that fold's test patients (censoring weights from the other folds).

    Args:
        risks: a model's risk file (`tmiclnet.train.risks.read_risks`).
        years: the years of the time-dependent AUC.
    """
    rows = []
    for (r, k), test in risks.groupby(["repeat", "fold"]):
        train = risks.loc[(risks["repeat"] == r) & (risks["fold"] != k)]
        per_year, iauc = td_auc(train, test, years)
        row = {
            "repeat": int(r),
            "fold": int(k),
            "n": len(test),
            "events": int(test["event"].sum()),
            "harrell": harrell_c(test["time"], test["event"], test["risk"]),
            "uno": uno_c(train, test),
            "iauc": iauc,
            "auc_binary": binary_auc(test),
        }
        rows.append(row | {f"auc_{y}y": v for y, v in per_year.items()})
    return pd.DataFrame(rows)


@dataclass
class SurvivalSummary:
    """A cohort's survival view: per model and fold metrics, and their summary with intervals."""

    folds: pd.DataFrame  # model, repeat, fold, metrics
    summary: pd.DataFrame  # one row per model: mean, low, high of each metric
    ratio: float  # test over training patients of a fold (the corrected t's)


def summarise(per_fold: dict[str, pd.DataFrame], ratio: float) -> SurvivalSummary:
    """Mean and corrected-t interval of each metric over every (repeat, fold), per model.

    Args:
        per_fold: model -> `fold_metrics`.
        ratio: test over training patients of a fold (`tmiclnet.evaluate.repeats.fit_ratio`).
    """
    rows = {}
    for model, table in per_fold.items():
        row = {"folds": len(table)}
        for m in METRICS:
            values = table[m].dropna()
            if len(values) >= 2:
                mean, lo, hi, _ = corrected_t_interval(values, ratio)
            else:
                mean, lo, hi = (float(values.mean()) if len(values) else np.nan), np.nan, np.nan
            row |= {m: mean, f"{m}_low": lo, f"{m}_high": hi}
        rows[model] = row
    summary = pd.DataFrame.from_dict(rows, orient="index").sort_values("harrell", ascending=False)
    summary.index.name = "model"
    folds = pd.concat([t.assign(model=m) for m, t in per_fold.items()], ignore_index=True)
    return SurvivalSummary(folds, summary, ratio)


def paired(summary: SurvivalSummary, a: str, b: str, metric: str = "harrell") -> dict:
    """metric(a) - metric(b) over the (repeat, fold)s both have, with the corrected interval, and
    each one's mean over those folds (`mean_a`, `mean_b`).

    Args:
        summary: the cohort's `SurvivalSummary`.
        a: a model (e.g. a Cox-trained variant).
        b: the model it is compared with (e.g. its binary version).
        metric: one of `METRICS`.
    """
    wide = summary.folds.pivot_table(index=["repeat", "fold"], columns="model", values=metric)
    both = wide[[a, b]].dropna()
    d = both[a] - both[b]
    mean, lo, hi, p = corrected_t_interval(d, summary.ratio)
    return {"a": a, "b": b, "metric": metric, "diff": mean, "low": lo, "high": hi, "p": p,
            "folds": len(d), "mean_a": float(both[a].mean()),
            "mean_b": float(both[b].mean())}  # fmt: skip


def display_table(
    summary: SurvivalSummary, digits: int = 3, metrics: tuple[str, ...] = METRICS
) -> pd.DataFrame:
    """Each metric as 'mean [low, high]' (95 % corrected interval), short headers for the page.

    Args:
        summary: the cohort's `SurvivalSummary`.
        digits: decimals.
        metrics: which of `METRICS` to show (the page shows two at a time, to fit its column).
    """
    s = summary.summary
    out = pd.DataFrame(index=s.index)
    for m in metrics:
        out[LABELS[m]] = [
            f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
            if not np.isnan(lo)
            else ("" if np.isnan(v) else f"{v:.{digits}f}")
            for v, lo, hi in zip(s[m], s[f"{m}_low"], s[f"{m}_high"])
        ]
    out["folds"] = s["folds"].astype(int)
    return out


def mayo_trial_c(n_boot: int = 1000, seed: int = 0) -> dict:
    """Harrell's C of the published Mayo score on the 312 trial patients (death the event,
    transplant censored), with a bootstrap of patients (percentile 95 % interval) and the same C
    by an independent implementation (torchsurv's `ConcordanceIndex`) as a check.

    No fold and no training: the score's coefficients are fixed (fitted on these very patients by
    Dickson et al., so this is its in-sample C, the published figure being near 0.84).

    Args:
        n_boot: bootstrap resamples of the patients.
        seed: the bootstrap's seed.
    """
    import torch
    from torchsurv.metrics.cindex import ConcordanceIndex

    from tmiclnet.data import pbc
    from tmiclnet.evaluate.mayo import TRIAL_LAST_ID, mayo_risk_score

    table = pbc.load_table()
    trial = table.loc[[pbc.patient_id(n) for n in range(1, TRIAL_LAST_ID + 1)]]
    cols = ("bili", "albumin", "age", "protime", "edema")
    risk = pd.Series(mayo_risk_score(*(trial[c] for c in cols)), index=trial.index)
    follow = pbc.survival_table(trial).assign(risk=risk).dropna(subset=["risk"])
    t, e, r = (follow[c].to_numpy() for c in ("time", "event", "risk"))
    c = harrell_c(t, e, r)
    check = ConcordanceIndex()(
        torch.tensor(r, dtype=torch.float64),
        torch.tensor(e.astype(bool)),
        torch.tensor(t.astype(float), dtype=torch.float64),
    )
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        i = rng.integers(0, len(t), len(t))
        if e[i].any():
            boot.append(harrell_c(t[i], e[i], r[i]))
    low, high = np.percentile(boot, [2.5, 97.5])
    return {
        "patients": len(follow),
        "left_out": len(trial) - len(follow),
        "deaths": int(e.sum()),
        "transplants": int(follow["transplant"].sum()),
        "harrell": c,
        "low": float(low),
        "high": float(high),
        "torchsurv": float(check),
        "bootstrap": len(boot),
    }
