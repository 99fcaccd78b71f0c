"""Metrics, bootstrap CI, classical references and figures, on small hand-made examples."""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

matplotlib.use("Agg")

from tests.evaluate.fakes import fake_results  # noqa: E402
from tmiclnet import results  # noqa: E402
from tmiclnet.evaluate import metrics, plots, references  # noqa: E402
from tmiclnet.inputs import folds as folds_mod  # noqa: E402


def test_binary_metrics_match_a_hand_computed_example() -> None:
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.6, 0.3, 0.9])
    m = metrics.binary_metrics(y, p, threshold=0.5)
    # predictions at 0.5: 0 0 1 0 1 -> TP=1 FP=1 TN=2 FN=1
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["sensitivity"] == pytest.approx(1 / 2) and m["specificity"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))
    # pairs (pos, neg): 0.3 beats 0.1 only; 0.9 beats all three -> 4 of 6
    assert m["auc"] == pytest.approx(4 / 6)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    # the threshold matters for thresholded metrics only
    m2 = metrics.binary_metrics(y, p, threshold=0.2)
    assert m2["sensitivity"] == 1.0 and m2["auc"] == m["auc"]


def test_fold_summary_uses_test_rows_and_sample_sd(tmp_path) -> None:
    fake_results(tmp_path)
    preds = results.load_predictions(tmp_path, "toy", "a")
    val = preds.iloc[:3].assign(split="val", prob=0.0)  # validation rows must be ignored
    per_fold = metrics.fold_metrics(pd.concat([preds, val]))
    assert list(per_fold.index) == [0, 1]
    aucs = [roc_auc_score(g["label"], g["prob"]) for _, g in preds.groupby("fold")]
    s = metrics.summarize(per_fold)
    assert s.loc["auc", "mean"] == pytest.approx(np.mean(aucs))
    assert s.loc["auc", "sd"] == pytest.approx(np.std(aucs, ddof=1))
    table = metrics.comparison_table(
        {m: results.load_predictions(tmp_path, "toy", m) for m in "ab"}
    )
    assert list(table.columns) == list(metrics.METRICS) and table.shape == (2, 6)
    assert "±" in table.iloc[0, 0]


def test_rank_auc_equals_sklearn_with_ties() -> None:
    pos, neg = np.array([[0.5, 0.7, 0.2]]), np.array([[0.5, 0.1, 0.7, 0.3]])
    y = np.r_[np.ones(3), np.zeros(4)]
    assert metrics.rank_auc(pos, neg)[0] == pytest.approx(roc_auc_score(y, np.r_[pos[0], neg[0]]))


def _two_models(n_per_fold=300, folds=3, seed=1):
    rng = np.random.default_rng(seed)
    n = n_per_fold * folds
    y = rng.integers(0, 2, n)
    ids = [f"p{i}" for i in range(n)]
    fold = np.repeat(np.arange(folds), n_per_fold)
    base = pd.DataFrame({"id": ids, "label": y, "fold": fold, "split": "test"})
    a = base.assign(prob=y + rng.normal(0, 1, n))  # AUC = Phi(1 / sqrt(2))
    b = base.assign(prob=y + rng.normal(0, 2, n))  # AUC = Phi(1 / sqrt(8))
    return a, b, norm.cdf(1 / math.sqrt(2)) - norm.cdf(1 / math.sqrt(8))


def test_bootstrap_ci_contains_true_difference_and_is_seeded() -> None:
    a, b, truth = _two_models()
    ci = metrics.bootstrap_auc_diff(a, b, n_boot=500, seed=3)
    assert ci["lo"] < truth < ci["hi"]
    assert ci["lo"] > 0  # a is clearly better
    assert ci == metrics.bootstrap_auc_diff(a, b, n_boot=500, seed=3)
    assert ci != metrics.bootstrap_auc_diff(a, b, n_boot=500, seed=4)
    same = metrics.bootstrap_auc_diff(a, a, n_boot=100, seed=0)
    assert same["diff"] == 0 and same["lo"] == 0 == same["hi"]


def test_bootstrap_refuses_models_on_different_patients() -> None:
    a, b, _ = _two_models(n_per_fold=20)
    with pytest.raises(ValueError, match="same patients"):
        metrics.bootstrap_auc_diff(a, b.iloc[5:], n_boot=10)


def test_mayo_score_on_a_hand_computed_row() -> None:
    r = references.mayo_risk_score(bili=2.0, albumin=3.5, age=50.0, protime=10.0, edema=0.5)
    hand = 0.871 * 0.693147 - 2.53 * 1.252763 + 0.039 * 50 + 2.38 * 2.302585 + 0.859 * 0.5
    assert float(r) == pytest.approx(hand, abs=1e-5)


