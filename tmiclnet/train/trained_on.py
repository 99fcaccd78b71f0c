"""What each saved fold was trained on, recorded beside its done.json for evaluation to compare.

A fold's key (`tmiclnet.train.fold.fold_key`) hashes the content keys of its inputs (the CT
volumes' `ct_key`, the radiomic features' `radiomics_key`, the notes' `text_key`, ...), so
training retrains a fold whose inputs changed. A hash cannot say *what* changed, and evaluation
does not train: so every fold also gets `trained_on.json` with those keys one by one, the labels'
digest and the profile. Evaluation (`tmiclnet.evaluate.stale`) computes the same keys for the
cohort as it is now and sets apart, by name, every fold made from other inputs, labels or code.

Written after a run's folds are trained or found done (their key matched, so their inputs are the
cohort's now); the record is no part of any key, so writing it retrains nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.provenance import atomic_write_text

RECORD = "trained_on.json"


def labels_digest(ids: list[str], labels) -> str:
    """sha256 of the (id, label) pairs, in id order.

    Args:
        ids: patient ids.
        labels: their labels, in the same order (any sequence of integers).
    """
    pairs = sorted(zip(map(str, ids), (int(v) for v in labels)))
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def record(inputs, run) -> dict:
    """What a fold of this run is trained on: the inputs' content keys, labels and profile.

    Args:
        inputs: the run's `tmiclnet.inputs.features.CohortInputs` (its `info` holds the keys).
        run: the run (`tmiclnet.config.Run`): profile, radiomics parameters, seed.
    """
    return {
        "inputs": {k: inputs.info[k] for k in sorted(inputs.info)},
        "labels": labels_digest(inputs.ids, inputs.labels.tolist()),
        "profile": run.profile.name,
        "radiomics_params": str(run.profile.radiomics_params),
        "seed": int(run.seed),
    }


def write_records(ctx, rows: list[dict]) -> None:
    """Record, beside each finished fold of `rows`, what it was trained on (main process only).

    Args:
        ctx: the run's `tmiclnet.train.jobs.JobContext`.
        rows: `train_fold`'s summary rows (model, fold).
    """
    if not ctx.world.main:
        return
    content = record(ctx.inputs, ctx.run)
    for row in rows:
        folder = results.fold_dir(ctx.results_dir, ctx.cohort_name, row["model"], row["fold"])
        done = results.read_done(folder)
        if done is None:
            continue
        text = json.dumps({**content, "done_key": done.key}, indent=1, sort_keys=True) + "\n"
        path = Path(folder) / RECORD
        if not path.exists() or path.read_text() != text:
            atomic_write_text(path, text)


def read_record(folder: str | Path) -> dict | None:
    """The fold's record when it belongs to its current done.json, else None (not recorded, or
    the fold was trained again since by something that writes no record).

    Args:
        folder: the fold's folder.
    """
    path = Path(folder) / RECORD
    done = results.read_done(folder)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return saved if done is not None and saved.get("done_key") == done.key else None


def folds_mismatch(folds: pd.DataFrame, labels: pd.Series) -> str | None:
    """How folds.csv's patients or labels differ from the cohort's now, or None when they agree.

    Args:
        folds: folds.csv (id, label, fold).
        labels: the cohort's labels (index id).
    """
    saved = folds.set_index(folds["id"].astype(str))["label"].astype(int)
    now = labels.set_axis(labels.index.astype(str)).astype(int)
    gone, new = sorted(set(saved.index) - set(now.index)), sorted(set(now.index) - set(saved.index))
    if gone or new:
        some = (gone or new)[:3]
        return (
            f"other patients: {len(gone)} no longer in the cohort, {len(new)} new "
            f"(e.g. {', '.join(map(repr, some))})"
        )
    changed = [pid for pid in now.index if saved[pid] != now[pid]]
    if changed:
        pid = changed[0]
        return (
            f"other labels: {len(changed)} patient(s) changed since training "
            f"(e.g. {pid!r}: {saved[pid]} then, {now[pid]} now)"
        )
    return None
