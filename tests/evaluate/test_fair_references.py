"""Fair references: fitted on the networks' train split only, labelled, Mayo out of sample; the
image ceiling (what the CT shows) among them, never fitted on a test patient."""

from __future__ import annotations

import json
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

matplotlib.use("Agg")

from tmiclnet import results  # noqa: E402
from tmiclnet.data import pbc  # noqa: E402
from tmiclnet.evaluate import mayo, plots, references, report, tables  # noqa: E402
from tmiclnet.inputs import folds as folds_mod  # noqa: E402

NAMES = [
    "logreg_clinical", "logreg_note_fields", "logreg_image_fields", "mayo_risk", "mayo_refit",
]  # fmt: skip


def _cohort(n: int = 90, seed: int = 0):
    """A PBC-like table: patients pbc-0001.. (trial) and pbc-0313.. (not), bilirubin carries the
    label; 3 stratified folds as `make_folds` makes them."""
    rng = np.random.default_rng(seed)
    numbers = list(range(1, n - 20 + 1)) + list(range(313, 313 + 20))
    ids = [pbc.patient_id(k) for k in numbers]
    y = pd.Series(rng.permutation(np.tile([0, 1, 1], n // 3)), index=ids, name="label")
    clin = pd.DataFrame(
        {
            "age": 50 + 10 * rng.normal(size=n),
            "sex": rng.choice(["f", "m"], n),
            "trt": [1.0 if k <= 312 else np.nan for k in numbers],
            "bili": np.exp(0.5 * rng.normal(size=n) + y.to_numpy()),
            "albumin": 3.5 + 0.3 * rng.normal(size=n),
            "protime": 10 + rng.random(n),
            "edema": rng.choice([0, 0.5, 1], n),
        },
        index=pd.Index(ids, name="id"),
    )
    clin.loc[ids[:4], "protime"] = np.nan
    extra = pd.DataFrame({"stage": rng.integers(1, 5, n)}, index=clin.index)
    folds = folds_mod.make_folds(y, 3, seed=0)
    return clin, y, extra, folds


def _refs(tmp_path, clin, y, extra, folds, cohort="toy", seed=0):
    """Every reference; the image ceiling reads the recorded image field (`extra`) alone."""
    return references.ensure_references(
        clin, y, folds, tmp_path, cohort, seed=seed, extra=extra, val_fraction=0.25, image=extra
    )


def test_references_fit_on_the_networks_train_split_and_threshold_on_val(tmp_path) -> None:
    clin, y, extra, folds = _cohort()
    assert _refs(tmp_path, clin, y, extra, folds, seed=3) == NAMES
    for k in range(3):
        split = folds_mod.split(folds, k, 0.25, 3)  # what cross_validate gives the networks
        for name in NAMES:
            folder = results.fold_dir(tmp_path, "toy", name, k)
            pred = pd.read_csv(folder / "predictions.csv", dtype={"id": str})
            assert sorted(pred.loc[pred["split"] == "val", "id"]) == split.val
            assert sorted(pred.loc[pred["split"] == "test", "id"]) == split.test
            done = json.loads((folder / "done.json").read_text())
            assert (
                done["n_train"] == len(split.train)
                and done["sees"] == (references.REFERENCE_LABELS[name])
            )
            thr = json.loads((folder / "threshold.json").read_text())
            val = pred[pred["split"] == "val"]
            best = (val["prob"] >= thr["threshold"]).astype(int)
            j = best[val["label"] == 1].mean() - best[val["label"] == 0].mean()
            assert j == pytest.approx(thr["youden_j"])  # Youden's J measured on val


def test_every_fit_sees_exactly_a_train_split(tmp_path, monkeypatch) -> None:
    clin, y, extra, folds = _cohort()
    seen: list[set] = []
    original = Pipeline.fit

    def recording_fit(self, x, *args, **kw):
        seen.append(set(x.index))
        return original(self, x, *args, **kw)

    monkeypatch.setattr(Pipeline, "fit", recording_fit)
    _refs(tmp_path, clin, y, extra, folds)
    trains = [set(folds_mod.split(folds, k, 0.25, 0).train) for k in range(3)]
    assert len(seen) == 3 * len(NAMES)
    assert all(rows in trains for rows in seen)  # never a val or test row, never the whole rest
    assert all(seen.count(t) == len(NAMES) for t in trains)


def test_permuted_test_labels_leave_test_predictions_unchanged(tmp_path) -> None:
    clin, y, extra, folds = _cohort()
    _refs(tmp_path / "a", clin, y, extra, folds)
    test = folds.loc[folds["fold"] == 0, "id"].to_numpy()
    shuffled = y.copy()
    shuffled.loc[test] = np.random.default_rng(1).permutation(y.loc[test].to_numpy())
    assert (shuffled != y).any()
    folds_b = folds.assign(label=shuffled.loc[folds["id"]].to_numpy())
    _refs(tmp_path / "b", clin, shuffled, extra, folds_b)
    for name in NAMES:
        a, b = (
            pd.read_csv(results.fold_dir(root, "toy", name, 0) / "predictions.csv")
            for root in (tmp_path / "a", tmp_path / "b")
        )
        np.testing.assert_array_equal(a["prob"].to_numpy(), b["prob"].to_numpy())
        thr = [
            json.loads((results.fold_dir(r, "toy", name, 0) / "threshold.json").read_text())
            for r in (tmp_path / "a", tmp_path / "b")
        ]
        assert thr[0] == thr[1]


def test_references_refuse_a_network_trained_on_another_split(tmp_path) -> None:
    clin, y, extra, folds = _cohort()
    results.folds_path(tmp_path, "toy").parent.mkdir(parents=True)
    folds.to_csv(results.folds_path(tmp_path, "toy"), index=False)
    for seed, ok in ((0, True), (5, False)):
        split = folds_mod.split(folds, 0, 0.25, seed)
        rows = [(i, "val") for i in split.val] + [(i, "test") for i in split.test]
        pred = pd.DataFrame(rows, columns=["id", "split"]).assign(label=0, prob=0.5)
        results.write_fold(
            results.fold_dir(tmp_path, "toy", "ct_only", 0), pred, {"threshold": 0.5}, {}
        )
        if ok:
            assert _refs(tmp_path, clin, y, extra, folds) == NAMES
        else:
            with pytest.raises(ValueError, match="validation patients of ct_only fold 0 differ"):
                _refs(tmp_path, clin, y, extra, folds)


def test_mayo_refit_learns_the_five_terms_and_is_keyed_by_its_code(tmp_path) -> None:
    clin, y, extra, folds = _cohort()
    values = mayo.mayo_values(clin, {k: k for k in mayo.MAYO_ALIASES})
    terms = mayo.mayo_features(values)
    assert list(terms.columns) == ["log_bili", "log_albumin", "age", "log_protime", "edema"]
    np.testing.assert_allclose(terms["log_bili"], np.log(clin["bili"]))
    _refs(tmp_path, clin, y, extra, folds)
    preds = results.load_predictions(tmp_path, "toy", "mayo_refit")
    test = preds[preds["split"] == "test"]
    assert roc_auc_score(test["label"], test["prob"]) > 0.8  # bilirubin carries the label
    key = references.content_key(clin, y, folds, 0, extra, val_fraction=0.25, image=extra)
    done = json.loads(
        (results.fold_dir(tmp_path, "toy", "mayo_refit", 1) / "done.json").read_text()
    )
    assert done["key"] == key
    assert key != references.content_key(clin, y, folds, 0, extra, val_fraction=0.2)
    assert key != references.content_key(clin, y, folds, 1, extra, val_fraction=0.25)


def _pbc_cohort(clin, root):
    manifest = {"parameters": {"cohort": "pbc"}, "sources": {"pbc.csv": {"sha256": pbc.PBC_SHA256}}}
    return SimpleNamespace(clinical=clin, manifest=manifest, root=root)


def test_trial_membership_from_the_pbc_source_only(tmp_path) -> None:
    clin, *_ = _cohort()
    member = mayo.trial_membership(_pbc_cohort(clin, tmp_path))
    numbers = clin.index.str[4:].astype(int)
    assert member.to_dict() == dict(zip(clin.index, numbers <= 312))
    assert (~member).sum() == 20
    synthetic = SimpleNamespace(clinical=clin, manifest={"parameters": {"cohort": "synthetic"}})
    assert mayo.trial_membership(synthetic) is None
    assert mayo.trial_membership(SimpleNamespace(clinical=clin, manifest={})) is None
    bad = clin.copy()
    bad.loc[bad.index[-1], "trt"] = 2.0  # a treatment arm for a non-trial patient
    with pytest.raises(ValueError, match="trt"):
        mayo.trial_membership(_pbc_cohort(bad, tmp_path))


def test_trial_table_scores_exactly_the_non_trial_patients(tmp_path) -> None:
    clin, y, extra, folds = _cohort()
    _refs(tmp_path, clin, y, extra, folds)
    trial = mayo.trial_membership(_pbc_cohort(clin, tmp_path))
    rep = report.build_report(tmp_path, "toy", n_boot=200, trial=trial)
    row = rep.trial.loc[("mayo_risk", "non-trial")]
    preds = results.load_predictions(tmp_path, "toy", "mayo_risk")
    test = preds[(preds["split"] == "test") & preds["id"].isin(trial.index[~trial])]
    assert row["n"] == 20 == len(test) and row["events"] == test["label"].sum()
    assert row["auc"] == pytest.approx(roc_auc_score(test["label"], test["prob"]), abs=5e-4)
    assert row["lo"] <= row["auc"] <= row["hi"] and row["hi"] - row["lo"] > 0
    assert rep.trial.loc[("mayo_risk", "trial"), "n"] == 70
    assert set(rep.trial.index.get_level_values("model")) == {"mayo_risk", "mayo_refit"}
    text = report.trial_summary(rep)  # the notebook's sentence, written from these numbers
    assert f"On the 20 non-trial patients ({row['events']} deaths)" in text
    assert f"AUC {row['auc']:.3f} (95 % CI {row['lo']:.3f} to {row['hi']:.3f})" in text
    plain = report.build_report(tmp_path, "toy", n_boot=20)  # no trial recorded
    assert plain.trial is None and plain.trial_note.startswith("not applicable")
    assert "not applicable" in report.trial_summary(plain)


def test_labels_in_every_table_and_figure(tmp_path) -> None:
    clin, y, extra, folds = _cohort()
    _refs(tmp_path, clin, y, extra, folds)
    # a network on the same patients, so the differences table exists too
    net = results.load_predictions(tmp_path, "toy", "logreg_note_fields")
    for k, part in net.groupby("fold"):
        folder = results.fold_dir(tmp_path, "toy", tables.MAIN_MODEL, int(k))
        results.write_fold(folder, part, {"threshold": 0.5}, {"model": tables.MAIN_MODEL})
    rep = report.build_report(tmp_path, "toy", n_boot=20)
    # each table's "sees" column carries the reference's tag; the page lists the tags in full
    assert rep.comparison.loc["mayo_risk", tables.SEES] == "Mayo, trial"
    assert rep.comparison.loc["logreg_clinical", tables.SEES] == "fields+stage"
    assert rep.comparison.loc["logreg_note_fields", tables.SEES] == "note fields"
    assert rep.comparison.loc["logreg_image_fields", tables.SEES] == "image fields"
    assert rep.differences.loc["mayo_refit", tables.SEES] == "Mayo, refit"
    assert rep.comparison.loc[tables.MAIN_MODEL, tables.SEES] == "CT+rad+text"
    listed = tables.reference_list(rep.references)
    assert tables.reference_list(None) == ""
    mayo_label = "Mayo risk score: coefficients fitted on the Mayo trial (in-sample for trial"
    assert f"`mayo_risk` (*Mayo, trial*): {mayo_label}" in listed
    assert "stage, hepatomegaly, ascites" in listed and "what the text model sees" in listed
    assert "the image ceiling of the CT-only model" in listed
    assert "fitted on each training fold" in listed and references.FITTED_ON in listed
    assert list(rep.references.index) == NAMES
    assert (rep.references["fitted on"] == references.FITTED_ON).all()
    shown = {m: results.load_predictions(tmp_path, "toy", m) for m in NAMES}
    for fig in (plots.roc_figure(shown), plots.calibration_figure(shown)):
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert any("in-sample for trial patients" in t for t in legend)
        assert any("refitted on each training fold" in t for t in legend)


def test_the_image_ceiling_sees_the_image_fields_only_and_no_test_patient(tmp_path) -> None:
    clin, y, extra, folds = _cohort()
    image = extra.assign(hepato=(y.to_numpy() + np.arange(len(y))) % 2)
    # a test patient's image fields are changed: only that patient's prediction may move
    moved = image.copy()
    test0 = folds.loc[folds["fold"] == 0, "id"].tolist()
    moved.loc[test0, "stage"] = 4
    for root, table in ((tmp_path / "a", image), (tmp_path / "b", moved)):
        references.ensure_references(
            clin, y, folds, root, "toy", extra=extra, val_fraction=0.25, image=table
        )
    folder = results.fold_dir(tmp_path / "a", "toy", "logreg_image_fields", 0)
    done = json.loads((folder / "done.json").read_text())
    assert done["columns"] == ["stage", "hepato"] and done["fitted_on"] == references.FITTED_ON
    split = folds_mod.split(folds, 0, 0.25, 0)
    assert done["n_train"] == len(split.train) and not set(split.train) & set(test0)
    a, b = (
        pd.read_csv(results.fold_dir(r, "toy", "logreg_image_fields", 0) / "predictions.csv")
        for r in (tmp_path / "a", tmp_path / "b")
    )
    val = a["split"] == "val"
    np.testing.assert_array_equal(a.loc[val, "prob"], b.loc[val, "prob"])  # the same fit
    assert not np.array_equal(a.loc[~val, "prob"], b.loc[~val, "prob"])  # they were read


def test_image_fields_are_what_each_cohort_s_ct_is_rendered_from(tmp_path) -> None:
    findings = pd.DataFrame(
        {"stage": [2, 4], "hepato": [0, 1], "ascites": [0, 1], "fibrosis": [1.2, 2.9],
         "liver_scale": [1.01, 1.2], "ascites_mm": [0.0, 5.5]},
        index=pd.Index(["p1", "p2"], name="id"),
    )  # fmt: skip

    def cohort(manifest: dict) -> SimpleNamespace:
        return SimpleNamespace(findings=lambda: findings, manifest=manifest)

    pbc_like = report.image_fields(cohort({"parameters": {"cohort": "pbc"}}))
    assert list(pbc_like.columns) == ["stage", "hepato", "ascites"]
    synthetic = report.image_fields(cohort({"model": {"strengths": {"ct": 1.0}}}))
    assert list(synthetic.columns) == ["fibrosis", "liver_scale", "ascites_mm"]
    assert report.image_fields(SimpleNamespace(findings=lambda: None, manifest={})) is None
    assert report.image_fields(SimpleNamespace(clinical=findings)) is None
