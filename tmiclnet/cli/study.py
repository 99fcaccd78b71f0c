"""`python -m tmiclnet study leakage --cohort DIR --profile P [--permute-labels SEED]`: train the
models under our protocol, the released one and each of its leaks alone, and print the table.
`python -m tmiclnet study fusion --cohort DIR --profile P`: the three fusion regimes on the
synthetic cohort, each regime's oracle gain and measured gain with its corrected interval."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tmiclnet.cli import options
from tmiclnet.errors import OneLineParser, UsageError

STUDIES = ("leakage", "fusion")


def parse(argv: list[str]):
    ap = OneLineParser(prog="python -m tmiclnet study", description=__doc__.split("\n")[0])
    ap.add_argument("study", choices=STUDIES, help="which study to run")
    ap.add_argument("--cohort", required=True, help="cohort folder (e.g. data/generated/cpu/pbc)")
    ap.add_argument("--profile", default="cpu", choices=options.profile_names())
    ap.add_argument(
        "--permute-labels",
        type=int,
        default=None,
        metavar="SEED",
        help="shuffle the labels with this seed (no signal left: any AUC above 0.5 is a leak)",
    )
    ap.add_argument(
        "--models",
        default="tmiclnet_tokens,radiomics_only",
        help="comma-separated catalogue names (default: tmiclnet_tokens,radiomics_only)",
    )
    ap.add_argument("--protocols", default="", help="comma-separated protocol names (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:1 | mps")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--retrain", action="store_true", help="train even when results exist")
    ap.add_argument(
        "--results", default="", help="fusion: results folder (default <cohort>/../results)"
    )
    return ap.parse_args(argv)


def protocols(spec: str) -> tuple:
    """`--protocols`: '' = all, else comma-separated names, `ours` always included first.

    Args:
        spec: the option's value.
    """
    from tmiclnet.study.leakage.protocols import BY_NAME, OURS, PROTOCOLS

    if not spec.strip():
        return PROTOCOLS
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise UsageError(f"--protocols: unknown protocol(s) {unknown}; known: {list(BY_NAME)}")
    return (OURS, *(BY_NAME[n] for n in dict.fromkeys(names) if n != OURS.name))


def leakage(args) -> int:
    """`study leakage`: every protocol on one cohort, the table printed."""
    cohort = Path(args.cohort)
    if not cohort.is_dir():
        raise UsageError(f"--cohort {cohort}: no such folder")
    if args.permute_labels is not None and args.permute_labels < 0:
        raise UsageError(f"--permute-labels {args.permute_labels}: a seed is >= 0")
    names = options.models(args.models)
    chosen = protocols(args.protocols)
    options.positive("--n-boot", args.n_boot)
    device = options.device(args.device)

    from tmiclnet.cli.train import check_balance
    from tmiclnet.config import setup
    from tmiclnet.data.cohort import load
    from tmiclnet.data.places import outside_cohort
    from tmiclnet.study.leakage import tables, training
    from tmiclnet.study.leakage.protocols import labels_tag

    opened = load(cohort)
    check_balance(opened, args.profile)
    cohort = opened.root
    outside_cohort(cohort, cohort.parent / "studies", "the studies folder")
    run = setup(args.profile, cohort.parent, args.seed, device)
    study = training.run_study(cohort, run, names, args.permute_labels, chosen, args.retrain)
    table = tables.leakage_table(study, args.n_boot, args.seed)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n{study.cohort}, labels {labels_tag(args.permute_labels)}:")
        print(tables.format_table(table).to_string())
    return 0


def fusion(args) -> int:
    """`study fusion`: the three regimes of chapter 10 on a synthetic cohort, the table printed."""
    cohort = Path(args.cohort)
    if not cohort.is_dir():
        raise UsageError(f"--cohort {cohort}: no such folder")
    device = options.device(args.device)

    from tmiclnet.config import setup
    from tmiclnet.data.cohort import load
    from tmiclnet.study.fusion import regimes, tables, training

    opened = load(cohort)
    if "model" not in opened.manifest:
        raise UsageError(f"--cohort {cohort}: not a synthetic cohort (cohort.json has no 'model')")
    run = setup(args.profile, opened.root.parent, args.seed, device)
    results_dir = Path(args.results) if args.results else None
    per_fold, ratio = training.run_study(opened.root, run, results_dir=results_dir,
                                         retrain=args.retrain)  # fmt: skip
    oracles = regimes.oracle_table(training.cohort_model(opened), cohort=opened)
    table = tables.summary(per_fold, oracles, ratio)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n{opened.name}, profile {args.profile}: oracle gain and measured fusion gain")
        print(tables.verdict_table(table).to_string())
    return 0


RUNNERS = {"leakage": leakage, "fusion": fusion}  # one entry per study; STUDIES lists the names


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    return RUNNERS[args.study](args)
