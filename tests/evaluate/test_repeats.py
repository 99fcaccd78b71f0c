"""Repeated-CV summary: the corrected interval on a known example, ranks, table and conclusion."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

matplotlib.use("Agg")

from tests.evaluate.fakes import fake_results  # noqa: E402
from tmiclnet import results  # noqa: E402
from tmiclnet.evaluate import repeats
from tmiclnet.evaluate.plots_repeats import ranking_figure  # noqa: E402
from tmiclnet.evaluate.references import IN_SAMPLE  # noqa: E402


def test_corrected_interval_on_a_known_example() -> None:
    # d = 1..5: mean 3, s^2 = 2.5; with n_test/n_train = 1/4 the variance of the mean is
    # (1/5 + 1/4) * 2.5 = 1.125, and t(0.975, 4) = 2.776445 -> half-width 2.944863
    mean, lo, hi, p = repeats.corrected_t_interval([1, 2, 3, 4, 5], 0.25)
    assert mean == pytest.approx(3.0)
    assert (lo, hi) == pytest.approx((3 - 2.944863, 3 + 2.944863), abs=1e-5)
    assert p == pytest.approx(2 * stats.t.sf(3 / np.sqrt(1.125), 4))
    # ratio 0 is the naive paired t interval; the correction only widens it
    naive = stats.ttest_1samp([1, 2, 3, 4, 5], 0).confidence_interval(0.95)
    _, lo0, hi0, _ = repeats.corrected_t_interval([1, 2, 3, 4, 5], 0.0)
    assert (lo0, hi0) == pytest.approx((naive.low, naive.high))
    assert hi - lo > hi0 - lo0
    with pytest.raises(ValueError):
        repeats.corrected_t_interval([1.0], 0.25)


def _aucs(n_repeats: int = 3, n_folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Model 'a' better than 'b' by 0.05 in every fold, 'c' a coin flip around 'b'."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_repeats):
        for k in range(n_folds):
            base = 0.7 + 0.05 * rng.normal()
            rows += [
                (r, k, "a", base + 0.05),
                (r, k, "b", base),
                (r, k, "c", base + 0.02 * rng.normal()),
            ]
    return pd.DataFrame(rows, columns=["repeat", "fold", "model", "auc"])


def test_rank_counts_sum_to_repeats_times_folds() -> None:
    aucs = _aucs(3, 5)
    counts = repeats.rank_counts(aucs)
    assert list(counts.columns) == [1, 2, 3]
    assert (counts.sum(axis=1) == 15).all()  # each model ranked once per (repeat, fold)
    assert (counts.sum(axis=0) == 15).all()  # each rank given once per (repeat, fold), no ties
    assert counts.loc["a", 1] == 15  # 'a' always first
    tied = repeats.rank_counts(aucs.assign(auc=0.5))
    assert (tied[1] == 15).all()  # ties share the better rank


def test_summary_intervals_and_conclusion() -> None:
    table = repeats.summary_table(_aucs(), ratio=0.25, main="b")
    assert list(table.index[:1]) == ["a"] and table.loc["a", "first"] == 15
    assert table.loc["a", "diff"] == pytest.approx(-0.05)
    assert table.loc["a", "excludes_0"] and table.loc["a", "diff_high"] < 0
    assert not table.loc["c", "excludes_0"]
    assert np.isnan(table.loc["b", "diff"]) and table.loc["b", "folds"] == 15
    rep = repeats.RepeatReport(
        "toy", [0, 1, 2], 5, 0.25, _aucs(), table, repeats.rank_counts(_aucs())
    )
    text = repeats.conclusion(rep, main="b")
    assert "best mean AUC is **a**" in text and "15 test folds" in text
    assert "excludes 0: b is worse" in text


def test_evaluate_repeats_reads_each_repeat_and_draws(tmp_path) -> None:
    root = tmp_path / "results"
    models = ("tmiclnet_tokens", "ct_only", "text_only")
    fake_results(root, "toy", models, seed=0)
    fake_results(results.repeat_dir(root, 1), "toy", models[:2] + ("late_fusion",), seed=1)
    rep = repeats.evaluate_repeats(tmp_path, "toy", n_repeats=3, with_references=False)
    assert rep.repeats == [0, 1] and any("repeat 2: not trained" in n for n in rep.notes)
    assert sorted(rep.summary.index) == ["ct_only", "tmiclnet_tokens"]  # in every repeat
    assert (rep.counts.sum(axis=1) == 2 * 2).all()
    assert rep.ratio == pytest.approx(20 / 16)  # 2 folds of 20: 20 test / 16 fitted on
    shown = repeats.display_table(rep)
    assert shown.loc["ct_only"].iloc[1].startswith(("+", "-"))
    assert repeats.best_unimodal(rep) == "ct_only"
    fig = ranking_figure(rep)
    assert len(fig.axes) == 2
    fig.savefig(tmp_path / "ranking.png", dpi=100)


def test_the_corrected_interval_uses_the_fit_size() -> None:
    """5 folds of 100 patients, 20 % of each training part held out: 20 test / 64 fitted on."""
    ids = [f"p{i:03d}" for i in range(100)]
    folds = pd.DataFrame(
        {"id": ids, "label": [i % 2 for i in range(100)], "fold": [i % 5 for i in range(100)]}
    )
    assert repeats.fit_ratio(folds, 0.2, seed=0) == pytest.approx(0.3125)
    d = np.array([0.02, 0.05, -0.01, 0.04, 0.03] * 3)
    _, lo_fit, hi_fit, _ = repeats.corrected_t_interval(d, 0.3125)
    _, lo_all, hi_all, _ = repeats.corrected_t_interval(d, 0.25)
    assert hi_fit - lo_fit > hi_all - lo_all  # the fit size widens what every non-test count gave


@pytest.mark.parametrize("reference", ["mayo_risk", "mayo_refit"])
def test_an_in_sample_reference_is_never_named_best_unmarked(reference) -> None:
    """mayo_refit too: its coefficients are refit per fold, its inputs were chosen in sample."""
    aucs = _aucs().replace({"model": {"a": reference}})
    table = repeats.summary_table(aucs, ratio=0.3125, main="b")
    assert table.index[0] == reference
    rep = repeats.RepeatReport("toy", [0, 1, 2], 5, 0.3125, aucs, table, repeats.rank_counts(aucs))
    text = repeats.conclusion(rep, main="b")
    mark = f"**{reference}** ({IN_SAMPLE[reference]})"
    assert text.count(f"**{reference}**") == text.count(mark) >= 1
    assert "The best out of sample is **c**" in text


def test_ablation_table_reads_the_change_as_ablation_minus_full():
    from tmiclnet.evaluate.repeats import RepeatReport, ablation_table, summary_table

    rows = []
    for k in range(10):
        r, f = divmod(k, 5)
        rows += [(r, f, "tmiclnet_tokens", 0.80 + 0.01 * (k % 3)),
                 (r, f, "no_ima", 0.70 + 0.01 * (k % 2)),
                 (r, f, "no_tmff", 0.80 + 0.01 * (k % 3) + 0.002 * (k % 2 - 0.5))]  # fmt: skip
    aucs = pd.DataFrame(rows, columns=["repeat", "fold", "model", "auc"])
    rep = RepeatReport("pbc", [0, 1], 5, 0.3125, aucs, summary_table(aucs, 0.3125), None)
    table = ablation_table(rep)
    assert list(table.index) == ["tmiclnet_tokens", "no_ima", "no_tmff"]
    assert table.loc["no_ima", "Δ vs full [95% CI]"].startswith("-0.1")
    assert table.loc["no_ima", "excludes 0"] == "yes"
    assert table.loc["no_tmff", "excludes 0"] == "no"
    assert table.loc["tmiclnet_tokens", "Δ vs full [95% CI]"] == "—"
