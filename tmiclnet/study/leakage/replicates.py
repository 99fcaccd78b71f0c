"""The leakage study with power: one cheap model, many labellings, every protocol.

One labelling gives one draw of each protocol's AUC: a leak that lifts the AUC by 0.05 cannot be
told from the chance spread of an AUC on ~300 patients, and three labellings cannot reach p < 0.05
with any sign test. So the study repeats the whole cross-validation per kind of labels:

- **permuted** labels, `n` labellings: replicate r shuffles the labels with seed r
  (`assembly.permute_labels`); folds, validation split and seeds come from the run's seed. Each is
  an independent cohort with no signal, so a t interval across them is exact enough. They run the
  protocols that can read labels (`protocols.kind_protocols`).
- **real** labels, `repeats` repeats: replicate r is repeat r of the cross-validation, drawn with
  `repeat_seed(run.seed, r)` as the book's repeats are (`tmiclnet.train.repeats`); they share their
  patients, so their intervals are the corrected resampled t (`power`). They run every protocol.

Every fit is the training page's own (`tmiclnet.train.fold.train_fold`) with the protocol's
switches (`assembly`, `protocol_config`): under `ours` it gives the training page's numbers bit for
bit (tests/study/test_leakage_power.py). One predictions table per replicate (`store`), keyed by
everything that made it (`task_key`). Only models without cached CT tokens run here.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from tmiclnet import keys
from tmiclnet.config import Run
from tmiclnet.device import seed_everything
from tmiclnet.inputs.features import CohortInputs, FoldInputs, load_inputs
from tmiclnet.inputs.folds import repeat_seed
from tmiclnet.inputs.tensors import TensorData
from tmiclnet.models.catalogue import modalities_of
from tmiclnet.study.leakage import store
from tmiclnet.study.leakage.assembly import (
    assemble_folds,
    audit_row,
    keyed_inputs,
    permute_labels,
    protocol_folds,
    protocol_split,
)
from tmiclnet.study.leakage.protocols import (
    KINDS,
    LABEL_READING,
    PROTOCOLS,
    Protocol,
    kind_protocols,
)
from tmiclnet.threshold import choose_threshold
from tmiclnet.train.ddp import SINGLE
from tmiclnet.train.fold import build_config, train_config
from tmiclnet.train.jobs import ct_plan, executor, needed_modalities, parallel_jobs
from tmiclnet.train.trainer import TrainConfig, fit, predict, probabilities

DEFAULT_MODEL = "radiomics_only"
# The code whose edit retrains the replicates, beside the training page's (`keys.RESULT_CODE`)
STUDY_CODE = ("study/leakage/assembly.py", "study/leakage/replicates.py")


@dataclasses.dataclass(frozen=True)
class Task:
    """One replicate of the study: a model and a kind of labels, every protocol on its folds."""

    model: str
    kind: str  # "real" or "permuted"
    replicate: int
    protocols: tuple[Protocol, ...]

    @property
    def path(self) -> str:  # its table under the study's folder (`store`)
        return f"{self.model}/{self.kind}-{self.replicate}"


def replicate_labels(labels: pd.Series, kind: str, replicate: int) -> pd.Series:
    """The labels of one replicate: the real ones, or the real ones shuffled with seed `replicate`.

    Args:
        labels: 0/1 label per patient id.
        kind: "real" or "permuted".
        replicate: the replicate's index (the permutation's seed).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return labels if kind == "real" else permute_labels(labels, replicate)


def replicate_seed(seed: int, kind: str, replicate: int) -> int:
    """The seed of one replicate's folds, validation split and training: the run's seed on
    permuted labels (the labelling changes), `repeat_seed(seed, replicate)` on the real ones.

    Args:
        seed: the run's seed.
        kind: "real" or "permuted".
        replicate: the replicate's index.
    """
    return repeat_seed(seed, replicate) if kind == "real" else int(seed)


