"""`python -m tmiclnet train --model NAME[,NAME|all] --cohort DIR --profile P [--retrain]`.

`--repeats all` (or `1,2`) also trains the repeats of the cross-validation (new folds drawn with
seed + r, each repeat in `results/repeat<r>/`) and scores the classical references on them;
`--permute-labels SEED` runs the same on labels permuted with SEED, under `results/permuted<SEED>/`
(a check of the whole pipeline: every AUC should be near 0.5).

Under torchrun (`torchrun --nproc_per_node=N -m tmiclnet train ...`) each process joins the
process group and trains its share of every batch; only rank 0 writes results.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pandas as pd

from tmiclnet.cli import options
from tmiclnet.config import get_profile, setup
from tmiclnet.data.cohort import load
from tmiclnet.data.places import results_root_for
from tmiclnet.errors import OneLineParser, UsageError
from tmiclnet.train import ddp
from tmiclnet.train.cv import run_cv
from tmiclnet.train.repeats import run_repeats


def parse(argv: list[str]) -> argparse.Namespace:
    ap = OneLineParser(prog="python -m tmiclnet train", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="catalogue name(s), comma-separated, or 'all'")
    ap.add_argument("--cohort", required=True, help="cohort folder (e.g. data/generated/cpu/pbc)")
    ap.add_argument("--profile", default="cpu", choices=options.profile_names())
    ap.add_argument(
        "--results", default="", help="results folder (default: <cohort>/../results; never in it)"
    )
    ap.add_argument("--folds", default="", help="comma-separated fold indices (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:1 | mps")
    ap.add_argument("--retrain", action="store_true", help="train even when results exist")
    ap.add_argument(
        "--repeats",
        default="",
        help="cross-validation repeats: '' = the main run (0), 'all' = 0..cv_repeats-1, or 0,1,2",
    )
    ap.add_argument(
        "--permute-labels",
        type=int,
        default=None,
        metavar="SEED",
        help="train on labels permuted with SEED (results in <results>/permuted<SEED>/)",
    )
    ap.add_argument(
        "--radiomics-params",
        default="",
        help="pyradiomics parameter file (default: the profile's); set resampledPixelSpacing here",
    )
    return ap.parse_args(argv)


def repeat_list(spec: str, n_repeats: int) -> list[int]:
    """`--repeats`: '' = [0], 'all' = every repeat of the profile, else indices below it."""
    if not spec.strip():
        return [0]
    if spec.strip() == "all":
        return list(range(n_repeats))
    return options.indices(
        "--repeats", spec, n_repeats, "repeat", "'all' or repeat indices such as 0,1"
    )


def check_balance(cohort, profile: str | int) -> None:
    """Refuse a cohort (validated by `load`) that the profile's folds and validation splits, or
    its references, cannot be made from (`tmiclnet.inputs.preflight`); the first problem is the
    message.

    Args:
        cohort: the cohort folder, or the cohort loaded from it.
        profile: the profile's name (a bare fold count, as older callers passed, checks only
            the classes' counts).
    """
    from tmiclnet.data.checks import label_balance
    from tmiclnet.inputs.preflight import profile_problems

    opened = load(cohort) if isinstance(cohort, (str, Path)) else cohort
    problems: list = []
    if isinstance(profile, int):
        label_balance(opened.labels, profile, problems)
    else:
        problems = profile_problems(opened, get_profile(profile))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        first = problems[0]
        raise UsageError(f"{opened.root / first.file}: {first.field}: {first.reason}{more}")


def check_labels(cohort, results_dir: Path) -> None:
    """Refuse to add to results trained on other patients or labels than the cohort has now.

    Args:
        cohort: the loaded cohort.
        results_dir: its results folder.
    """
    from tmiclnet.evaluate.stale import labels_changed

    why = labels_changed(cohort, results_dir)
    if why:
        raise UsageError(
            f"{why}; train into a new results folder (--results NEW_FOLDER), or delete "
            f"{results_dir / cohort.name}"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    cohort = Path(args.cohort)
    if not cohort.is_dir():
        raise UsageError(f"--cohort {cohort}: no such folder")
    names = options.models(args.model)
    folds = options.folds(args.folds, get_profile(args.profile).folds)
    repeats = repeat_list(args.repeats, get_profile(args.profile).cv_repeats)
    if args.permute_labels is not None and args.permute_labels < 0:
        raise UsageError(f"--permute-labels {args.permute_labels}: the seed must be >= 0")
    device = options.device(args.device)  # every option is checked before the cohort is read
    opened = load(cohort)
    check_balance(opened, args.profile)
    results_dir = results_root_for(opened.root, opened.name, args.results)
    if args.permute_labels is None:
        check_labels(opened, results_dir)
    cohort = opened.root
    run = setup(args.profile, cohort.parent, args.seed, device)
    if args.radiomics_params:
        from tmiclnet.radiomics.extract import params_path

        params = str(params_path(args.radiomics_params).absolute())
        run = run.replace(profile=dataclasses.replace(run.profile, radiomics_params=params))
    world, device = ddp.from_env(run.device)
    run = run.replace(device=device)
    try:
        if repeats == [0] and args.permute_labels is None:
            summary = run_cv(
                cohort,
                names,
                run,
                retrain=args.retrain,
                results_dir=results_dir,
                world=world,
                folds=folds,
            )
        else:
            if folds is not None or world.size > 1:
                raise UsageError("--repeats/--permute-labels: train every fold, without torchrun")
            summary = run_repeats(
                cohort, run, names, repeats, args.retrain, results_dir, args.permute_labels
            )
    finally:
        ddp.shutdown()
    if world.main:
        with pd.option_context("display.width", 160, "display.max_rows", 200):
            print(summary.to_string(index=False))
    return 0
