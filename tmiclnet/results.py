"""The results store: one folder layout, written by training and the references, read by all::

    <data_dir>/results/<cohort>/folds.csv                       id,label,fold (shared by models)
    <data_dir>/results/<cohort>/<model>/fold<k>/predictions.csv id,label,prob,split (val|test)
                                             threshold.json     chosen on validation
                                             history.csv        one row per epoch (networks)
                                             checkpoint.pt      resume state; best weights once done
                                             ct_tokens.pt       the CT-only model's cached tokens
                                             done.json          config, its hash, timing

Repeats of the cross-validation (tmiclnet.train.repeats) and runs on permuted labels keep the same
layout under a results folder of their own, so they never mix with the main run::

    <data_dir>/results/repeat<r>/<cohort>/...                   repeat r >= 1 (repeat 0 is above)
    <data_dir>/results/permuted<seed>/[repeat<r>/]<cohort>/...  labels permuted with that seed

A fold is *finished* when its `done.json` exists: it is written last and every file is written
atomically, so a reader never sees a half-written fold, an interrupted run resumes where it stopped,
and a fold whose done.json carries another config hash is trained again. Training
(`tmiclnet.train.cv`), the classical references, evaluation, robustness, interpretation and the
notebooks all go through this module, so they agree on what a finished fold is.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from tmiclnet import keys
from tmiclnet.provenance import atomic_torch_save, atomic_write_text

PRED_COLUMNS = ("id", "label", "prob", "split")
_FOLD_DIR = re.compile(r"^fold(\d+)$")
PathLike = str | os.PathLike


# -- layout ----------------------------------------------------------------------------------------
def results_root(data_dir: PathLike) -> Path:
    """`<data_dir>/results`: where training writes unless told otherwise.

    Used by notebook 08 (training).

    Args:
        data_dir: the run's data folder (``run.data_dir``).
    """
    return Path(data_dir) / "results"


def repeat_dir(results_dir: PathLike, repeat: int) -> Path:
    """The results folder of cross-validation repeat `repeat`: `results_dir` itself for repeat 0
    (the main run's layout, unchanged), `<results_dir>/repeat<r>` for the others.

    Args:
        results_dir: the results folder (`results_root`).
        repeat: the repeat number, 0 for the main run.
    """
    if repeat < 0:
        raise ValueError(f"repeat {repeat}: must be >= 0")
    return Path(results_dir) if repeat == 0 else Path(results_dir) / f"repeat{repeat}"


def permuted_dir(results_dir: PathLike, seed: int) -> Path:
    """`<results_dir>/permuted<seed>`: the results of a run on labels permuted with `seed`.

    Args:
        results_dir: the results folder (`results_root`).
        seed: the permutation's seed.
    """
    return Path(results_dir) / f"permuted{int(seed)}"


def run_dir(results_dir: PathLike, repeat: int = 0, permuted: int | None = None) -> Path:
    """Where one cross-validation run writes: `repeat_dir` of `permuted_dir` (when the labels
    are permuted with seed `permuted`) or of `results_dir` itself.

    Args:
        results_dir: the results folder (`results_root`).
        repeat: the repeat number, 0 for the main run.
        permuted: the permutation's seed, or None for the real labels.
    """
    base = Path(results_dir) if permuted is None else permuted_dir(results_dir, permuted)
    return repeat_dir(base, repeat)


def cohort_dir(results_dir: PathLike, cohort: str) -> Path:
    return Path(results_dir) / cohort


def folds_path(results_dir: PathLike, cohort: str) -> Path:
    """`<results_dir>/<cohort>/folds.csv`: every patient's fold.

    Args:
        results_dir: the results folder (`results_root`).
        cohort: the cohort's name, e.g. ``pbc``.
    """
    return cohort_dir(results_dir, cohort) / "folds.csv"


def fold_dir(results_dir: PathLike, cohort: str, model: str, fold: int) -> Path:
    """`<results_dir>/<cohort>/<model>/fold<fold>`: one trained fold's files.

    Args:
        results_dir: the results folder (`results_root`).
        cohort: the cohort's name, e.g. ``pbc``.
        model: the catalogue name of the model.
        fold: the fold number.
    """
    return cohort_dir(results_dir, cohort) / model / f"fold{fold}"


def fold_folders(results_dir: PathLike, cohort: str, model: str) -> dict[int, Path]:
    """{fold index: folder} of every fold folder of a model, finished or not, by fold index."""
    root = cohort_dir(results_dir, cohort) / model
    found = {int(m.group(1)): d for d in root.glob("fold*") if (m := _FOLD_DIR.match(d.name))}
    return dict(sorted(found.items()))


def finished_folds(results_dir: PathLike, cohort: str, model: str) -> dict[int, Path]:
    """{fold index: folder} of the folds that finished (predictions.csv and done.json written)."""
    return {
        k: d
        for k, d in fold_folders(results_dir, cohort, model).items()
        if (d / "predictions.csv").exists() and done_path(d).exists()
    }


def trained_models(results_dir: PathLike, cohort: str) -> list[str]:
    """Models with at least one finished fold, sorted by name."""
    root = cohort_dir(results_dir, cohort)
    if not root.exists():
        return []
    return sorted(
        d.name for d in root.iterdir() if d.is_dir() and finished_folds(results_dir, cohort, d.name)
    )


# -- finished folds ------------------------------------------------------------------------------
DONE = "done.json"


@dataclass(frozen=True)
class Done:
    """A finished fold's record (its done.json), read in one place.

    Training writes it for a network (`tmiclnet.train.fold`), the classical references for
    theirs (`tmiclnet.evaluate.references`); every reader goes through `read_done`.
    """

    key: str | None  # the fold's config hash: a fold is reused only under the same key
    code: (
        str | None
    )  # the code hash it was made with (`tmiclnet.keys.code_hash`); None: a reference
    timing: dict = field(default_factory=dict)  # seconds, epochs, peak memory (networks)
    best_epoch: int | None = None
    test_auc: float | None = None
    payload: dict = field(default_factory=dict)  # the whole record, for what is not typed above

    @classmethod
    def from_payload(cls, payload: dict) -> Done:
        return cls(
            key=payload.get("config_hash", payload.get("key")),
            code=payload.get("code"),
            timing=dict(payload.get("timing") or {}),
            best_epoch=payload.get("best_epoch"),
            test_auc=payload.get("test_auc"),
            payload=payload,
        )


def done_path(folder: PathLike) -> Path:
    """Where a fold's record is: written last, so its presence marks the fold finished."""
    return Path(folder) / DONE


def read_done(folder: PathLike) -> Done | None:
    """The fold's record, or None when the fold has not finished (or its record is unreadable).

    Args:
        folder: the fold's folder (`fold_dir(...)`).
    """
    path = done_path(folder)
    if not path.exists():
        return None
    try:
        return Done.from_payload(json.loads(path.read_text()))
    except json.JSONDecodeError:
        return None


def is_done(folder: PathLike, key: str) -> bool:
    """True when the fold finished under the same config hash."""
    done = read_done(folder)
    return done is not None and done.key == key


# -- files -----------------------------------------------------------------------------------------
def write_json(path: PathLike, payload: dict) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: PathLike) -> dict:
    return json.loads(Path(path).read_text())