def protocol_config(name: str, run: Run, fold: int, protocol: Protocol) -> TrainConfig:
    """The training page's settings for `name` on `fold` (`train_config`), with the protocol's:
    its patience, or, for the fixed-epochs control, every epoch run and the last one kept (no
    epoch before the last is kept or counted against the patience, `trainer.fit`).

    Args:
        name: catalogue name.
        run: profile and seed.
        fold: the fold index (its training seed is run.seed + fold).
        protocol: the protocol.
    """
    cfg = train_config(name, run, fold)
    if protocol.fixed_epochs:
        return dataclasses.replace(cfg, min_epochs=cfg.epochs)
    if protocol.patience is not None:
        return dataclasses.replace(cfg, patience=protocol.patience)
    return cfg


def shares_fit(control: Protocol, stop: Protocol) -> bool:
    """Whether the fixed-epochs `control` is `stop`'s own training run, its last epoch kept: the
    same folds, training patients, scaler and seed, and `stop` runs every epoch (its patience
    outlasts them) while choosing among them on the test fold. Validation reads no random
    number, so the two runs' weights agree epoch by epoch; one fit gives both, and the gap between
    them is the choice on the test fold alone, with no training noise between them.

    Args:
        control: a protocol with `fixed_epochs`.
        stop: a protocol with `stop_on_test`.
    """
    same = (control.scaler_on_all, control.unstratified) == (stop.scaler_on_all, stop.unstratified)
    return control.fixed_epochs and stop.stop_on_test and same


def _frame(data, probs, threshold: float, fold: int, epoch: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": data.ids,
            "label": data.labels.numpy(),
            "prob": probs,
            "fold": fold,
            "threshold": threshold,
            "best_epoch": epoch,
        }
    )


