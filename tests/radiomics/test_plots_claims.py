"""Page 02's readings come with their tables and follow the numbers (no assert on the page)."""

from __future__ import annotations

import pandas as pd

from tmiclnet.radiomics import plots


def test_optimism_claims_state_the_gap_of_their_table_or_its_absence() -> None:
    per_fold = pd.DataFrame(
        {
            "feature": ["original_shape_MeshVolume", "original_glcm_Contrast"],
            "train_auc": [0.71, 0.69],
            "test_auc": [0.60, 0.62],
            "top_mean_test_auc": [0.58, 0.60],
        }
    )
    said = plots.optimism_claims(per_fold, 120)
    assert said.table.loc["mean", "train AUC"] == "0.700" and said.unshown() == []
    assert "**0.09 of AUC is the optimism**" in said.markdown()
    none = plots.optimism_claims(per_fold.assign(test_auc=[0.75, 0.73]), 120).markdown()
    assert "no optimism" in none


def test_stability_claims_name_the_stable_class_from_the_table() -> None:
    icc = pd.DataFrame(
        {"erode": [0.9, 0.5, 0.8], "dilate": [0.95, 0.4, 0.7], "noise": [0.99, 0.8, 0.6]},
        index=["original_shape_A", "original_glcm_B", "original_firstorder_C"],
    )
    said = plots.stability_claims(icc)
    assert said.unshown() == [] and said.table.loc["all features", "dilate"] == "0.33"
    assert "After dilate, shape keeps the largest share" in said.markdown()
    assert "dilate is the harshest perturbation" in said.markdown()
