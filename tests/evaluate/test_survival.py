"""The survival view's metrics: Harrell's C against a pairwise count, the Mayo score's C on the
trial patients against torchsurv's, Uno's C and the time-dependent AUC on known orderings, and
the per-fold table and intervals built from a risk file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmiclnet.evaluate import survival


def pairwise_c(time, event, risk) -> float:
    """Harrell's C by counting every comparable pair (the shorter time ended with the event)."""
    num = den = 0.0
    for i in range(len(time)):
        if not event[i]:
            continue
        for j in range(len(time)):
            if time[j] > time[i]:
                den += 1
                num += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return num / den


def follow_up(n: int = 200, seed: int = 0, signal: float = 1.0) -> pd.DataFrame:
    """Exponential times whose hazard rises with `risk`, censored at random."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    t = rng.exponential(1000 * np.exp(-signal * risk))
    c = rng.uniform(200, 4000, n)
    return pd.DataFrame({"time": np.minimum(t, c).round(), "event": t <= c, "risk": risk})


def test_harrell_c_counts_pairs_like_a_hand_count() -> None:
    f = follow_up(80, seed=1)
    f.loc[:5, "risk"] = 0.0  # ties in risk count one half
    want = pairwise_c(f["time"].to_numpy(), f["event"].to_numpy(), f["risk"].to_numpy())
    assert survival.harrell_c(f["time"], f["event"], f["risk"]) == pytest.approx(want, abs=1e-9)


def test_c_indices_are_one_for_a_perfect_order_and_near_a_half_for_noise() -> None:
    f = follow_up(300, seed=2, signal=0.0)
    perfect = f.assign(risk=-f["time"])
    train = follow_up(300, seed=3)
    assert survival.harrell_c(perfect["time"], perfect["event"], perfect["risk"]) > 0.99
    assert survival.uno_c(train, perfect) > 0.99
    assert abs(survival.uno_c(train, f) - 0.5) < 0.08


def test_td_auc_is_defined_only_where_someone_died_before_and_lived_after() -> None:
    f = follow_up(300, seed=4)
    per_year, mean = survival.td_auc(f, f)
    last = f["time"].max() / survival.YEAR
    assert per_year.loc[[y for y in per_year.index if y >= last]].isna().all()
    assert per_year.dropna().between(0.5, 1.0).all() and 0.5 < mean < 1.0


def test_mayo_score_c_on_the_trial_agrees_with_torchsurv_and_the_published_figure() -> None:
    out = survival.mayo_trial_c(n_boot=50)
    assert out["patients"] == 312 and out["deaths"] == 125
    assert out["harrell"] == pytest.approx(out["torchsurv"], abs=5e-4)
    assert 0.80 < out["harrell"] < 0.88  # Dickson et al.: near 0.84
    assert out["low"] < out["harrell"] < out["high"]


def risk_file(n_folds: int = 3, repeats: int = 2) -> pd.DataFrame:
    frames = []
    for r in range(repeats):
        f = follow_up(240, seed=10 + r)
        f["id"] = [f"p{i}" for i in range(len(f))]
        f["fold"] = np.arange(len(f)) % n_folds
        frames.append(f.assign(repeat=r))
    return pd.concat(frames, ignore_index=True)


def test_fold_metrics_and_summary_have_an_interval_around_each_mean() -> None:
    risks = risk_file()
    per_fold = survival.fold_metrics(risks)
    assert len(per_fold) == 6 and (per_fold["n"] == 80).all()
    assert per_fold["harrell"].between(0.55, 0.95).all()
    noise = risks.assign(risk=np.random.default_rng(0).normal(size=len(risks)))
    summary = survival.summarise(
        {"signal": per_fold, "noise": survival.fold_metrics(noise)}, ratio=0.3
    )
    row = summary.summary.loc["signal"]
    assert row["harrell_low"] < row["harrell"] < row["harrell_high"]
    assert summary.summary.index[0] == "signal"
    diff = survival.paired(summary, "signal", "noise")
    assert diff["folds"] == 6 and diff["low"] > 0  # signal beats noise, interval clear of 0
    shown = survival.display_table(summary)
    assert shown.loc["signal", "Harrell's C"].count("[") == 1


def test_a_model_on_fewer_repeats_pairs_and_averages_on_the_folds_both_have() -> None:
    """The survival page trains the Cox variants on the first repeat only: the comparison, and
    the means shown beside it, must use that repeat's folds of the binary model, not all."""
    risks = risk_file()  # two repeats of three folds
    full = survival.fold_metrics(risks)
    first = survival.fold_metrics(risks[risks["repeat"] == 0])
    summary = survival.summarise({"binary": full, "cox": first}, ratio=0.3)
    d = survival.paired(summary, "cox", "binary")
    assert d["folds"] == 3 and abs(d["diff"]) < 1e-12  # the same risks on the shared folds
    assert d["mean_b"] == first["harrell"].mean() != full["harrell"].mean()


def test_binary_auc_leaves_out_the_censored_before_the_horizon() -> None:
    test = pd.DataFrame(
        {
            "time": [100, 2000, 500, 3000],
            "event": [True, False, False, True],
            "risk": [0.9, 0.1, 0.99, 0.2],
        }
    )
    # the patient censored at 500 days (risk 0.99) is dropped: 1 death vs 2 known alive
    assert survival.binary_auc(test) == 1.0
