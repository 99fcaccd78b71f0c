"""`python -m tmiclnet bench training`: where a cohort's training time goes, today vs fast path.

On one cohort and some folds, the catalogue's models are cross-validated from scratch (into a
temporary results folder) once per path, the paths alternating repeat by repeat and side by side
in this one process run, since the machine is shared and its load drifts:

- `today`: the first version's training: the per-fold schedule (CT-only model in the main process
  on every thread, then the fold's other models two at a time in single-threaded workers),
  contiguous CT tensors, fusion width 256, AdamW's per-tensor loop, a checkpoint after every
  epoch;
- `fast`: the profile as it is (cpu: the pooled schedule, tmiclnet.train.schedule, channels-last
  CT tensors, fusion width 128, fused AdamW, a resume checkpoint every 60 s of training instead
  of after every epoch).

Per model: seconds per epoch and per fold, epochs to early stopping, share of the model-seconds,
test AUC; per path: wall seconds and the load average. The CT encoder's training throughput
(volumes/s, forward + backward) comes first; `--levers` adds the table of CT-encoder levers.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from tmiclnet.bench import ct as bench_ct
from tmiclnet.config import Profile, Schedule, default_data_dir, setup
from tmiclnet.models.catalogue import catalogue_names

LEVERS = [
    bench_ct.Lever("baseline (contiguous, 2 threads)", threads=2, channels_last=False),
    bench_ct.Lever("channels_last_3d, 2 threads", threads=2, channels_last=True),
    bench_ct.Lever("contiguous, 1 thread", threads=1, channels_last=False),
    bench_ct.Lever("channels_last_3d, 1 thread", threads=1, channels_last=True),
    bench_ct.Lever("channels_last_3d, 1 thread, batch 8", 1, True, batch_size=8),
    bench_ct.Lever("channels_last_3d, 1 thread, batch 32", 1, True, batch_size=32),
    bench_ct.Lever("channels_last_3d, 1 thread, conv1 7 (science change)", 1, True, conv1_size=7),
    bench_ct.Lever("channels_last_3d, 1 thread, conv1 5 (science change)", 1, True, conv1_size=5),
    bench_ct.Lever("channels_last_3d, 1 thread, conv1 3 (science change)", 1, True, conv1_size=3),
    bench_ct.Lever("1 thread, widen 0.5 (science change)", 1, True, widen=0.5),
    bench_ct.Lever("1 thread, conv1 stride 1 (science change)", 1, True, conv1_stride=1),
    bench_ct.Lever("1 thread, input 0.75x per axis (science change)", 1, True, scale=0.75),
]


def paths(profile: Profile) -> dict[str, Profile]:
    """The two training paths compared: today's (per-fold, contiguous) and the profile's own."""
    today = dataclasses.replace(
        profile,
        train_schedule=Schedule.PER_FOLD,
        ct_channels_last=False,
        checkpoint_every_s=0.0,
        fusion_dim=256,
        fused_optimizer=False,
    )
    return {"today": today, "fast": profile}


def _inputs(cohort_dir: Path, profile: Profile, models: list[str]):
    from tmiclnet.data.cohort import load
    from tmiclnet.inputs.features import load_inputs
    from tmiclnet.train.jobs import needed_modalities

    cohort = load(cohort_dir)
    return cohort, load_inputs(cohort, profile, needed_modalities(profile, models))


def train_once(cohort, inputs, models, run, folds, out: Path) -> tuple[pd.DataFrame, float]:
    """Cross-validate `models` on `folds` from scratch into `out`: (per-model rows, wall s)."""
    from tmiclnet import results
    from tmiclnet.train.cv import cross_validate

    t0 = time.perf_counter()
    table = cross_validate(inputs, cohort.name, cohort.labels, models, run, out, True, folds)
    wall = time.perf_counter() - t0
    table["test_auc"] = [
        results.read_done(results.fold_dir(out, cohort.name, m, k)).test_auc
        for m, k in zip(table["model"], table["fold"])
    ]
    return table, wall


def summarise(tables: dict[str, list[pd.DataFrame]]) -> pd.DataFrame:
    """One row per (model, path): mean s/epoch, s/fold, epochs, share of model-seconds, AUC."""
    rows = []
    for path, ts in tables.items():
        t = pd.concat(ts)
        total = t["seconds"].sum()
        for model, g in t.groupby("model", sort=False):
            rows.append(
                {
                    "model": model,
                    "path": path,
                    "s_per_epoch": g["epoch_seconds"].mean(),
                    "s_per_fold": g["seconds"].mean(),
                    "epochs": g["epochs"].mean(),
                    "share_%": 100 * g["seconds"].sum() / total,
                    "test_auc": g["test_auc"].mean(),
                }
            )
    return pd.DataFrame(rows).sort_values(["model", "path"], kind="stable")


def ct_table(profile: Profile, volumes, repeats: int, levers: bool, workers: int) -> pd.DataFrame:
    """The CT encoder's throughput: today's setting, the fast one, and optionally every lever."""
    today = paths(profile)["today"]
    chosen = LEVERS if levers else LEVERS[:1]
    rows = [{"path": "today", **r} for r in bench_ct.variants(today, volumes, chosen, repeats)]
    rows.append({"path": "fast", **bench_ct.pooled(profile, volumes, workers, repeats)})
    return pd.DataFrame(rows)


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m tmiclnet bench training", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--cohort", default="", help="cohort folder (default: <data>/<profile>/pbc)")
    ap.add_argument("--folds", default="0", help="comma-separated fold indices (default: 0)")
    ap.add_argument("--models", default="all", help="catalogue names, comma-separated, or all")
    ap.add_argument("--paths", default="today,fast", help="which paths, in the first order")
    ap.add_argument("--repeats", type=int, default=1, help="training runs per path")
    ap.add_argument("--ct-repeats", type=int, default=3, help="timed steps per CT setting")
    ap.add_argument("--levers", action="store_true", help="also time every CT-encoder lever")
    ap.add_argument("--no-train", action="store_true", help="only the CT encoder's throughput")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--csv", default="", help="also write the per-model table here")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    run = setup(args.profile, "", args.seed, "cpu")
    cohort_dir = Path(args.cohort or default_data_dir(args.profile) / "pbc")
    if not (cohort_dir / "cohort.json").is_file():
        raise SystemExit(f"--cohort {cohort_dir}: no cohort.json (python -m tmiclnet data build)")
    models, folds = catalogue_names(args.models), [int(k) for k in args.folds.split(",")]
    cohort, inputs = _inputs(cohort_dir, run.profile, models)
    print(
        f"profile {args.profile}, cohort {cohort_dir} ({len(cohort.ids)} patients), folds {folds}"
    )
    print(
        f"n_jobs {run.profile.n_jobs}, torch threads {torch.get_num_threads()}, {bench_ct.load()}"
    )
    if inputs.ct is not None:
        ct = ct_table(run.profile, inputs.ct, args.ct_repeats, args.levers, run.profile.n_jobs)
        print(f"\nCT encoder, forward + backward ({bench_ct.load()})")
        print(ct.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if args.no_train:
        return 0
    profiles, order = paths(run.profile), args.paths.split(",")
    tables: dict[str, list[pd.DataFrame]] = {p: [] for p in order}
    walls: dict[str, list[float]] = {p: [] for p in order}
    with tempfile.TemporaryDirectory(prefix="tmiclnet-bench-") as tmp:
        for r in range(args.repeats):
            for path in order if r % 2 == 0 else order[::-1]:
                before = bench_ct.load()
                out = Path(tmp) / f"{path}{r}"
                prun = run.replace(profile=profiles[path], data_dir=Path(tmp))
                table, wall = train_once(cohort, inputs, models, prun, folds, out)
                tables[path].append(table)
                walls[path].append(wall)
                print(f"{path} run {r}: {wall:.1f} s wall ({before} -> {bench_ct.load()[13:]})")
                cols = ["model", "fold", "seconds", "epochs", "epoch_seconds", "test_auc"]
                print(table[cols].to_string(index=False), flush=True)
    summary = summarise(tables)
    print("\nper model (means over folds and runs)")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    scale = run.profile.folds / len(folds)
    for path in order:
        w = sum(walls[path]) / len(walls[path])
        model_s = pd.concat(tables[path])["seconds"].sum() / len(walls[path])
        print(
            f"{path}: {w:.1f} s wall for {len(folds)} fold(s), {model_s:.1f} model-seconds; "
            f"x{scale:g} folds = ~{w * scale:.0f} s for the whole cohort (extrapolated)"
        )
    if len(order) == 2:
        a, b = (sum(walls[p]) / len(walls[p]) for p in order)
        print(f"speed-up {order[0]} / {order[1]}: {a / b:.2f}x wall")
    if args.csv:
        summary.to_csv(args.csv, index=False)
    return 0
