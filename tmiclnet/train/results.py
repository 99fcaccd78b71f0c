"""The saved results of training, one folder per (cohort, model, fold), read by evaluation::

    <data_dir>/results/<cohort>/folds.csv                        id,label,fold (shared by models)
    <data_dir>/results/<cohort>/<model>/fold<k>/predictions.csv  id,label,prob,split (val|test)
                                              threshold.json     chosen on val
                                              history.csv        one row per epoch
                                              checkpoint.pt      resume state; best weights once done
                                              done.json          config, its hash, timing

`done.json` is written last: a fold folder without it (or with another config hash) is trained
again, so an interrupted run resumes where it stopped and a changed config never reuses stale
results.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import pandas as pd

from tmiclnet.provenance import atomic_write_text

SPLITS = ("val", "test")


def results_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "results"


def cohort_dir(results_dir: str | Path, cohort: str) -> Path:
    return Path(results_dir) / cohort


def folds_path(results_dir: str | Path, cohort: str) -> Path:
    return cohort_dir(results_dir, cohort) / "folds.csv"


def fold_dir(results_dir: str | Path, cohort: str, model: str, fold: int) -> Path:
    return cohort_dir(results_dir, cohort) / model / f"fold{fold}"


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of everything that determines a fold's result."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """The source of the code that trains and defines models: a change there retrains, since a
    saved checkpoint may no longer load into (or mean the same as) the current model."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for sub in ("models", "train"):
        for path in sorted((package / sub).rglob("*.py")):
            h.update(path.relative_to(package).as_posix().encode())
            h.update(path.read_bytes())
    h.update((package / "device.py").read_bytes())
    return h.hexdigest()


def is_done(folder: Path, key: str) -> bool:
    """True when the fold finished under the same config hash."""
    done = Path(folder) / "done.json"
    if not done.exists():
        return False
    try:
        return json.loads(done.read_text()).get("config_hash") == key
    except json.JSONDecodeError:
        return False


def write_json(path: Path, payload: dict) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def _fold_folders(results_dir, cohort: str, model: str) -> list[Path]:
    root = cohort_dir(results_dir, cohort) / model
    folders = sorted(root.glob("fold*"), key=lambda p: int(p.name[4:]))
    if not folders:
        raise FileNotFoundError(
            f"no results for model {model!r} of cohort {cohort!r} under "
            f"{root}; train it first (python -m tmiclnet train --model {model})"
        )
    return folders


def load_predictions(
    results_dir: str | Path, cohort: str, model: str, complete_only: bool = True
) -> pd.DataFrame:
    """DataFrame(id, label, prob, split, fold) over every fold of `model`.

    `results_dir` is `<data_dir>/results`. With `complete_only`, a fold without done.json raises
    (its predictions would be from an unfinished run).
    """
    frames = []
    for folder in _fold_folders(results_dir, cohort, model):
        if complete_only and not (folder / "done.json").exists():
            raise FileNotFoundError(f"{folder}: training did not finish (no done.json)")
        df = pd.read_csv(folder / "predictions.csv", dtype={"id": str})
        df["fold"] = int(folder.name[4:])
        frames.append(df)
    return pd.concat(frames, ignore_index=True)[["id", "label", "prob", "split", "fold"]]


def load_history(results_dir: str | Path, cohort: str, model: str) -> pd.DataFrame:
    """Every fold's history.csv, with a `fold` column."""
    frames = []
    for folder in _fold_folders(results_dir, cohort, model):
        df = pd.read_csv(folder / "history.csv")
        df["fold"] = int(folder.name[4:])
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def load_thresholds(results_dir: str | Path, cohort: str, model: str) -> pd.DataFrame:
    """One row per fold: the threshold chosen on validation and the rule that chose it."""
    rows = [
        {"fold": int(f.name[4:]), **read_json(f / "threshold.json")}
        for f in _fold_folders(results_dir, cohort, model)
    ]
    return pd.DataFrame(rows)


def load_done(results_dir: str | Path, cohort: str, model: str) -> pd.DataFrame:
    """One row per finished fold: timing and best epoch from done.json."""
    rows = []
    for folder in _fold_folders(results_dir, cohort, model):
        if (folder / "done.json").exists():
            d = read_json(folder / "done.json")
            rows.append(
                {
                    "model": model,
                    "fold": int(folder.name[4:]),
                    **d.get("timing", {}),
                    "best_epoch": d.get("best_epoch"),
                }
            )
    return pd.DataFrame(rows)


def trained_models(results_dir: str | Path, cohort: str) -> list[str]:
    """Models with at least one finished fold, sorted."""
    root = cohort_dir(results_dir, cohort)
    return (
        sorted({p.parent.parent.name for p in root.glob("*/fold*/done.json")})
        if root.exists()
        else []
    )


def load_model(results_dir: str | Path, cohort: str, model: str, fold: int, device=None):
    """The trained model of one fold (best weights), in eval mode, rebuilt from its checkpoint."""
    import torch

    from tmiclnet.models import build

    path = fold_dir(results_dir, cohort, model, fold) / "checkpoint.pt"
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if "build_config" not in ckpt:
        raise ValueError(f"{path}: training of this fold did not finish (no build_config)")
    net = build(ckpt["model_name"], **ckpt["build_config"])
    net.load_state_dict(ckpt["model"])
    return net.to(device or "cpu").eval()
