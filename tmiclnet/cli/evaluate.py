"""`python -m tmiclnet evaluate --cohort DIR --profile P`: references, tables, CSVs; no training."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tmiclnet.cli import options
from tmiclnet.config import get_profile
from tmiclnet.errors import OneLineParser, UsageError
from tmiclnet.evaluate import mayo, report
from tmiclnet.provenance import atomic_write_text


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(
        prog="python -m tmiclnet evaluate", description="Evaluate saved results of one cohort."
    )
    parser.add_argument(
        "--cohort", required=True, help="cohort folder, e.g. data/generated/cpu/pbc"
    )
    parser.add_argument(
        "--profile", default="cpu", choices=options.profile_names(), help="as given to `train`"
    )
    parser.add_argument(
        "--results", default="", help="results folder (default: <cohort>/../results)"
    )
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-references", action="store_true", help="skip logistic regression / Mayo"
    )
    args = parser.parse_args(argv)
    options.positive("--n-boot", args.n_boot)

    from tmiclnet.data.cohort import load

    if not Path(args.cohort).is_dir():
        raise UsageError(f"--cohort {args.cohort}: no such folder")
    cohort = load(Path(args.cohort))
    results_dir = Path(args.results) if args.results else report.results_dir_for(cohort.root)
    if not (results_dir / cohort.name / "folds.csv").exists():
        raise UsageError(
            f"{results_dir / cohort.name}: no saved results to evaluate; train first "
            f"(python -m tmiclnet train --cohort {args.cohort} --model all)"
        )
    if not args.no_references:
        val_fraction = get_profile(args.profile).val_fraction  # the networks' train/val split
        names = report.add_references(cohort, results_dir, args.seed, val_fraction)
        print("references:", ", ".join(names))
    trial = mayo.trial_membership(cohort)
    rep = report.build_report(
        results_dir, cohort.name, cohort.oracle_auc, args.n_boot, args.seed, trial
    )
    out = results_dir / cohort.name / "evaluation"
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        for name in ("comparison", "differences", "ablation", "oracle", "references", "trial"):
            table = getattr(rep, name)
            if table is None:
                continue
            print(f"\n## {name}\n{table}")
            atomic_write_text(out / f"{name}.csv", table.to_csv())
    for note in [*rep.notes, f"Mayo score by trial membership: {rep.trial_note}"]:
        print("note:", note)
    print(f"\ntables written to {out}")
    return 0