def fit_fold(
    name: str,
    inputs: CohortInputs,
    fin: FoldInputs,
    run: Run,
    protocol: Protocol,
    last_too: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Train `name` on one fold as `train_fold` does: (its test predictions, DataFrame(id, label,
    prob, fold, threshold, best_epoch) with the threshold chosen (Youden's J) on the fold's
    validation part, which the protocol decides (`assembly.protocol_split`); and with
    `last_too`, the same for the weights of the last epoch, thresholded on the training
    patients: the fixed-epochs control, when `shares_fit`).

    Args:
        name: catalogue name (no cached CT tokens).
        inputs: the keyed cohort inputs (`assembly.keyed_inputs`).
        fin: the fold's tensors and split (`assembly.assemble_folds`).
        run: profile, seed and device.
        protocol: the protocol.
        last_too: also return the last epoch's predictions (every epoch must have run).
    """
    from tmiclnet.models import build

    config = build_config(fin, inputs, run, use_ct_tokens=False)
    cfg = protocol_config(name, run, fin.split.fold, protocol)
    seed_everything(run.seed + fin.split.fold)
    model = build(name, **config)
    data = fin.data.for_model(modalities_of(name))
    train, val, test = (
        data.subset(ids) for ids in (fin.split.train, fin.split.val, fin.split.test)
    )
    result = fit(model, train, val, cfg, run.device)

    def scored(part: TensorData, threshold_on: TensorData) -> tuple[np.ndarray, float]:
        p, p_thr = (
            probabilities(predict(model, d, run.device, amp=cfg.amp)) for d in (part, threshold_on)
        )
        return p, choose_threshold(threshold_on.labels.numpy(), p_thr)["threshold"]

    last = None
    if last_too:
        if len(result.history) != cfg.epochs:
            raise ValueError(f"fold {fin.split.fold}: stopped before its last epoch")
        last = _frame(test, *scored(test, train), fin.split.fold, epoch=cfg.epochs - 1)
    model.load_state_dict(result.best_state)
    best = _frame(test, *scored(test, val), fin.split.fold, epoch=result.best_epoch)
    return best, last


def _prepared(task: Task, protocol: Protocol, inputs: CohortInputs, labels: pd.Series, run: Run):
    """(keyed inputs, the replicate's run, its folds table) of one protocol of a task."""
    y = replicate_labels(labels, task.kind, task.replicate)
    keyed = keyed_inputs(inputs, y, protocol)
    run = run.replace(seed=replicate_seed(run.seed, task.kind, task.replicate))
    table = protocol_folds(y.loc[inputs.ids], protocol, run.profile.folds, run.seed)
    return keyed, run, table


def task_key(task: Task, inputs: CohortInputs, labels: pd.Series, run: Run) -> str:
    """The key of one task's table: the model, every protocol, the labels' content and the
    inputs' keys (`assembly.keyed_inputs`), the replicate's seed, the whole profile and the code
    of the training page and this study (`STUDY_CODE`).

    Args:
        task: the task.
        inputs: the cohort inputs (unkeyed).
        labels: the cohort's real labels.
        run: the run.
    """
    infos = [_prepared(task, p, inputs, labels, run)[0].info for p in task.protocols]
    return keys.config_hash(
        {
            "model": task.model,
            "inputs": infos,
            "seed": replicate_seed(run.seed, task.kind, task.replicate),
            "profile": dataclasses.asdict(run.profile),
            "code": keys.code_hash(),
            "study_code": keys.code_hash(STUDY_CODE),
        }
    )


def run_task(
    task: Task, inputs: CohortInputs, labels: pd.Series, run: Run
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-validate one replicate under every protocol of the task: (the test predictions of
    all folds, one audit row per fold (`audit_row`)), each with a `protocol` column. The
    fixed-epochs control comes out of `stop on test`'s fits when `shares_fit`.

    Args:
        task: the task.
        inputs: the cohort inputs (unkeyed).
        labels: the cohort's real labels.
        run: the run.
    """
    shared = {
        c.name: s
        for c in task.protocols
        for s in task.protocols
        if c.fixed_epochs and s.stop_on_test and shares_fit(c, s)
    }
    preds, audit = [], []
    for protocol in task.protocols:
        keyed, rrun, table = _prepared(task, protocol, inputs, labels, run)
        controls = [c for c, s in shared.items() if s == protocol]
        fins = [] if protocol.name in shared else assemble_folds(keyed, table, protocol, rrun)
        for fin, _ in fins:
            best, last = fit_fold(task.model, keyed, fin, rrun, protocol, last_too=bool(controls))
            preds.append(best.assign(protocol=protocol.name))
            preds += [last.assign(protocol=c) for c in controls]
        for k in range(rrun.profile.folds):
            split = protocol_split(table, k, protocol, rrun.profile.val_fraction, rrun.seed)
            audit.append({"protocol": protocol.name, **audit_row(split, protocol, inputs.ids)})
    out = pd.concat(preds, ignore_index=True)
    rank = out["protocol"].map({p.name: i for i, p in enumerate(task.protocols)})
    out = out.iloc[np.lexsort((out["fold"].to_numpy(), rank.to_numpy()))]
    return out.reset_index(drop=True), pd.DataFrame(audit)


def _timed(task: Task, inputs, labels, run) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """`run_task` with its CPU and wall seconds (the CPU seconds barely depend on the load)."""
    cpu, wall = time.process_time(), time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # hundreds of fits: no bar per epoch
        preds, audit = run_task(task, inputs, labels, run)
    spent = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
    return preds, audit, {k: round(v, 2) for k, v in spent.items()}


def _in_worker(task: Task, inputs, labels, run) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    torch.set_num_threads(1)  # one thread per worker: two workers share two cores
    return _timed(task, inputs, labels, run)


@dataclasses.dataclass
class Replicates:
    """Every task's test predictions and audit, long: one row per (task, test patient) and per
    (task, fold), with columns model, kind, replicate, protocol."""

    cohort: str
    predictions: pd.DataFrame
    audit: pd.DataFrame
    trained: int  # replicates trained by this call (the others were read)
    timing: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # cpu_s, wall_s each


def check_model(name: str, run: Run) -> None:
    """Raise ValueError unless `name` trains without cached CT tokens under the run's profile.

    Args:
        name: catalogue name.
        run: its profile's CT strategy is read.
    """
    cached, ct_name, _ = ct_plan(run.profile, [name])
    if cached and name != ct_name:
        raise ValueError(
            f"model {name!r} reads cached CT tokens; the replicated study trains models "
            "without them (run `python -m tmiclnet study leakage` without --labellings)"
        )


def run_replicates(
    cohort_path: str | Path,
    run: Run,
    n: int,
    model: str = DEFAULT_MODEL,
    kinds: tuple[str, ...] = KINDS,
    protocols: tuple[Protocol, ...] = PROTOCOLS,
    retrain: bool = False,
    repeats: int | None = None,
    permuted: tuple[Protocol, ...] | None = LABEL_READING,
) -> Replicates:
    """Cross-validate `model` on `n` permuted labellings and `repeats` repeats of the real labels,
    each under the protocols its kind runs (`kind_protocols`).

    Tables already made with the same key are read; the others train in a pool of the profile's
    `n_jobs` single-threaded workers on a CPU (`tmiclnet.train.jobs.parallel_jobs`).

    Args:
        cohort_path: the cohort folder (`tmiclnet.data.cohort.load` reads it).
        run: profile, data folder, seed and device (`tmiclnet.config.setup`).
        n: permuted labellings.
        model: a catalogue name without cached CT tokens (default: the radiomics-only model).
        kinds: "real" and/or "permuted".
        protocols: the protocols (default: all, the control included).
        retrain: train even where a table with the same key exists.
        repeats: repeats of the real labels (default: the profile's, at least 2).
        permuted: the protocols permuted labels run (default: those that read labels; None: all).
    """
    from tmiclnet.data.cohort import load

    real = max(2, run.profile.cv_repeats) if repeats is None else repeats
    counts = {"permuted": n, "real": real}
    if min(counts[k] for k in kinds) < 2:
        raise ValueError(f"{counts}: an interval across replicates needs at least 2")
    check_model(model, run)
    cohort = load(cohort_path)
    inputs = load_inputs(cohort, run.profile, needed_modalities(run.profile, [model]))
    labels = cohort.labels.loc[cohort.ids].astype(int)
    root = store.study_root(run.data_dir) / cohort.name
    tasks = [Task(model, k, r, kind_protocols(k, protocols, permuted))
             for k in kinds for r in range(counts[k])]  # fmt: skip
    done, todo = {}, []
    for t in tasks:
        key = task_key(t, inputs, labels, run)
        found = None if retrain else store.read_table(root, t.path, key)
        if found is None:
            todo.append((t, key))
        else:
            done[t] = found
    workers = parallel_jobs(run, SINGLE, len(todo))
    bar = tqdm(total=len(todo), desc=f"leakage replicates ({cohort.name})", unit="replicate")
    if workers == 1:
        for t, key in todo:
            done[t] = _timed(t, inputs, labels, run)
            store.write_table(root, t.path, key, *done[t])
            bar.update(1)
    else:
        pool = executor(workers)
        futures = {pool.submit(_in_worker, t, inputs, labels, run): (t, key) for t, key in todo}
        for future in cf.as_completed(futures):
            t, key = futures[future]
            done[t] = future.result()
            store.write_table(root, t.path, key, *done[t])
            bar.update(1)
    bar.close()
    preds, audit, timing = [], [], []
    for t in tasks:
        tag = {"model": t.model, "kind": t.kind, "replicate": t.replicate}
        preds.append(done[t][0].assign(**tag))
        audit.append(done[t][1].assign(**tag))
        timing.append({**tag, **done[t][2]})
    return Replicates(
        cohort.name, pd.concat(preds, ignore_index=True), pd.concat(audit, ignore_index=True),
        len(todo), pd.DataFrame(timing),
    )  # fmt: skip
