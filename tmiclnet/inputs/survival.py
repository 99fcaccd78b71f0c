"""Folds and inputs of the survival view: every patient, censored included, in the binary folds.

The binary folds (`tmiclnet.inputs.folds`) hold the patients with a binary label, and they stay
exactly as they are, so that no binary result moves. The patients censored before the horizon
(`tmiclnet.data.censored`) are added to those folds: StratifiedKFold on the event (seeded by the
repeat's seed), so each fold's model scores its own share of them as test patients. A Cox-trained
model learns from every non-test patient of a fold: the binary split's train and val patients,
plus the censored ones of the other folds divided train/val with the same fraction and seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from tmiclnet.config import Run
from tmiclnet.data import pbc
from tmiclnet.inputs.features import CohortInputs, load_inputs
from tmiclnet.inputs.folds import FoldSplit, split


def add_censored(folds: pd.DataFrame, events: pd.Series, n_folds: int, seed: int) -> pd.DataFrame:
    """DataFrame(id, fold, eligible): the binary folds unchanged, and every patient of `events`
    not in them assigned to a fold (stratified on the event when both values occur, seeded).

    Args:
        folds: the repeat's binary folds.csv (id, label, fold).
        events: event (death) of the patients to add, index id.
        n_folds: the number of folds.
        seed: the repeat's seed (`tmiclnet.inputs.folds.repeat_seed`).
    """
    base = folds[["id", "fold"]].assign(eligible=True)
    extra = events.loc[sorted(set(events.index.astype(str)) - set(base["id"]))]
    if extra.empty:
        return base.reset_index(drop=True)
    y = extra.astype(int).to_numpy()
    strat = len(np.unique(y)) == 2 and np.bincount(y).min() >= n_folds
    n_splits = min(n_folds, len(extra))
    splitter = (StratifiedKFold if strat else KFold)(n_splits, shuffle=True, random_state=seed)
    fold = np.empty(len(extra), dtype=int)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        fold[test] = k
    added = pd.DataFrame({"id": extra.index.astype(str), "fold": fold, "eligible": False})
    return pd.concat([base, added], ignore_index=True)


def survival_split(
    binary: pd.DataFrame, all_folds: pd.DataFrame, fold: int, val_fraction: float, seed: int
) -> FoldSplit:
    """Fold `fold` of a Cox-trained model: the binary split, each part extended with the
    censored patients (test: those of this fold; the others divided train/val, seeded).

    Args:
        binary: the repeat's binary folds.csv (id, label, fold).
        all_folds: `add_censored`'s table.
        fold: the fold index.
        val_fraction: the profile's validation fraction.
        seed: the repeat's seed (the binary split's).
    """
    part = split(binary, fold, val_fraction, seed)
    extra = all_folds.loc[~all_folds["eligible"]]
    test = sorted(extra.loc[extra["fold"] == fold, "id"])
    rest = sorted(extra.loc[extra["fold"] != fold, "id"])
    train, val = list(rest), []
    if len(rest) >= 2:
        train, val = train_test_split(rest, test_size=val_fraction, random_state=seed + fold)
    out = FoldSplit(
        fold,
        sorted(part.train + list(train)),
        sorted(part.val + list(val)),
        sorted(part.test + test),
    )
    out.check()
    return out


def _pad_cat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Rows of `a` then `b`, the second dimension zero-padded to the longer (a note's tokens)."""
    if a.dim() >= 2 and a.shape[1] != b.shape[1]:
        n = max(a.shape[1], b.shape[1])

        def pad(t: torch.Tensor) -> torch.Tensor:
            out = t.new_zeros((t.shape[0], n, *t.shape[2:]))
            out[:, : t.shape[1]] = t
            return out

        a, b = pad(a), pad(b)
    return torch.cat([a, b])


def _cat(a, b):
    if isinstance(a, dict):
        return {k: _cat(a[k], b[k]) for k in a}
    return _pad_cat(a, b)


def combine_inputs(main: CohortInputs, extra: CohortInputs, labels: torch.Tensor) -> CohortInputs:
    """The patients of `main` then those of `extra` as one set of inputs, with `labels`.

    Both must hold the same modalities from the same profile (the companion folder is built like
    the cohort); `info` keeps the main cohort's keys and adds the extra ones' under `extra_`, so
    a fold keyed by it changes when either changes.

    Args:
        main: the cohort's inputs (`tmiclnet.inputs.features.load_inputs`).
        extra: the companion folder's inputs, loaded the same way.
        labels: (N_main + N_extra,) long labels of the combined rows.
    """
    if set(main.text) != set(extra.text) or (main.ct is None) != (extra.ct is None):
        raise ValueError("combine_inputs: the two sets of inputs hold different modalities")
    radiomics = None
    if main.radiomics is not None:
        radiomics = pd.concat([main.radiomics, extra.radiomics.loc[:, main.radiomics.columns]])
    extra_text = dict(extra.text)
    if "line_field" in extra_text:  # the companion's value channels, in the cohort's order
        from tmiclnet.text.values import remap_fields

        fields = (extra.info["text_fields"], main.info["text_fields"])
        extra_text["line_field"] = remap_fields(extra_text["line_field"], *fields)
    return CohortInputs(
        ids=list(main.ids) + list(extra.ids),
        labels=labels,
        ct=None if main.ct is None else torch.cat([main.ct, extra.ct]),
        radiomics=radiomics,
        text={k: _cat(main.text[k], extra_text[k]) for k in main.text},
        info={**main.info, **{f"extra_{k}": v for k, v in extra.info.items()}},
    )


class SurvivalInputs(NamedTuple):
    """Every patient's inputs (the cohort's, then the companion's) and their follow-up."""

    inputs: CohortInputs  # labels: death during follow-up (the Cox models' SDM classes)
    n_main: int  # rows of the cohort; the others are the companion's
    follow_up: pd.DataFrame  # time (days), event (death), index id, in `inputs.ids` order


def survival_inputs(data_dir: str | Path, cohort_name: str, run: Run, modalities: set[str]):
    """The cohort's and its companion's inputs, combined, with every patient's follow-up.

    Args:
        data_dir: the folder holding the cohort, its companion `pbc_censored/` and `results/`.
        cohort_name: the cohort's folder name (PBC: follow-up comes from the PBC table).
        run: the run (its profile shapes the inputs).
        modalities: the modalities to load.
    """
    from tmiclnet.data.censored import censored_dir, open_censored
    from tmiclnet.data.cohort import load

    cohort = load(Path(data_dir) / cohort_name)
    companion = open_censored(data_dir)
    if companion is None:
        raise FileNotFoundError(
            f"{censored_dir(data_dir)}: missing; build it with python -m tmiclnet data build "
            f"--profile {run.profile.name} --cohort pbc"
        )
    main = load_inputs(cohort, run.profile, modalities)
    extra = load_inputs(companion, run.profile, modalities)
    ids = list(main.ids) + list(extra.ids)
    follow = pbc.survival_table().loc[ids, ["time", "event"]]
    labels = torch.tensor(follow["event"].to_numpy(int), dtype=torch.long)
    return SurvivalInputs(combine_inputs(main, extra, labels), len(main.ids), follow)
