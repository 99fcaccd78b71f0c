"""Permuted labels: the whole pipeline run on labels shuffled across patients, as a check.

With the labels permuted, no input carries information about the outcome, so every model's test
AUC should sit at 0.5 up to noise. A pipeline that scores clearly above that leaks labels
somewhere (a scaler, a selector, a threshold or a cache fitted on test patients). Only the labels
move: the inputs stay with their patients, and the results go to a folder of their own
(`tmiclnet.results.permuted_dir`) so that they never mix with the real ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch


def permuted_labels(labels: pd.Series, seed: int) -> pd.Series:
    """The same patients (index) with their labels shuffled by a seeded permutation.

    Args:
        labels: the outcome per patient (index id).
        seed: the permutation's seed; the same seed gives the same permutation.
    """
    labels = labels.sort_index()  # the permutation depends on the patients, not on row order
    order = np.random.default_rng(seed).permutation(len(labels))
    return pd.Series(labels.to_numpy()[order], index=labels.index, name=labels.name)


def permute_inputs(inputs, labels: pd.Series, seed: int):
    """(inputs with permuted labels, the permuted labels): every tensor, table and cache key of
    `inputs` is kept; `info["labels"]` records the permutation, so that fold keys differ from
    the real-label run's."""
    perm = permuted_labels(labels, seed)
    tensor = torch.tensor(perm.loc[list(inputs.ids)].to_numpy(), dtype=torch.long)
    info = {**inputs.info, "labels": f"permuted:{int(seed)}"}
    return dataclasses.replace(inputs, labels=tensor, info=info), perm


def permute_cohort(cohort, seed: int):
    """The cohort with its labels permuted (what the classical references read)."""
    return dataclasses.replace(cohort, labels=permuted_labels(cohort.labels, seed))
