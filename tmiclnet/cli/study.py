"""`python -m tmiclnet study leakage --profile P [--cohort DIR] [--labellings N | --permute-labels
SEED]`: train the models under our protocol, the released one and each of its leaks alone (with
`--labellings`, the cheap model on N labellings and --repeats repeats, the control too), and
print the table. `python -m tmiclnet study fusion --cohort DIR --profile P`: the three fusion
regimes on the synthetic cohort, each regime's oracle gain and measured gain with its corrected
interval. `python -m tmiclnet study ct-lr --profile P [--lrs 1e-3,5e-4] [--seed-offsets 0,1]
[--record]`: the CT-only model at each peak learning rate and training seed on the repeated
cross-validation's folds of both cohorts, read on validation patients only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tmiclnet.cli import options
from tmiclnet.errors import OneLineParser, UsageError

STUDIES = ("leakage", "fusion", "ct-lr")


def parse(argv: list[str]):
    ap = OneLineParser(prog="python -m tmiclnet study", description=__doc__.split("\n")[0])
    ap.add_argument("study", choices=STUDIES, help="which study to run")
    ap.add_argument(
        "--cohort", default=None, help="cohort folder (default: data/generated/<profile>/pbc)"
    )
    ap.add_argument("--profile", default="cpu", choices=options.profile_names())
    ap.add_argument(
        "--labellings",
        type=int,
        default=None,
        metavar="N",
        help="N permuted labellings (ours, the control, stop on test) and --repeats repeats of the "
        "real labels (every protocol); prints each protocol's mean inflation over ours with its "
        "interval across them",
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=None,
        metavar="R",
        help="with --labellings: repeats of the real labels (default: the profile's, at least 2)",
    )
    ap.add_argument(
        "--permute-labels",
        type=int,
        default=None,
        metavar="SEED",
        help="one labelling, shuffled with this seed (no signal left: a leak that reads labels "
        "lifts the AUC above 0.5; one that reads none, like the scaler's, cannot)",
    )
    ap.add_argument(
        "--models",
        default=None,
        help="comma-separated catalogue names (default: tmiclnet_tokens,radiomics_only; "
        "with --labellings: radiomics_only, and no model that reads cached CT tokens)",
    )
    ap.add_argument("--protocols", default="", help="comma-separated protocol names (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:1 | mps")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--retrain", action="store_true", help="train even when results exist")
    ap.add_argument(
        "--results", default="", help="fusion: results folder (default <cohort>/../results)"
    )
    ap.add_argument("--lrs", default="1e-3,5e-4", help="ct-lr: comma-separated peak rates")
    ap.add_argument(
        "--seed-offsets", default="0,1", help="ct-lr: comma-separated training seed offsets"
    )
    ap.add_argument(
        "--record", action="store_true", help="ct-lr: write data/measured/ct_lr.csv and .json"
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


def _cohort(args) -> Path:
    """`--cohort`, or the profile's PBC cohort."""
    if args.cohort is not None:
        return Path(args.cohort)
    from tmiclnet.config import default_data_dir

    return default_data_dir(args.profile) / "pbc"


def leakage(args) -> int:
    """`study leakage`: every protocol on one cohort, the table printed."""
    cohort = _cohort(args)
    if not cohort.is_dir():
        raise UsageError(f"--cohort {cohort}: no such folder")
    if args.permute_labels is not None and args.permute_labels < 0:
        raise UsageError(f"--permute-labels {args.permute_labels}: a seed is >= 0")
    if args.labellings is not None:
        if args.permute_labels is not None:
            raise UsageError("--labellings and --permute-labels: give one of them")
        if args.labellings < 2:
            raise UsageError(f"--labellings {args.labellings}: an interval needs at least 2")
        if args.repeats is not None and args.repeats < 2:
            raise UsageError(f"--repeats {args.repeats}: an interval needs at least 2")
    default = "radiomics_only" if args.labellings else "tmiclnet_tokens,radiomics_only"
    names = options.models(args.models or default)
    chosen = protocols(args.protocols)
    options.positive("--n-boot", args.n_boot)
    device = options.device(args.device)

    from tmiclnet.cli.train import check_balance
    from tmiclnet.config import setup
    from tmiclnet.data.cohort import load
    from tmiclnet.data.places import outside_cohort

    opened = load(cohort)
    check_balance(opened, args.profile)
    cohort = opened.root
    outside_cohort(cohort, cohort.parent / "studies", "the studies folder")
    run = setup(args.profile, cohort.parent, args.seed, device)
    if args.labellings is not None:
        return _replicated(cohort, run, names, chosen, args)

    from tmiclnet.study.leakage import tables, training
    from tmiclnet.study.leakage.protocols import labels_tag

    if any(p.fixed_epochs for p in chosen):
        chosen = tuple(p for p in chosen if not p.fixed_epochs)  # runs with --labellings only
    study = training.run_study(cohort, run, names, args.permute_labels, chosen, args.retrain)
    table = tables.leakage_table(study, args.n_boot, args.seed)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n{study.cohort}, labels {labels_tag(args.permute_labels)}:")
        print(tables.format_table(table).to_string())
    return 0


