"""Fold-safe preprocessing, fold-wise univariate AUC and ICC stability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from tmiclnet.config import get_profile
from tmiclnet.radiomics import preprocess
from tmiclnet.radiomics.stability import icc_2_1, perturb, stability
from tmiclnet.radiomics.univariate import auc_columns, foldwise_auc


def _table(n: int = 60, f: int = 6, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    ids = [f"p-{i:03d}" for i in range(n)]
    y = pd.Series(np.arange(n) % 3 == 0, index=ids).astype(int)
    x = rng.normal(size=(n, f)) * np.arange(1, f + 1) * 10 + 100
    cols = [f"original_firstorder_F{j}" for j in range(f)]
    return pd.DataFrame(x, index=pd.Index(ids, name="id"), columns=cols), y


def test_scaler_fitted_in_a_fold_never_sees_that_folds_test_patients() -> None:
    table, y = _table()
    table.iloc[5, 2] = np.nan
    for train, test in StratifiedKFold(3, shuffle=True, random_state=0).split(table, y):
        tr, te = table.index[train], table.index[test]
        pipe = preprocess.fit_fold(table, y, tr)
        scaler = pipe.named_steps["scale"]
        imputed = table.loc[tr].fillna(table.loc[tr].median())
        np.testing.assert_allclose(scaler.mean_, imputed.mean().to_numpy())
        np.testing.assert_allclose(scaler.scale_, imputed.std(ddof=0).to_numpy())
        # the test patients' values can be anything: the fitted pipeline does not change
        poisoned = table.copy()
        poisoned.loc[te] = 1e9
        again = preprocess.fit_fold(poisoned, y, tr)
        np.testing.assert_array_equal(again.named_steps["scale"].mean_, scaler.mean_)
        np.testing.assert_array_equal(
            again.named_steps["impute"].statistics_, pipe.named_steps["impute"].statistics_
        )
        out = preprocess.transform(pipe, table, tr)
        np.testing.assert_allclose(out.mean().to_numpy(), 0, atol=1e-9)
        assert list(out.columns) == list(table.columns) and list(out.index) == list(tr)


def test_pipeline_selects_on_training_rows_and_keeps_names() -> None:
    table, y = _table(f=8)
    table["original_glcm_Signal"] = y * 5.0 + np.random.default_rng(1).normal(size=len(y))
    pipe = preprocess.fit_fold(table, y, table.index[:40], select_k=3)
    out = preprocess.transform(pipe, table, table.index[40:])
    assert out.shape == (20, 3) and "original_glcm_Signal" in out.columns
    assert preprocess.make_pipeline(get_profile("quick")).named_steps["select"] == "passthrough"


def test_fit_fold_rejects_unknown_ids() -> None:
    table, y = _table()
    with pytest.raises(KeyError, match="p-999"):
        preprocess.fit_fold(table, y, ["p-001", "p-999"])


def test_auc_columns_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(50, 4)), 1)  # ties on purpose
    y = rng.integers(0, 2, 50)
    expected = [roc_auc_score(y, x[:, j]) for j in range(4)]
    np.testing.assert_allclose(auc_columns(x, y), expected)


def test_foldwise_auc_orients_and_ranks_on_training_rows() -> None:
    table, y = _table(n=90)
    table["original_glcm_Neg"] = -y * 3.0 + np.random.default_rng(2).normal(size=len(y))
    result = foldwise_auc(table, y, folds=3, seed=0, top=2)
    assert result.per_feature.index[0] == "original_glcm_Neg"
    assert result.per_feature.loc["original_glcm_Neg", "selected"] == 3
    assert result.per_feature.loc["original_glcm_Neg", "test_auc"] > 0.9  # direction learned
    assert (result.per_fold["feature"] == "original_glcm_Neg").all()
    row = result.per_feature.loc["original_glcm_Neg"]
    assert row["selected_test_auc"] == pytest.approx(row["test_auc"])  # selected in every fold
    never = result.per_feature[result.per_feature["selected"] == 0]
    assert never["selected_train_auc"].isna().all()
    picked = result.per_feature[result.per_feature["selected"] > 0]
    assert (picked["selected_train_auc"] >= 0.5).all()
    noise = result.per_feature.drop("original_glcm_Neg")
    assert noise["test_auc"].between(0.2, 0.8).all()


def test_icc_matches_shrout_and_fleiss() -> None:
    # Shrout & Fleiss (1979), Table 2: ICC(2,1) = 0.29
    data = np.array(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    )
    assert icc_2_1(data) == pytest.approx(0.29, abs=0.005)
    same = np.repeat(np.arange(5.0)[:, None], 3, axis=1)
    assert icc_2_1(same) == pytest.approx(1.0)
    assert np.isnan(icc_2_1(np.ones((4, 2))))
    shifted = data + np.array([0, 0, 0, 5])  # one rater reads 5 higher: agreement drops
    stacked = np.stack([data, shifted], axis=2)
    np.testing.assert_allclose(icc_2_1(stacked), [icc_2_1(data), icc_2_1(shifted)])
    assert icc_2_1(shifted) < icc_2_1(data)


def test_perturbations_and_stability(tmp_path) -> None:
    import nibabel as nib

    from tests.radiomics.cases import write_case

    cases = [write_case(tmp_path / "c", f"c-{k}", seed=k, radius=0.6 + 0.05 * k) for k in range(4)]
    eroded = perturb(cases[0], "erode", tmp_path / "w")
    dilated = perturb(cases[0], "dilate", tmp_path / "w")
    noisy = perturb(cases[0], "noise", tmp_path / "w", noise_hu=10)
    n = {
        k: int(np.asarray(nib.load(c.mask).dataobj).sum())
        for k, c in [("orig", cases[0]), ("erode", eroded), ("dilate", dilated)]
    }
    assert n["erode"] < n["orig"] < n["dilate"]
    diff = np.asarray(nib.load(noisy.image).dataobj) - np.asarray(nib.load(cases[0].image).dataobj)
    assert 7 < diff.std() < 13 and noisy.mask == cases[0].mask
    assert (
        perturb(cases[0], "noise", tmp_path / "w", noise_hu=10).image.read_bytes()
        == noisy.image.read_bytes()
    )
    icc = stability(cases, "quick.yaml", tmp_path / "w", cache_dir=tmp_path / "cache")
    assert list(icc.columns) == ["erode", "dilate", "noise", "all"]
    assert icc.loc["original_shape_VoxelVolume", "noise"] == pytest.approx(1.0)
    assert icc["noise"].median() > icc["erode"].median() - 0.5
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(cases[0], "blur", tmp_path / "w")
