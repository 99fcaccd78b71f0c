"""How a protocol assembles the study's inputs: its labels, folds, splits and radiomics scaler.

This is where a leaky protocol leaks, so it shapes every number the study reports. The training
path's keys cover the training page's code (`tmiclnet.keys.RESULT_CODE`), not this module; so
`keyed_inputs` puts the hash of what this module does (`ASSEMBLY_CODE`, docstrings and comments
left out) into the inputs' `info`, which every (model, fold) key hashes
(`tmiclnet.train.fold.fold_key`). An edit here retrains the study; an edit of its tables or
figures does not.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import KFold

from tmiclnet import keys
from tmiclnet.config import Run
from tmiclnet.inputs import folds as folds_mod
from tmiclnet.inputs.features import CohortInputs, FoldInputs, fold_inputs
from tmiclnet.inputs.folds import FoldSplit
from tmiclnet.study.leakage.protocols import Protocol

# The code whose edit retrains the study (package-relative paths): this module.
ASSEMBLY_CODE = ("study/leakage/assembly.py",)


def assembly_key(package: Path = keys.PACKAGE_DIR) -> str:
    """sha256 of what `ASSEMBLY_CODE` does (`tmiclnet.keys.code_hash`).

    Args:
        package: the package folder (a test passes an edited copy).
    """
    return keys.code_hash(ASSEMBLY_CODE, package)


def keyed_inputs(inputs: CohortInputs, labels: pd.Series, protocol: Protocol) -> CohortInputs:
    """The inputs with `labels`, and with the protocol, the labels' content and this module's
    code in `info`, which every (model, fold) key hashes: no result of one protocol, labelling
    or assembly can serve another.

    Args:
        inputs: every patient's inputs (`tmiclnet.inputs.features.load_inputs`).
        labels: the labels to train on (real or permuted), per patient id.
        protocol: the protocol.
    """
    y = labels.loc[inputs.ids].astype(int)
    digest = hashlib.sha256(pd.util.hash_pandas_object(y).to_numpy().tobytes()).hexdigest()[:16]
    info = {
        **inputs.info,
        "protocol": dataclasses.asdict(protocol),
        "labels_key": digest,
        "assembly_code": assembly_key(),
    }
    return dataclasses.replace(inputs, labels=torch.tensor(y.to_numpy()), info=info)


def protocol_folds(labels: pd.Series, protocol: Protocol, n_folds: int, seed: int) -> pd.DataFrame:
    """DataFrame(id, label, fold): stratified folds (ours), or KFold(shuffle) as the release does.

    Args:
        labels: 0/1 label per patient id.
        protocol: its `unstratified` switch picks the splitter.
        n_folds: number of folds.
        seed: the splitter's random state.
    """
    if not protocol.unstratified:
        return folds_mod.make_folds(labels, n_folds, seed)
    labels = labels.astype(int).sort_index()
    fold = np.empty(len(labels), dtype=int)
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(labels)))):
        fold[test_idx] = k
    return pd.DataFrame({"id": labels.index.astype(str), "label": labels.to_numpy(), "fold": fold})


def protocol_split(
    folds: pd.DataFrame, fold: int, protocol: Protocol, val_fraction: float, seed: int
) -> FoldSplit:
    """Fold `fold`'s parts: ours (train / validation / test); stopping on the test fold, the
    whole training part as train and the test fold in the validation's place; the fixed-epochs
    control, the whole training part as train and as the "validation" part, which then only
    sets the threshold (the control keeps its last epoch, `replicates.protocol_config`).

    Args:
        folds: DataFrame(id, label, fold) from `protocol_folds`.
        fold: the fold index.
        protocol: its `stop_on_test` and `fixed_epochs` switches remove the validation split.
        val_fraction: share of the training part held out for validation (ours).
        seed: the validation split's random state (plus the fold index).
    """
    if protocol.stop_on_test and protocol.fixed_epochs:
        raise ValueError(f"protocol {protocol.name!r}: stop_on_test and fixed_epochs exclude")
    if not (protocol.stop_on_test or protocol.fixed_epochs):
        return folds_mod.split(folds, fold, val_fraction, seed)
    test = sorted(folds.loc[folds["fold"] == fold, "id"])
    train = sorted(folds.loc[folds["fold"] != fold, "id"])
    if protocol.fixed_epochs:
        return FoldSplit(fold, train, list(train), test)  # no test patient is read before the end
    return FoldSplit(fold, train, list(test), test)  # val IS the test fold: the release's leak


def protocol_fold_inputs(
    inputs: CohortInputs, split: FoldSplit, run: Run, protocol: Protocol
) -> tuple[FoldInputs, list[str]]:
    """(the fold's tensors, the ids the radiomics scaler was fitted on).

    Ours fits the radiomics pipeline (impute, z-score) on the fold's training rows; with
    `scaler_on_all` it is fitted on every patient, as the release z-scores before splitting. The
    models read the clinical fields as note text, so this is the only scaler on their path.

    Args:
        inputs: every patient's inputs (`load_inputs`).
        split: the fold's parts (`protocol_split`).
        run: its profile is read.
        protocol: its `scaler_on_all` switch.
    """
    if protocol.scaler_on_all and run.profile.radiomics_select_k:
        raise ValueError(
            "scaler on all patients: the profile also selects features by label "
            "(radiomics_select_k), which would leak more than the release's z-scoring"
        )
    fit_ids = list(inputs.ids) if protocol.scaler_on_all else list(split.train)
    fin = fold_inputs(inputs, dataclasses.replace(split, train=fit_ids), run.profile)
    return FoldInputs(fin.data, split, fin.rad_families, fin.rad_columns), fit_ids


def permute_labels(labels: pd.Series, seed: int) -> pd.Series:
    """The same labels shuffled across patients (seeded): no input carries the outcome any
    more, so an AUC above 0.5 on them comes from a leak that reads labels (the epoch or the
    threshold chosen on the test fold). A leak that reads no label, like a scaler fitted on every
    patient, cannot show on them: only the real labels reveal it.

    Args:
        labels: 0/1 label per patient id.
        seed: the permutation's seed.
    """
    rng = np.random.default_rng(seed)
    return pd.Series(rng.permutation(labels.to_numpy()), index=labels.index, name=labels.name)


def assemble_folds(
    inputs: CohortInputs, folds: pd.DataFrame, protocol: Protocol, run: Run
) -> list[tuple[FoldInputs, list[str]]]:
    """Every fold's (tensors, ids the radiomics scaler was fitted on) under `protocol`, in fold
    order: the split (`protocol_split`) and the scaler (`protocol_fold_inputs`) of each fold.

    Args:
        inputs: every patient's inputs, keyed (`keyed_inputs`).
        folds: DataFrame(id, label, fold) from `protocol_folds`.
        protocol: the protocol.
        run: its profile (folds, validation fraction) and seed are read.
    """
    out = []
    for k in range(run.profile.folds):
        split = protocol_split(folds, k, protocol, run.profile.val_fraction, run.seed)
        out.append(protocol_fold_inputs(inputs, split, run, protocol))
    return out


def audit_row(split, protocol: Protocol, ids: list[str]) -> dict:
    """One fold's audit: its test patients, how many of them the radiomics scaler was fitted on
    and how many the stopping criterion read (its validation part).

    Args:
        split: the fold's `FoldSplit` (`assembly.protocol_split`).
        protocol: the protocol (`scaler_on_all` fits the scaler on every patient).
        ids: every patient of the cohort.
    """
    test = set(split.test)
    scaler = set(ids) if protocol.scaler_on_all else set(split.train)
    return {
        "fold": split.fold,
        "n_test": len(test),
        "scaler_saw_test": len(test & scaler),
        "stopping_read_test": len(test & set(split.val)),
    }