def _replicated(cohort: Path, run, names: list[str], chosen: tuple, args) -> int:
    """`study leakage --labellings N`: the replicated study of each model, its tables printed."""
    from tmiclnet.study.leakage import power, replicates

    for name in names:
        try:
            replicates.check_model(name, run)
        except ValueError as exc:
            raise UsageError(f"--models: {exc}") from None
    for name in names:
        rep = replicates.run_replicates(
            cohort, run, args.labellings, name, protocols=chosen, retrain=args.retrain,
            repeats=args.repeats,
        )  # fmt: skip
        table = power.inflation_table(rep, run.profile.val_fraction)
        with pd.option_context("display.width", 250, "display.max_columns", 20):
            for kind in replicates.KINDS:
                row = table[(table["kind"] == kind) & (table["metric"] == "auc")].iloc[0]
                print(f"\n{rep.cohort}, {name}, {kind} labels ({row['replicates']} "
                      f"{'repeats' if kind == 'real' else 'labellings'}); mean, Δ vs ours "
                      "[95% interval]:")  # fmt: skip
                print(power.format_table(table, kind).to_string())
        m, lo, hi = power.ours_interval(rep, "permuted")
        print(f"\nours on permuted labels, within-fold AUC: {m:.3f} [{lo:.3f}, {hi:.3f}]")
        if {"fixed epochs", "stop on test"} <= {p.name for p in chosen}:
            for kind in replicates.KINDS:
                parts = power.decomposition(rep, kind, run.profile.val_fraction)
                print(f"stop on test, {kind} labels, within-fold AUC: " + "; ".join(
                    f"{k} {r['inflation']:+.3f} [{r['lo']:+.3f}, {r['hi']:+.3f}]"
                    for k, r in parts.iterrows()
                ))  # fmt: skip
        cpu = rep.timing["cpu_s"].sum() if "cpu_s" in rep.timing else float("nan")
        print(f"({rep.trained} of {len(rep.timing)} replicates trained now, the others read; "
              f"all of them took {cpu:.0f} CPU seconds when trained)")  # fmt: skip
    return 0


def fusion(args) -> int:
    """`study fusion`: the three regimes of chapter 10 on a synthetic cohort, the table printed."""
    cohort = Path(args.cohort) if args.cohort else None
    if cohort is None:
        from tmiclnet.config import default_data_dir

        cohort = default_data_dir(args.profile) / "synthetic"
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
        print("\nfold sd of the gain, the smallest gain resolved, the patients the oracle's needs")
        print(tables.power_table(table, len(opened.ids), ratio).to_string())
    return 0


def _numbers(flag: str, spec: str, kind: type) -> list:
    """A comma-separated option as numbers, or a one-line usage error naming it."""
    try:
        values = [kind(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{flag} {spec!r}: comma-separated {kind.__name__}s") from None
    if not values or min(values) < 0:
        raise UsageError(f"{flag} {spec!r}: give at least one, none negative")
    return values


def ct_lr(args) -> int:
    """`study ct-lr`: the CT-only model per peak rate and seed on both cohorts, validation only."""
    from tmiclnet.config import default_data_dir, setup
    from tmiclnet.study import ct_lr as study

    lrs = _numbers("--lrs", args.lrs, float)
    if 0 in lrs:
        raise UsageError(f"--lrs {args.lrs!r}: a learning rate is > 0")
    offsets = _numbers("--seed-offsets", args.seed_offsets, int)
    data_dir = Path(args.cohort).parent if args.cohort else default_data_dir(args.profile)
    cohorts = [Path(args.cohort).name] if args.cohort else ["pbc", "synthetic"]
    for name in cohorts:
        if not (data_dir / name).is_dir():
            raise UsageError(f"{data_dir / name}: no such cohort folder; run `make data` first")
    run = setup(args.profile, data_dir, args.seed, options.device(args.device))
    repeats = list(range(run.profile.cv_repeats))
    rows = []
    for name in cohorts:
        for lr in lrs:
            for offset in offsets:
                study.train_variant(data_dir / name, run, lr, offset, repeats)
                rows.append(study.validation_rows(data_dir, name, lr, offset, repeats))
    table = pd.DataFrame(rows)
    print(f"\nCT-only model, profile {args.profile}, {len(repeats)} repeats, validation patients:")
    print(table.to_string(index=False))
    if args.record:
        import subprocess

        from tmiclnet.book import measured

        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent)  # fmt: skip
        command = (f"python -m tmiclnet study ct-lr --profile {args.profile} --lrs {args.lrs} "
                   f"--seed-offsets {args.seed_offsets} --record")  # fmt: skip
        path = measured.record("ct_lr", table, study.RECORD_WHAT, command,
                               head.stdout.strip() or "unknown")  # fmt: skip
        print(f"wrote {path}")
    return 0


# one entry per study; STUDIES lists the names
RUNNERS = {"leakage": leakage, "fusion": fusion, "ct-lr": ct_lr}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    return RUNNERS[args.study](args)
