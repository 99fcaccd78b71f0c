"""`python -m tmiclnet train --model NAME[,NAME|all] --cohort DIR --profile P [--retrain]`.

Under torchrun (`torchrun --nproc_per_node=N -m tmiclnet.train ...`) each process joins the
process group and trains its share of every batch; only rank 0 writes results.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from tmiclnet.config import setup
from tmiclnet.train import ddp
from tmiclnet.train.cv import run_cv


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m tmiclnet train", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--model", required=True, help="catalogue name(s), comma-separated, or 'all'")
    ap.add_argument("--cohort", required=True, help="cohort folder (e.g. data/generated/cpu/pbc)")
    ap.add_argument("--profile", default="cpu", help="quick | cpu | gpu")
    ap.add_argument("--results", default="", help="results folder (default: <cohort>/../results)")
    ap.add_argument("--folds", default="", help="comma-separated fold indices (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--retrain", action="store_true", help="train even when results exist")
    return ap.parse_args(argv)


def model_names(spec: str) -> list[str]:
    """'all' = the whole catalogue, else the comma-separated names.

    Used by notebook 08 (training).

    Args:
        spec: ``all`` or comma-separated catalogue names.
    """
    if spec.strip() == "all":
        from tmiclnet.models import catalogue

        return [str(n) for n in catalogue()["name"]]
    return [m.strip() for m in spec.split(",") if m.strip()]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    cohort = Path(args.cohort)
    if not cohort.is_dir():
        raise SystemExit(f"--cohort {cohort}: no such folder")
    run = setup(args.profile, cohort.parent, args.seed, args.device)
    world, device = ddp.from_env(run.device)
    run = run.replace(device=device)
    try:
        summary = run_cv(
            cohort,
            model_names(args.model),
            run,
            retrain=args.retrain,
            results_dir=args.results or None,
            world=world,
            folds=[int(k) for k in args.folds.split(",")] if args.folds else None,
        )
    finally:
        ddp.shutdown()
    if world.main:
        with pd.option_context("display.width", 160, "display.max_rows", 200):
            print(summary.to_string(index=False))
    return 0
