"""The AUC of every (model, fold, condition), computed from saved folds and cached by content.

The cache key holds the code that turns saved models into rows (`code_key`: the conditions, the
missing-input rule, this module, the rescan, the saved-fold loader, the external scanner's
renderer), the conditions, the seed, the folds and every done.json read: an edit there, or a
retrained fold, is never served a stale table. The page's tables (`tables`) are not in it: they
are made from the rows each time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.evaluate import saved
from tmiclnet.evaluate.rescan import rescan, rescanned_inputs
from tmiclnet.evaluate.robustness.conditions import Condition, applies, default_conditions, perturb
from tmiclnet.evaluate.robustness.missing import model_names
from tmiclnet.models.catalogue import ct_only_name
from tmiclnet.provenance import atomic_write_bytes

ROBUSTNESS_VERSION = "3"
DEFAULT_MODELS = (
    "tmiclnet_tokens",
    "tmiclnet_tokens_md",
    "early_fusion",
    "early_fusion_md",
    "late_fusion",
    "ct_only",
)


# The modules whose code shapes the cached rows (package-relative); not the tables made of them.
ROBUSTNESS_CODE = (
    "evaluate/robustness/conditions.py",
    "evaluate/robustness/missing.py",
    "evaluate/robustness/scores.py",
    "evaluate/rescan.py",
    "evaluate/saved.py",
    "data/render.py",
    "data/external.py",
)


def code_key() -> str:
    """sha256 of the code that turns saved models into robustness rows (`ROBUSTNESS_CODE`): an
    edit there is never served a stale cached table."""
    from tmiclnet.config import PACKAGE_DIR

    h = hashlib.sha256()
    for rel in ROBUSTNESS_CODE:
        h.update(rel.encode() + (PACKAGE_DIR / rel).read_bytes())
    return h.hexdigest()


def training_seconds(data_dir: str | Path, cohort_name: str, models) -> pd.Series:
    """Seconds each model's training took, summed over its finished folds (from done.json).

    Used by notebook 12 (robustness): what the modality-dropout variants cost.

    Args:
        data_dir: the run's data folder (``run.data_dir``).
        cohort_name: the cohort's name, e.g. ``pbc``.
        models: catalogue names, as a list or one comma-separated string.
    """
    root = results.results_root(data_dir)
    return pd.Series(
        {
            m: sum(
                results.read_done(d).timing["seconds"]
                for d in results.finished_folds(root, cohort_name, m).values()
            )
            for m in model_names(models)
        },
        name="seconds",
        dtype=float,
    )


def _key(
    results_dir: Path,
    cohort: str,
    models,
    conditions,
    seed: int,
    profile,
    folds: list[int] | None = None,
) -> str:
    from tmiclnet.data.cohort import GENERATOR_VERSION
    from tmiclnet.radiomics import params_path

    h = hashlib.sha256(ROBUSTNESS_VERSION.encode() + code_key().encode())
    h.update(json.dumps([asdict(c) for c in conditions]).encode() + str(seed).encode())
    h.update(json.dumps(folds).encode())
    if any(c.scanner for c in conditions):  # what the rescanned cohort and its radiomics depend on
        h.update(GENERATOR_VERSION.encode() + params_path(profile.radiomics_params).read_bytes())
        h.update((results_dir.parent / cohort / "cohort.json").read_bytes())
    for m in sorted(set(models) | {ct_only_name()}):
        for d in results.finished_folds(results_dir, cohort, m).values():
            h.update(results.done_path(d).read_bytes())
    return h.hexdigest()[:16]


def evaluate_robustness(
    data_dir: str | Path,
    cohort_name: str,
    run,
    models=DEFAULT_MODELS,
    conditions: list[Condition] | None = None,
    folds: int | None = None,
) -> pd.DataFrame:
    """AUC of each (model, fold, condition) on the fold's test patients, cached by content.

    Every fold by default. Returns DataFrame(model, fold, condition, auc, n); models without
    saved results are skipped (train the modality-dropout variants first:
    `tmiclnet.study.dropout_variants`), and drop-a-modality rows are computed only for models that
    learned to predict without a modality (`missing_inputs`).

    Used by notebook 12 (robustness).

    Args:
        data_dir: the run's data folder (``run.data_dir``): holds the cohort and `results/`.
        cohort_name: the cohort's name, e.g. ``pbc``.
        run: the notebook's `tmiclnet.config.Run`: its profile and device are used, its seed and
            profile are part of the cache key.
        models: catalogue names, as a list or one comma-separated string (as papermill passes it);
            models without saved results are skipped.
        conditions: the perturbations to apply; None: `default_conditions()`.
        folds: evaluate the first that many folds only (bounds the cost of re-extracting the
            external center's radiomics); None or 0: every fold.
    """
    from sklearn.metrics import roc_auc_score

    data_dir = Path(data_dir)
    results_dir = data_dir / "results"
    conditions = conditions or default_conditions()
    models = [m for m in model_names(models) if results.finished_folds(results_dir, cohort_name, m)]
    if not models:
        raise FileNotFoundError(
            f"{results_dir / cohort_name}: none of the models has saved results"
        )
    table = results.read_folds(results_dir, cohort_name)
    chosen = sorted(int(k) for k in table["fold"].unique())
    chosen = chosen[:folds] if folds else chosen
    key = _key(results_dir, cohort_name, models, conditions, run.seed, run.profile, chosen)
    cache = results_dir / cohort_name / "robustness" / f"{key}.csv"
    if cache.exists():
        return pd.read_csv(cache)
    opened = saved.open_inputs(data_dir, cohort_name, run)
    test_ids = list(table.loc[table["fold"].isin(chosen), "id"])
    scans = {
        c.scanner: rescan(opened.cohort, run, c.scanner, test_ids) for c in conditions if c.scanner
    }
    rows = []
    for k in chosen:
        fold = saved.saved_fold(data_dir, cohort_name, run, int(k), opened)
        y = fold.test.labels.numpy()
        perturbed = {
            c.name: rescanned_inputs(fold, opened.inputs, scans[c.scanner], run.profile)
            if c.scanner
            else perturb(fold.test.inputs, c, run.seed + int(k))
            for c in conditions
        }
        for name in models:
            if not fold.has(name):
                continue
            mods = tuple(fold.model(name)[0].modalities)
            for c in conditions:
                if applies(c, mods, name):
                    p = fold.probs(name, perturbed[c.name]).numpy()
                    rows.append(
                        {
                            "model": name,
                            "fold": int(k),
                            "condition": c.name,
                            "auc": float(roc_auc_score(y, p)),
                            "n": len(y),
                        }
                    )
    out = pd.DataFrame(rows)
    atomic_write_bytes(cache, out.to_csv(index=False).encode())
    return out
