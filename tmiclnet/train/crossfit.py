"""Cross-fitted CT tokens: no fusion model learns from tokens of an encoder that saw its labels.

With cached CT tokens (`CtStrategy.CACHED`) one CT encoder per fold, the CT-only
model, is trained on the fold's training patients and then encodes every patient. A fusion model
trained on those tokens learns from training patients whose tokens come from an encoder fitted on
their own labels (over-confident), yet is tested on patients the encoder never saw (honest): the
fusion model learns to trust CT more than CT deserves.

With `CtTokens.CROSSFIT` each fold's training patients are split into two
stratified halves (seeded); a CT encoder is trained on each half (early stopping on the fold's
validation split, like the CT-only model), and a training patient's tokens come from the encoder
of the *other* half. Validation and test patients keep the tokens of the CT-only model trained on
the whole training split, so they mean exactly what they meant before, as in stacking
(scikit-learn's StackingClassifier fits the final model on out-of-fold predictions and refits
the base models on all training rows for new data): the validation split then measures what the
test fold sees, and the CT-only catalogue model, with its tokens, is unchanged. (The mean of the
two halves' tokens would be a feature of no encoder, from networks that each saw half the data.)

The halves live beside the CT-only model's fold in the results store::

    <results>/<cohort>/ct_only/fold<k>/crossfit/half<h>/   a fold folder of train_fold, whose
                                                            "test" part is the other half
    <results>/<cohort>/ct_only/fold<k>/crossfit/record.json which ids each encoder trained on
    <results>/<cohort>/ct_only/fold<k>/crossfit/ct_tokens.pt the tokens the fusion models read

Each half is keyed like any fold (its ids are in its split) and, like the CT-only model, a
retrain trains it again and makes its tokens anew. `"in_fold"` (the profiles' default: on the
cpu profile cross-fitting cost 2.5x the CT-token models' training time, see book/ct_tokens.md)
keeps the CT-only model's tokens for every patient.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from sklearn.model_selection import StratifiedKFold

from tmiclnet import keys, results
from tmiclnet.batch import rows_of
from tmiclnet.config import CtTokens
from tmiclnet.inputs.folds import FoldSplit
from tmiclnet.train.ct_tokens import fold_ct_tokens
from tmiclnet.train.fold import FoldJob, fold_key, train_fold

FULL = "full"  # the CT-only model's part of a fold's CT encoders


def crossfit_dir(ct_folder: Path) -> Path:
    """Where a fold's half-encoders, their record and the cross-fitted tokens live."""
    return Path(ct_folder) / "crossfit"


def halves(split: FoldSplit, labels: dict[str, int], seed: int) -> tuple[list[str], list[str]]:
    """The fold's training ids in two stratified halves (StratifiedKFold(2), seeded by fold).

    Args:
        split: the fold's split; only its training ids are divided.
        labels: label of every training id.
        seed: the run's seed (the fold index is added, as for the validation split).
    """
    ids = list(split.train)
    y = [int(labels[i]) for i in ids]
    if min(y.count(0), y.count(1)) < 2:
        raise ValueError(
            f"fold {split.fold}: cannot cross-fit CT tokens, a class has fewer than 2 training "
            "patients; use Profile.ct_tokens='in_fold'"
        )
    skf = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed + split.fold)
    first, _ = next(skf.split(ids, y))
    a = sorted(ids[i] for i in first)
    return a, sorted(set(ids) - set(a))


def ct_jobs(full: FoldJob, ctx) -> dict[str, FoldJob]:
    """The CT encoders one fold's tokens need: {"full": the CT-only model} in_fold, plus
    {"half0", "half1"} when cross-fitting. A half is the CT-only job on one half of the training
    patients, validated on the fold's validation split, "tested" on the other half.

    Args:
        full: the fold's CT-only job (`tmiclnet.train.jobs.make_job`).
        ctx: the cross-validation's `tmiclnet.train.jobs.JobContext`.
    """
    if ctx.run.profile.ct_tokens is CtTokens.IN_FOLD:
        return {FULL: full}
    split = full.fin.split
    labels = dict(zip(full.fin.data.ids, full.fin.data.labels.tolist()))
    parts = halves(split, labels, ctx.run.seed)
    jobs = {FULL: full}
    for h, (train, held_out) in enumerate([parts, parts[::-1]]):
        half = FoldSplit(split.fold, train, split.val, held_out)
        half.check()
        fin = dataclasses.replace(full.fin, split=half)
        key = fold_key(full.name, full.config, fin, ctx.inputs, ctx.run, f"crossfit_half{h}")
        folder = crossfit_dir(full.folder) / f"half{h}"
        jobs[f"half{h}"] = full._replace(fin=fin, folder=folder, key=key)
    return jobs


def train_ct_part(part: str, job: FoldJob) -> tuple[dict, torch.Tensor, str]:
    """Train (or read) one CT encoder of a fold: (its summary row, its tokens, their tag).

    The CT-only model encodes every patient; a half encodes only the half it did not see (its
    split's "test" part). Tokens are made anew whenever the encoder was trained in this call.

    Args:
        part: "full", "half0" or "half1" (a key of `ct_jobs`).
        job: that part's job.
    """
    row, model = train_fold(job)
    data = job.fin.data if part == FULL else job.fin.data.subset(job.fin.split.test)
    tokens, source = fold_ct_tokens(
        model, job.folder, job.key, data.inputs["ct"], job.run.device, job.world
    )
    return row, tokens, source


def fold_tokens(jobs: dict[str, FoldJob], done: dict[str, tuple]) -> tuple[torch.Tensor, str]:
    """(every patient's tokens, their source tag) from a fold's trained CT encoders.

    In_fold: the CT-only model's tokens. Cross-fitted: those, with each training patient's rows
    replaced by the tokens of the half-encoder that did not train on it; the tag (part of every
    fusion model's fold key) names the three encoders, and the record of which ids each trained
    on is written beside the tokens.

    Args:
        jobs: the fold's `ct_jobs`.
        done: `train_ct_part`'s result for each of them.
    """
    tokens, source = done[FULL][1], done[FULL][2]
    if set(jobs) == {FULL}:
        return tokens, source
    full = jobs[FULL]
    tokens = tokens.clone()
    record = {"full": {"key": full.key, "train": full.fin.split.train}, "halves": {}}
    for part in sorted(set(jobs) - {FULL}):
        job, half_tokens = jobs[part], done[part][1]
        held_out = job.fin.split.test
        tokens[rows_of(full.fin.data.ids, held_out)] = half_tokens
        train = job.fin.split.train
        record["halves"][part] = {"key": job.key, "train": train, "held_out": held_out}
    key = keys.config_hash(record)
    folder = crossfit_dir(full.folder)
    if full.world.main:  # always: a retrained encoder may give other tokens under one key
        results.write_json(folder / "record.json", {"key": key, **record})
        results.write_ct_tokens(folder, key, tokens)
    return tokens, f"crossfit:{key[:16]}"


def train_ct_encoders(full: FoldJob, ctx) -> tuple[dict, torch.Tensor, str]:
    """The per-fold schedule's CT step: every CT encoder of the fold, one after the other, here.

    Returns (the CT-only model's summary row, every patient's tokens, their source tag).

    Args:
        full: the fold's CT-only job (`tmiclnet.train.jobs.make_job`).
        ctx: the cross-validation's `tmiclnet.train.jobs.JobContext`.
    """
    jobs = ct_jobs(full, ctx)
    done = {part: train_ct_part(part, job) for part, job in jobs.items()}
    tokens, source = fold_tokens(jobs, done)
    return done[FULL][0], tokens, source