def _clinical(n=60, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"c{i:03d}" for i in range(n)]
    y = pd.Series(np.tile([0, 1], n // 2), index=ids)
    clin = pd.DataFrame(
        {
            "age": 50 + 10 * rng.normal(size=n),
            "sex": rng.choice(["f", "m"], n),
            "bili": np.exp(rng.normal(size=n) + y.to_numpy()),
            "albumin": 3.5 + 0.3 * rng.normal(size=n),
            "protime": 10 + rng.random(n),
            "edema": rng.choice([0, 0.5, 1], n),
            "time": 100.0,
        },
        index=ids,
    )
    clin.loc[ids[:3], "protime"] = np.nan
    folds = pd.DataFrame({"id": ids, "label": y.to_numpy(), "fold": np.arange(n) % 3})
    return clin, y, folds


def test_logreg_scaler_sees_training_rows_only() -> None:
    clin, y, folds = _clinical()
    split = folds_mod.split(folds, 0, 0.25, 0)  # the networks' train/val split of fold 0
    train, test = split.train, split.test
    _, thr, model = references.fit_logreg_fold(clin, y, split)
    scaler = model.named_steps["prep"].named_transformers_["num"][-1]
    num_cols = model.named_steps["prep"].transformers_[0][2]
    assert "time" not in num_cols  # outcome fields are never predictors
    imputed = clin.loc[train, num_cols].fillna(clin.loc[train, num_cols].median())
    np.testing.assert_allclose(scaler.mean_, imputed.mean().to_numpy())
    # wild test rows change nothing that was fitted
    wild = clin.copy()
    wild.loc[test, ["age", "bili"]] = 1e6
    _, thr2, model2 = references.fit_logreg_fold(wild, y, split)
    assert thr2 == thr
    np.testing.assert_allclose(model2.named_steps["clf"].coef_, model.named_steps["clf"].coef_)


def test_references_write_the_results_layout(tmp_path) -> None:
    clin, y, folds = _clinical()
    names = references.ensure_references(clin, y, folds, tmp_path, "toy")
    assert names == ["logreg_clinical", "mayo_risk", "mayo_refit"]
    for name in names:
        preds = results.load_predictions(tmp_path, "toy", name)
        test = preds[preds["split"] == "test"]
        assert sorted(test["id"]) == sorted(folds["id"]) and set(preds["split"]) == {"val", "test"}
        assert preds["prob"].between(0, 1).all()
        thr = json.loads((tmp_path / "toy" / name / "fold0" / "threshold.json").read_text())
        assert 0 <= thr["threshold"] <= 1
    mayo = metrics.summarize(
        metrics.fold_metrics(results.load_predictions(tmp_path, "toy", "mayo_risk"))
    )
    assert mayo.loc["auc", "mean"] > 0.7  # bilirubin carries the label here
    assert references.ensure_references(clin.drop(columns="albumin"), y, folds, tmp_path, "t2") == [
        "logreg_clinical"
    ]


def test_plots_draw_one_curve_per_model(tmp_path) -> None:
    fake_results(tmp_path, models=("a", "b", "c"))
    preds = {m: results.load_predictions(tmp_path, "toy", m) for m in "abc"}
    roc = plots.roc_figure(preds)
    assert (
        len(roc.axes[0].lines) == 3 + 1 and len(roc.axes[0].collections) == 3
    )  # + chance, 3 bands
    assert len(plots.calibration_figure(preds).axes[0].lines) == 3 + 1
    assert len(plots.decision_figure(preds).axes[0].lines) == 3 + 2  # + treat all, treat none
    hist = results.load_history(tmp_path, "toy", "a")
    fig = plots.training_figure(hist)
    assert len(fig.axes[0].lines) == 2 * 2 and len(fig.axes[1].lines) == 2


def test_net_benefit_hand_computed() -> None:
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.4, 0.6, 0.1])
    # at pt = 0.5: treat 0.9 (TP) and 0.6 (FP): 1/4 - 1/4 * 1 = 0
    # at pt = 0.2: treat 0.9, 0.4 (TP) and 0.6 (FP): 2/4 - 1/4 * 0.25 = 0.4375
    np.testing.assert_allclose(plots.net_benefit(y, p, np.array([0.5, 0.2])), [0.0, 0.4375])


def test_tables_ablation_and_differences(tmp_path) -> None:
    from tmiclnet.evaluate import tables

    names = ("tmiclnet_tokens", "no_ima", "ct_only")
    fake_results(tmp_path, models=names)
    preds = {m: results.load_predictions(tmp_path, "toy", m) for m in names}
    comp = tables.comparison(preds)
    assert comp.shape == (4, 7) and comp.index[-1] == tables.PAPER_ROW
    assert comp.loc[tables.PAPER_ROW, "AUC"] == "0.822"
    assert comp.loc[tables.PAPER_ROW, tables.SEES] == "other cohort"
    assert list(comp.columns[:2]) == ["AUC", "acc"] and " ± " in comp.iloc[0]["AUC"]
    abl = tables.ablation(preds, n_boot=50)
    assert list(abl.index) == ["tmiclnet_tokens", "no_ima"]
    assert abl.iloc[0, -1] == "—" and abl.iloc[1, -1].count("[") == 1
    diffs = tables.auc_differences(preds, n_boot=50)
    assert set(diffs.index) == {"no_ima", "ct_only"}
    line = tables.oracle_line(preds, oracle_auc=0.9)
    share = (line["model AUC"] - 0.5) / (0.9 - 0.5)
    assert line["share above chance"] == pytest.approx(share, abs=5e-3)
    assert line["met"] == (share >= tables.SHARE_TARGET)
    assert tables.signal_share(0.5, 0.9) == 0.0 and tables.signal_share(0.9, 0.9) == 1.0
    assert tables.oracle_line(preds, None) is None


