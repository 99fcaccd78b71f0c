"""`python -m tmiclnet data {build,validate,init}`: build the cohorts, check a cohort folder, or
draft the schema of a user's clinical table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from tmiclnet.cli import options
from tmiclnet.config import default_data_dir, get_profile
from tmiclnet.data import pbc
from tmiclnet.data.censored import build_censored
from tmiclnet.data.cohort import COHORTS, build
from tmiclnet.data.synthetic import MODALITIES, SyntheticModel
from tmiclnet.data.template import fetch_template
from tmiclnet.data.validate import validate
from tmiclnet.errors import OneLineParser, UsageError
from tmiclnet.provenance import verify

PBC_SHA256 = pbc.PBC_SHA256


def _strengths(items: list[str] | None) -> dict | None:
    """`ct=1.5 text=0` -> the synthetic model's strengths (unnamed ones keep their default)."""
    if not items:
        return None
    strengths = dict(SyntheticModel().strengths)
    for item in items:
        name, _, value = item.partition("=")
        if name not in MODALITIES or not value:
            raise UsageError(
                f"--strength {item!r}: expected MODALITY=VALUE with MODALITY in {MODALITIES}"
            )
        try:
            strengths[name] = float(value)
        except ValueError:
            raise UsageError(f"--strength {item!r}: {value!r} is not a number") from None
    return strengths


def _build(args) -> int:
    profile = get_profile(args.profile)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir(profile.name)
    print(f"PBC table   {verify(pbc.csv_path(), PBC_SHA256)}  sha256 ok")
    print(f"CT template {fetch_template()}  sha256 ok")
    for name in args.cohort or COHORTS:
        start = time.perf_counter()
        root = build(
            name,
            profile,
            data_dir,
            seed=args.seed,
            horizon_days=args.horizon,
            strengths=_strengths(args.strength),
            n_jobs=args.n_jobs,
            force=args.force,
        )
        manifest = json.loads((root / "cohort.json").read_text())
        extra = f", oracle AUC {manifest['oracle_auc']:.3f}" if "oracle_auc" in manifest else ""
        print(f"{name}: {root}  {manifest['counts']}{extra}  ({time.perf_counter() - start:.1f} s)")
        if name == "pbc":  # the patients its binary label drops, for the survival view
            start = time.perf_counter()
            root = build_censored(
                profile, data_dir, args.seed, args.horizon, args.n_jobs, args.force
            )
            print(f"{root.name}: {root}  ({time.perf_counter() - start:.1f} s)")
    return 0


def _folder(args) -> str:
    """The cohort folder, given as `--cohort DIR` (as in train and evaluate) or positionally."""
    given = [f for f in (args.folder, args.cohort) if f]
    if len(given) != 1 or (args.folder and args.cohort and args.folder != args.cohort):
        raise UsageError("validate: name one cohort folder, as --cohort DIR")
    return given[0]


def _validate(args) -> int:
    from tmiclnet.data.facts import describe, grid_facts
    from tmiclnet.data.manifest import write_manifest

    folder = _folder(args)
    profile = get_profile(args.profile) if args.profile else None
    problems = validate(folder, folds=profile.folds if profile else None)
    if not problems and profile:
        from tmiclnet.data.cohort import read
        from tmiclnet.inputs.preflight import profile_problems

        problems = profile_problems(read(folder), profile)
    for p in problems:
        print(p)
    if Path(folder).is_dir() and (Path(folder) / "images").is_dir():
        ids = [p.name[: -len(".nii.gz")] for p in (Path(folder) / "images").glob("*.nii.gz")]
        for line in describe(grid_facts(Path(folder), ids)):
            print(f"fact: {line}")
    if not profile:
        print("note: folds not checked: pass --profile, the one you will train with")
    print(f"{folder}: {'valid' if not problems else f'{len(problems)} problem(s)'}")
    if args.write_manifest and not problems:
        print(f"wrote {write_manifest(Path(folder))}")
    return 1 if problems else 0


def _labels_beside(csv: Path) -> tuple[pd.Series | None, str]:
    """(the 0/1 labels of labels.csv beside the table, or None; the label's column name)."""
    from tmiclnet.data.reading import label_values, read_table

    path = csv.parent / "labels.csv"
    table = read_table(path, []) if path.exists() else None
    if table is None:
        return None, "label"
    others = list(table.columns)
    column = "label" if "label" in others or len(others) != 1 else others[0]
    if column not in others:
        return None, column
    values = label_values(table, column)
    return values[values.isin([0, 1])].astype(int), column


