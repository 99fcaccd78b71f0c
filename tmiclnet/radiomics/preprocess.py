"""Per-fold preprocessing of the feature table: impute, scale, optionally select.

The pipeline is fitted on a fold's training rows only and then applied to its validation and test
rows. The released TMI-CLNet code scaled radiomics on the whole cohort before splitting, so the
test patients' values shaped the scaling: `fit_fold` makes the honest order the easy one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tmiclnet.config import Profile


def make_pipeline(profile: Profile | None = None, select_k: int | None = None) -> Pipeline:
    """impute (median) -> standardise -> keep the k best (ANOVA F); fit on training rows only.

    `select_k` defaults to ``profile.radiomics_select_k`` (None: keep every column, so the
    feature families stay whole for a model with one token per family; a column constant in the
    training rows is scaled to 0, not dropped, so every fold has the same columns). Outputs are
    DataFrames, so the surviving column names (and hence families) are known after fitting.
    """
    if select_k is None and profile is not None:
        select_k = profile.radiomics_select_k
    steps = [
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("select", SelectKBest(f_classif, k=select_k) if select_k else "passthrough"),
    ]
    return Pipeline(steps).set_output(transform="pandas")


def fit_fold(
    table: pd.DataFrame,
    labels: pd.Series,
    train_ids: Sequence[str],
    profile: Profile | None = None,
    select_k: int | None = None,
) -> Pipeline:
    """A pipeline fitted on the training ids' rows only (labels are used by selection only).

    Args:
        table: radiomic features, one row per patient (index id), one column per feature.
        labels: 0/1 label per patient id.
        train_ids: the fold's training patient ids: the only rows the pipeline is fitted on.
        profile: its ``radiomics_select_k`` is the default `select_k`; None: no default.
        select_k: features kept by ANOVA F selection; None: the profile's (or every column).
    """
    train_ids = list(train_ids)
    missing = sorted(set(train_ids) - set(table.index))
    if missing:
        raise KeyError(f"training ids without radiomics features: {missing[:10]}")
    pipe = make_pipeline(profile, select_k)
    return pipe.fit(table.loc[train_ids], labels.loc[train_ids].to_numpy())


def transform(pipe: Pipeline, table: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    """The fitted pipeline applied to `ids`' rows (float32-ready DataFrame, index id).

    Args:
        pipe: a pipeline fitted by `fit_fold`.
        table: radiomic features, one row per patient (index id), one column per feature.
        ids: the patient ids to transform, in this order.
    """
    out = pipe.transform(table.loc[list(ids)])
    out.index = pd.Index(list(ids), name=table.index.name)
    return out
