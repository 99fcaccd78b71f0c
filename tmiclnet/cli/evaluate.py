"""`python -m tmiclnet evaluate --cohort DIR --profile P`: references, tables, CSVs; no training.

Only results made from the cohort as it is now are compared: saved folds trained on other labels
refuse the evaluation, and networks trained on other inputs are set apart by name, with what
changed and the command that retrains them (`tmiclnet.evaluate.stale`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tmiclnet.cli import options
from tmiclnet.config import get_profile
from tmiclnet.errors import OneLineParser, UsageError
from tmiclnet.evaluate import mayo, report, stale
from tmiclnet.provenance import atomic_write_text


def parse(argv: list[str]):
    """The command's options, the count checked (`--n-boot` at least 1).

    Args:
        argv: the arguments after `evaluate`.
    """
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
    parser.add_argument(
        "--survival",
        action="store_true",
        help="also the survival view (PBC): Harrell's and Uno's C, td-AUC, per-patient risk files",
    )
    args = parser.parse_args(argv)
    options.positive("--n-boot", args.n_boot)
    return args


def networks_set_apart(cohort, results_dir: Path, profile: str) -> dict[str, str]:
    """{network: why it is left out} for the saved networks made from another version of the
    cohort; refuses (UsageError) when that leaves no network, or the labels changed.

    Args:
        cohort: the loaded cohort.
        results_dir: the results folder.
        profile: the profile named on the command line (for the retrain command, when the
            folds do not record theirs).
    """
    why = stale.labels_changed(cohort, results_dir)
    if why:
        raise UsageError(
            f"{why}; retrain into a new results folder (python -m tmiclnet train --cohort "
            f"{cohort.root} --profile {profile} --model all --results NEW_FOLDER), or delete "
            f"{results_dir / cohort.name}"
        )
    networks = [
        m for m in report.usable_models(results_dir, cohort.name)[0]
        if m not in report.REFERENCE_MODELS
    ]  # fmt: skip
    found = stale.check(cohort, results_dir, networks)
    if found.unchecked:
        print(
            f"note: {', '.join(found.unchecked)}: trained before inputs were recorded, not "
            "checked against the cohort (train again to record them; nothing is retrained)"
        )
    apart = found.set_apart
    if not apart:
        return {}
    trained_with = found.profile or profile  # retrain as they were trained
    command = stale.retrain_command(cohort.root, trained_with, sorted(apart), results_dir)
    if len(apart) == len(networks):
        by_reason: dict[str, list[str]] = {}
        for model, why in sorted(apart.items()):
            by_reason.setdefault(why, []).append(model)
        what = "; ".join(f"{', '.join(ms)}: {why}" for why, ms in by_reason.items())
        raise UsageError(
            f"{results_dir / cohort.name}: no saved network fits the cohort as it is now "
            f"({what}); retrain: {command}"
        )
    return {m: f"{why}; retrain: {command}" for m, why in apart.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    from tmiclnet.data.cohort import load

    if not Path(args.cohort).is_dir():
        raise UsageError(f"--cohort {args.cohort}: no such folder")
    cohort = load(Path(args.cohort))
    if args.survival and (cohort.manifest.get("parameters") or {}).get("cohort") != "pbc":
        raise UsageError(
            f"--survival: {cohort.root} has no follow-up times; only the PBC cohort has them"
        )
    results_dir = report.results_dir_for(cohort.root, cohort.name)
    if args.results:
        from tmiclnet.data.places import results_root_for

        results_dir = results_root_for(cohort.root, cohort.name, args.results)
    if not (results_dir / cohort.name / "folds.csv").exists():
        raise UsageError(
            f"{results_dir / cohort.name}: no saved results to evaluate; train first "
            f"(python -m tmiclnet train --cohort {cohort.root} --model all)"
        )
    set_apart = networks_set_apart(cohort, results_dir, args.profile)
    if not args.no_references:
        val_fraction = get_profile(args.profile).val_fraction  # the networks' train/val split
        names = report.add_references(cohort, results_dir, args.seed, val_fraction)
        print("references:", ", ".join(names))
    trial = mayo.trial_membership(cohort)
    rep = report.build_report(
        results_dir, cohort.name, cohort.oracle_auc, args.n_boot, args.seed, trial, set_apart
    )
    write_tables(rep, results_dir / cohort.name / "evaluation")
    if args.survival:
        survival_main(cohort, results_dir, args)
    return 0


def survival_main(cohort, results_dir: Path, args) -> None:
    """The survival view of a PBC cohort: per model Harrell's C, Uno's C and the integrated
    td-AUC with their corrected intervals, printed and written; the risk files written.

    Args:
        cohort: the loaded PBC cohort (`main` refuses the others: only it has follow-up times).
        results_dir: the results folder.
        args: the parsed options (profile, seed).
    """
    from tmiclnet.config import setup
    from tmiclnet.data.censored import censored_dir
    from tmiclnet.evaluate import survival
    from tmiclnet.evaluate.survival_risks import survival_view
    from tmiclnet.train.risks import risks_path

    data_dir = cohort.root.parent
    if not (censored_dir(data_dir) / "cohort.json").exists():
        raise UsageError(
            f"--survival: {censored_dir(data_dir)}: missing; build it with python -m tmiclnet "
            f"data build --profile {args.profile} --cohort pbc --data-dir {data_dir}"
        )
    run = setup(args.profile, data_dir, args.seed, "auto")
    view = survival_view(data_dir, cohort.name, run, results_dir=results_dir)
    table = survival.display_table(view.summary)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\n## survival (95 % corrected resampled-t intervals over {table['folds'].max()} "
              f"folds, repeats {view.repeats})\n{table}")  # fmt: skip
    out = results_dir / cohort.name / "evaluation"
    atomic_write_text(out / "survival.csv", view.summary.summary.to_csv())
    atomic_write_text(out / "survival_folds.csv", view.summary.folds.to_csv(index=False))
    mayo_c = survival.mayo_trial_c(args.n_boot, args.seed)
    print(
        f"Mayo score, {mayo_c['patients']} trial patients: Harrell's C {mayo_c['harrell']:.3f} "
        f"[{mayo_c['low']:.3f}, {mayo_c['high']:.3f}] (bootstrap); "
        f"torchsurv's C: {mayo_c['torchsurv']:.3f}"
    )
    for note in view.notes:
        print("note:", note)
    first = risks_path(results_dir, cohort.name, next(iter(view.risks)))
    print(f"risk files: {first.parent.parent}/<model>/risks.csv ({len(view.risks)} models)")


# what a one-split table holds fixed, where a reader could take it for more
HEADINGS = {
    "differences": " (one split: these fitted models only, bootstrap over test patients)",
    "ablation": " (one split: these fitted models only; over repeats: notebook 09)",
}


def write_tables(rep: report.Report, out: Path) -> None:
    """Print the report's tables and notes, and write each table as CSV under `out`.

    Args:
        rep: the report (`tmiclnet.evaluate.report.build_report`).
        out: the folder the CSVs go to (`<results>/<cohort>/evaluation`).
    """
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        for name in ("comparison", "differences", "ablation", "oracle", "references", "trial"):
            table = getattr(rep, name)
            if table is None:
                continue
            title = name + HEADINGS.get(name, "")
            print(f"\n## {title}\n{table}")
            atomic_write_text(out / f"{name}.csv", table.to_csv())
    for note in [*rep.notes, f"Mayo score by trial membership: {rep.trial_note}"]:
        print("note:", note)
    print(f"\ntables written to {out}")