def _init(args) -> int:
    """Draft schema.yaml beside the clinical table, never over an existing one; columns that
    would give the outcome away are left out of the predictors, each with its reason."""
    from tmiclnet.data import schema
    from tmiclnet.data.reading import read_table

    csv = Path(args.csv)
    target = csv.parent / schema.SCHEMA
    if target.exists():
        raise UsageError(f"{target}: exists; not overwritten (edit it, or delete it to redraft)")
    problems: list = []
    table = read_table(csv, problems)
    if problems:
        raise UsageError(
            f"{csv.parent / problems[0].file}: {problems[0].field}: {problems[0].reason}"
        )
    labels, column = _labels_beside(csv)
    drafted = schema.draft(table, labels, column)
    left_out = "".join(f"#   {c}: {why}\n" for c, why in drafted.left_out.items())
    header = (
        f"# Drafted by `python -m tmiclnet data init {csv.name}` from {len(table)} rows.\n"
        "# Check every unit and range (observed values are not plausible limits), the Mayo\n"
        "# mapping (null: no Mayo score) and the label's meaning, then run data validate.\n"
        + (f"# Left out of references.logreg:\n{left_out}" if left_out else "")
    )
    path = schema.write(csv.parent, drafted, header)
    numeric = len(drafted.numeric())
    print(
        f"wrote {path}: {len(drafted.columns)} columns ({numeric} numeric), "
        f"Mayo score {'mapped' if drafted.mayo else 'not available'}"
    )
    for col, why in drafted.left_out.items():
        print(f"left out of the predictors: {col}: {why}")
    if labels is None:
        print("note: no labels.csv beside it: the columns were not checked against the label")
    return 0


def _foreign(args) -> int:
    """Re-export a built cohort as the own-data page's "foreign" example."""
    from tmiclnet.data import foreign
    from tmiclnet.data.cohort import load

    out = foreign.export(load(args.cohort), args.out)
    print(
        f"wrote {out}: {len(list((out / 'images').glob('*.nii.gz')))} patients, LPS, mixed spacing"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m tmiclnet data")
    sub = parser.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="build the PBC and synthetic cohorts (resumes, reuses)")
    b.add_argument("--profile", default="cpu", choices=options.profile_names())
    b.add_argument("--cohort", action="append", choices=COHORTS, help="default: both")
    b.add_argument("--data-dir", default="", help="default: data/generated/<profile>")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--horizon", type=int, default=pbc.HORIZON_DAYS, help="label horizon, days")
    b.add_argument(
        "--strength",
        nargs="*",
        metavar="MOD=VALUE",
        help="synthetic cohort's signal strengths, e.g. ct=1.5 text=0 "
        "(default ct=1 radiomics=1 text=1.5)",
    )
    b.add_argument("--n-jobs", type=int, default=None)
    b.add_argument("--force", action="store_true", help="rebuild even if up to date")
    v = sub.add_parser("validate", help="check a cohort folder; list every problem")
    v.add_argument("folder", nargs="?", help="the cohort folder (or --cohort DIR)")
    v.add_argument("--cohort", default="", help="the cohort folder")
    v.add_argument(
        "--profile",
        default="",
        choices=["", *options.profile_names()],
        help="the profile you will train with: each class needs at least its folds' count",
    )
    v.add_argument(
        "--write-manifest",
        action="store_true",
        help="when valid and it has none, write cohort.json (every file's sha256)",
    )
    i = sub.add_parser("init", help="draft schema.yaml from a clinical table (beside it)")
    i.add_argument("csv", help="the cohort's clinical.csv")
    f = sub.add_parser("foreign", help="re-export a built cohort as another hospital would")
    f.add_argument(
        "--cohort", required=True, help="a built cohort, e.g. data/generated/quick/synthetic"
    )
    f.add_argument("--out", required=True, help="a new folder, e.g. data/own/foreign")
    args = parser.parse_args(argv)
    if args.action == "build" and args.n_jobs is not None:
        options.positive("--n-jobs", args.n_jobs)
    actions = {"build": _build, "validate": _validate, "init": _init, "foreign": _foreign}
    return actions[args.action](args)
