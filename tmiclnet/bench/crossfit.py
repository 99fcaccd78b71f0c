"""What cross-fitted CT tokens change, measured: the same folds trained with in_fold and with
cross-fitted tokens, fold by fold, so that a partial run already gives paired folds.

`python -m tmiclnet bench crossfit --cohort DIR --profile cpu --models ct_only,ct_text
--out DIR` writes `<out>/crossfit_bench.csv` (mode, fold, model, test AUC, training seconds) and
prints the mean ± sd per (model, mode) and the paired per-fold difference. The CT-only model is the
same in both modes (its key does not depend on the token source): it is trained once, under
in_fold, and its finished fold is copied into the cross-fitted results, whose cost then adds the
two half-encoders.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path

import pandas as pd

from tmiclnet import results
from tmiclnet.config import setup
from tmiclnet.errors import OneLineParser
from tmiclnet.models.catalogue import ct_only_name, modalities_of
from tmiclnet.provenance import atomic_write_text
from tmiclnet.train import crossfit


def _fold_rows(out: Path, cohort: str, models: list[str], mode: str, k: int, wall: float) -> list:
    """One row per model of fold k: its test AUC and training seconds (the halves as one row)."""
    rows = []
    for name in models:
        folder = results.fold_dir(out, cohort, name, k)
        done = results.read_done(folder)
        rows.append(
            {"mode": mode, "fold": k, "model": name, "test_auc": done.test_auc,
             "seconds": done.timing["seconds"], "wall_s": round(wall, 1)}
        )  # fmt: skip
    halves = crossfit.crossfit_dir(results.fold_dir(out, cohort, ct_only_name(), k))
    if mode == "crossfit":
        seconds = sum(results.read_done(halves / p).timing["seconds"] for p in ("half0", "half1"))
        rows.append({"mode": mode, "fold": k, "model": "ct_halves", "test_auc": None,
                     "seconds": seconds, "wall_s": round(wall, 1)})  # fmt: skip
    return rows


def measure(cohort_path: str | Path, models: list[str], run, out: str | Path) -> pd.DataFrame:
    """Train `models` fold by fold with in_fold then cross-fitted tokens; one row per
    (mode, fold, model), also written to `<out>/crossfit_bench.csv` after every fold.

    Args:
        cohort_path: the cohort folder.
        models: catalogue names; the CT-only model is added when missing.
        run: the run (`tmiclnet.config.setup`); its profile's ct_tokens is set per mode.
        out: a folder of its own: `<out>/in_fold` and `<out>/crossfit` hold the results.
    """
    from tmiclnet.data.cohort import load
    from tmiclnet.inputs.features import load_inputs
    from tmiclnet.train.cv import cross_validate

    cohort, out = load(cohort_path), Path(out)
    ct = ct_only_name()
    models = [ct] + [m for m in models if m != ct]
    want = set().union(*(modalities_of(m) for m in models))
    inputs = load_inputs(cohort, run.profile, want)
    rows: list = []
    for k in range(run.profile.folds):
        for mode in ("in_fold", "crossfit"):
            dest = out / mode
            if mode == "crossfit":  # the CT-only fold of in_fold, under the same key
                src = results.fold_dir(out / "in_fold", cohort.name, ct, k)
                shutil.copytree(src, results.fold_dir(dest, cohort.name, ct, k), dirs_exist_ok=True)
            profile = dataclasses.replace(run.profile, ct_tokens=mode)
            t0 = time.perf_counter()
            cross_validate(
                inputs, cohort.name, cohort.labels, models, run.replace(profile=profile), dest,
                folds=[k],
            )  # fmt: skip
            new = _fold_rows(dest, cohort.name, models, mode, k, time.perf_counter() - t0)
            rows += [{**row, "load1": os.getloadavg()[0]} for row in new]
        table = pd.DataFrame(rows)
        atomic_write_text(out / "crossfit_bench.csv", table.to_csv(index=False))
        print(summary(table).to_string(), flush=True)
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model and mode: folds, mean ± sd of test AUC, seconds; and the paired per-fold
    difference (crossfit - in_fold) of the AUC, mean ± sd, over the folds both modes finished.

    Args:
        table: `measure`'s rows.
    """
    auc = table.dropna(subset=["test_auc"]).pivot_table(
        index=["model", "fold"], columns="mode", values="test_auc"
    )
    out = []
    for model, per in auc.groupby(level="model"):
        both = per.dropna()
        diff = both.get("crossfit", pd.Series(dtype=float)) - both.get("in_fold", 0)
        row = {"model": model, "folds": len(both)}
        for mode in ("in_fold", "crossfit"):
            if mode in per:
                row[f"{mode}_auc"] = f"{per[mode].mean():.3f} ± {per[mode].std():.3f}"
        row["diff"] = f"{diff.mean():+.3f} ± {diff.std():.3f}" if len(diff) else ""
        out.append(row)
    seconds = table.groupby("mode")["seconds"].sum().round(1).to_dict()
    return pd.DataFrame(out).assign(train_seconds=str(seconds))


def main(argv: list[str] | None = None) -> None:
    ap = OneLineParser(prog="python -m tmiclnet bench crossfit", description=__doc__)
    ap.add_argument("--cohort", required=True)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--models", default="ct_only,ct_text")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    run = setup(args.profile, seed=0, device=args.device)
    measure(args.cohort, args.models.split(","), run, args.out)