def write_fold(
    folder: PathLike,
    predictions: pd.DataFrame,
    threshold: dict,
    done: dict,
    history: pd.DataFrame | None = None,
    checkpoint: dict | None = None,
) -> Path:
    """Write one finished fold, done.json last; returns the folder.

    Args:
        folder: the fold's folder (`fold_dir(...)`).
        predictions: one row per patient and split, with the columns of `PRED_COLUMNS`.
        threshold: the decision threshold and how it was chosen (key "threshold").
        done: what produced the fold (config, its hash, timing); marks the fold finished.
        history: one row per epoch, for networks.
        checkpoint: best weights and how to build the model, for networks.
    """
    folder = Path(folder)
    write_json(folder / "threshold.json", threshold)
    atomic_write_text(
        folder / "predictions.csv", predictions[list(PRED_COLUMNS)].to_csv(index=False)
    )
    if history is not None:
        atomic_write_text(folder / "history.csv", history.to_csv(index=False))
    if checkpoint is not None:
        atomic_torch_save(folder / "checkpoint.pt", checkpoint)
    write_json(done_path(folder), done)
    return folder


def read_folds(results_dir: PathLike, cohort: str) -> pd.DataFrame:
    """folds.csv as DataFrame(id, label, fold), ids as strings; a clear error if absent or bad."""
    path = folds_path(results_dir, cohort)
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; train a model first (python -m tmiclnet train)")
    folds = pd.read_csv(path, dtype={"id": str})
    missing = {"id", "label", "fold"} - set(folds.columns)
    if missing:
        raise ValueError(f"{path}: columns {sorted(missing)} missing (need id,label,fold)")
    return folds


def read_threshold(path: PathLike) -> float:
    """The decision threshold stored in threshold.json (key "threshold", or a bare number)."""
    data = json.loads(Path(path).read_text())
    value = data.get("threshold") if isinstance(data, dict) else data
    if not isinstance(value, (int, float)):
        raise ValueError(f"{path}: no numeric 'threshold' field")
    return float(value)