def test_references_are_keyed_by_content_and_reports_build(tmp_path) -> None:
    from tmiclnet.evaluate import report

    clin, y, folds = _clinical()
    references.ensure_references(clin, y, folds, tmp_path, "toy")
    stamp = (tmp_path / "toy" / "mayo_risk" / "fold0" / "predictions.csv").stat().st_mtime_ns
    references.ensure_references(clin, y, folds, tmp_path, "toy")  # unchanged content: skipped
    assert (
        tmp_path / "toy" / "mayo_risk" / "fold0" / "predictions.csv"
    ).stat().st_mtime_ns == stamp
    changed = clin.assign(age=clin["age"] + 1)
    assert references.content_key(changed, y, folds, 0) != references.content_key(clin, y, folds, 0)
    rep = report.build_report(tmp_path, "toy", n_boot=20)
    assert rep.models == ["logreg_clinical", "mayo_refit", "mayo_risk"]
    assert rep.ablation is None and rep.notes


def test_clinical_reference_uses_recorded_extra_fields(tmp_path) -> None:
    clin, y, folds = _clinical()
    extra = pd.DataFrame({"stage": np.where(y == 1, 4, 2)}, index=clin.index)
    names = references.ensure_references(clin, y, folds, tmp_path, "toy", extra=extra)
    assert names == ["logreg_clinical", "logreg_note_fields", "mayo_risk", "mayo_refit"]
    done = json.loads((tmp_path / "toy" / "logreg_clinical" / "fold0" / "done.json").read_text())
    note = json.loads((tmp_path / "toy" / "logreg_note_fields" / "fold0" / "done.json").read_text())
    assert "stage" in done["columns"] and "stage" not in note["columns"]
    auc = {
        m: metrics.summarize(
            metrics.fold_metrics(results.load_predictions(tmp_path, "toy", m))
        ).loc["auc", "mean"]
        for m in names[:2]
    }
    assert auc["logreg_clinical"] > auc["logreg_note_fields"]  # stage is the label here


def test_small_figures() -> None:
    table = pd.DataFrame([[0.8, np.nan], [0.7, 0.6]], index=["a", "b"], columns=["none", "drop"])
    fig = plots.heatmap_figure(table, "t")
    assert len(fig.axes[0].texts) == 3  # NaN cell left blank
    assert len(plots.bar_figure(pd.Series({"x": 1.0, "y": -0.5}), "t", "v").axes[0].patches) == 2
    occ = plots.occlusion_figure(np.zeros((8, 4, 4)), np.ones((8, 4, 4)), n_slices=2)
    assert len(occ.axes) == 3  # two slices + colour bar


def test_unfinished_models_are_left_out_of_paired_comparisons(tmp_path) -> None:
    from tmiclnet.evaluate import report

    fake_results(tmp_path, models=("tmiclnet_tokens", "no_ima", "ct_only"))
    (tmp_path / "toy" / "no_ima" / "fold1" / "done.json").unlink()  # still training
    rep = report.build_report(tmp_path, "toy", n_boot=20)
    assert list(rep.differences.index) == ["ct_only"] and "no_ima" in rep.notes[0]
    assert list(rep.ablation.index) == ["tmiclnet_tokens"]
    assert report.results_dir_for(tmp_path / "toy") == tmp_path / "results"


def test_differences_sorted_numerically(tmp_path) -> None:
    from tmiclnet.evaluate import tables

    fake_results(tmp_path, models=("ct_only", "tmiclnet_tokens", "text_only"))  # strengths 2, 1, 0
    diffs = tables.auc_differences(
        {
            m: results.load_predictions(tmp_path, "toy", m)
            for m in ("ct_only", "tmiclnet_tokens", "text_only")
        },
        n_boot=20,
    )
    values = [float(v) for v in diffs["Δ AUC"]]
    assert values == sorted(values) and values[0] < 0 < values[-1]


def test_p_values_never_print_as_zero() -> None:
    from tmiclnet.evaluate.tables import format_p

    assert [format_p(p) for p in (0.0, 0.0004, 0.001, 0.0456)] == [
        "< 0.001",
        "< 0.001",
        "0.001",
        "0.046",
    ]