def _finished_or_raise(results_dir: PathLike, cohort: str, model: str) -> dict[int, Path]:
    folders = finished_folds(results_dir, cohort, model)
    if not folders:
        raise FileNotFoundError(
            f"{cohort_dir(results_dir, cohort) / model}: no finished fold; train it first "
            f"(python -m tmiclnet train --model {model})"
        )
    return folders


def load_predictions(results_dir: PathLike, cohort: str, model: str) -> pd.DataFrame:
    """Every finished fold's predictions: DataFrame(id, label, prob, split, fold, threshold).

    Args:
        results_dir: `<data_dir>/results` (see `results_root`).
        cohort: the cohort's name (its folder under `results_dir`).
        model: a catalogue or reference model name.
    """
    frames = []
    for k, d in _finished_or_raise(results_dir, cohort, model).items():
        df = pd.read_csv(d / "predictions.csv", dtype={"id": str})
        missing = set(PRED_COLUMNS) - set(df.columns)
        if missing:
            raise ValueError(f"{d / 'predictions.csv'}: columns {sorted(missing)} missing")
        thr = d / "threshold.json"
        df["fold"] = k
        df["threshold"] = read_threshold(thr) if thr.exists() else 0.5
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def load_history(results_dir: PathLike, cohort: str, model: str) -> pd.DataFrame:
    """history.csv of every finished fold with a `fold` column (empty if the model has none)."""
    frames = []
    for k, d in finished_folds(results_dir, cohort, model).items():
        if (d / "history.csv").exists():
            h = pd.read_csv(d / "history.csv")
            h["fold"] = k
            frames.append(h)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_done(results_dir: PathLike, cohort: str, model: str) -> pd.DataFrame:
    """One row per finished fold: timing and best epoch from done.json."""
    rows = []
    for k, d in _finished_or_raise(results_dir, cohort, model).items():
        done = read_done(d)
        rows.append({"model": model, "fold": k, **done.timing, "best_epoch": done.best_epoch})
    return pd.DataFrame(rows)


def unusable(results_dir: PathLike, cohort: str, model: str) -> str | None:
    """Why a model's saved results must not enter the tables, or None when they may.

    A model is left out when fewer of its folds finished than folds.csv has (a mean over the
    finished ones would be a mean over other patients), or when a network was trained by other
    code than the current (its done.json records the code hash it was trained with).
    """
    finished = finished_folds(results_dir, cohort, model)
    has_folds = folds_path(results_dir, cohort).exists()  # absent: results written without training
    expected = read_folds(results_dir, cohort)["fold"].nunique() if has_folds else len(finished)
    if len(finished) < expected:
        return f"{len(finished)} of {expected} folds finished"
    current = keys.code_hash()
    codes = {read_done(d).code or current for d in finished.values()}
    if codes != {current}:
        return "trained by other code than the current; retrain it"
    return None


# -- trained networks ------------------------------------------------------------------------------
def load_model(
    folder: PathLike, device: torch.device | str = "cpu"
) -> tuple[torch.nn.Module, dict]:
    """A finished fold's network rebuilt from checkpoint.pt: (model in eval mode, build config).

    Args:
        folder: the fold's folder (`fold_dir(results_dir, cohort, model, fold)`).
        device: where the model goes.
    """
    from tmiclnet.models import build

    path = Path(folder) / "checkpoint.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; train the model first")
    # weights_only=False: the file is our own and holds the build config next to the weights
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    missing = {"model_name", "build_config", "model"} - set(ckpt)
    if missing:
        raise ValueError(
            f"{path}: keys {sorted(missing)} missing; the fold did not finish training"
        )
    model = build(ckpt["model_name"], **ckpt["build_config"])
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        name = ckpt["model_name"]
        raise RuntimeError(
            f"{path}: the saved weights do not fit the current code of model {name!r} (the model "
            f"changed since training); retrain it (python -m tmiclnet train --model {name} "
            "--retrain ...)"
        ) from err
    return model.to(device).eval(), ckpt["build_config"]


def read_ct_tokens(folder: PathLike, key: str) -> torch.Tensor | None:
    """The CT-only model's cached tokens of this fold when they were made under `key`, else None."""
    path = Path(folder) / "ct_tokens.pt"
    if not path.exists():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=True)
    return saved["tokens"] if saved.get("key") == key else None


def write_ct_tokens(folder: PathLike, key: str, tokens: torch.Tensor) -> None:
    atomic_torch_save(Path(folder) / "ct_tokens.pt", {"key": key, "tokens": tokens})
