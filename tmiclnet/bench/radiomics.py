"""`python -m tmiclnet bench radiomics`: cases per second, sequential vs parallel, a cached re-run.

The same cases are extracted three times, each cold run into its own empty cache: once with one
process, once with `--jobs` processes (worker start-up included: a user pays it too), then again
with the warm cache of the parallel run. `--all` also times the whole cohort, cold. Timings are
wall-clock and depend on what else runs: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from tmiclnet.config import default_data_dir, get_profile
from tmiclnet.radiomics.extract import cohort_cases, extract_cases, params_path


def _timed(cases, params, jobs, cache_dir) -> tuple[float, object]:
    start = time.perf_counter()
    out = extract_cases(cases, params, n_jobs=jobs, cache_dir=cache_dir, progress=False)
    return time.perf_counter() - start, out


def run(
    profile: str, cohort_name: str, n_cases: int, jobs: int, data_dir: str | None, whole: bool
) -> dict:
    from tmiclnet.data.cohort import load

    prof = get_profile(profile)
    cohort = load(Path(data_dir or default_data_dir(profile)) / cohort_name)
    params = params_path(prof.radiomics_params)
    cases = cohort_cases(cohort, cohort.ids[:n_cases])
    report = dict(
        profile=profile,
        params=params.name,
        cohort=str(cohort.root),
        cases=len(cases),
        jobs=jobs,
        cpus=os.cpu_count(),
        load_before=os.getloadavg()[0],
    )
    with tempfile.TemporaryDirectory(prefix="radiomics-bench-") as tmp:
        seq, _ = _timed(cases, params, 1, Path(tmp) / "seq")
        par, out = _timed(cases, params, jobs, Path(tmp) / "par")
        cached, again = _timed(cases, params, jobs, Path(tmp) / "par")
        assert again.n_computed == 0 and again.features.equals(out.features)
        report.update(
            features=out.features.shape[1],
            cpu_s_per_case=out.timings["cpu_seconds"].mean(),
            sequential_s=seq,
            parallel_s=par,
            cached_s=cached,
            sequential_cases_per_s=len(cases) / seq,
            parallel_cases_per_s=len(cases) / par,
            speedup=seq / par,
            cached_fraction=cached / par,
        )
        if whole:
            full, out = _timed(cohort_cases(cohort), params, jobs, Path(tmp) / "all")
            report.update(
                all_cases=len(cohort.ids),
                all_s=full,
                all_cpu_s=float(out.timings["cpu_seconds"].sum()),
            )
    report["load_after"] = os.getloadavg()[0]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tmiclnet bench radiomics", description=__doc__)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument(
        "--cohort", default="pbc", help="a cohort folder (as in train), or a name under --data-dir"
    )
    parser.add_argument("--data-dir", default=None, help="default: data/generated/<profile>")
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--all", action="store_true", help="also time the whole cohort, cold")
    parser.add_argument("--json", default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    folder = Path(args.cohort)
    cohort = str(folder.absolute()) if folder.is_dir() else args.cohort  # / keeps absolute paths
    r = run(args.profile, cohort, args.cases, args.jobs, args.data_dir, args.all)
    print(
        f"radiomics bench: profile {r['profile']} ({r['params']}, {r['features']} features), "
        f"{r['cases']} cases, {r['cpus']} CPUs, "
        f"load {r['load_before']:.1f} -> {r['load_after']:.1f}"
    )
    print(f"  CPU time per case (pyradiomics, one core): {r['cpu_s_per_case']:.2f} s")
    print(
        f"  sequential      {r['sequential_s']:7.1f} s  {r['sequential_cases_per_s']:.2f} cases/s"
    )
    print(
        f"  parallel ({r['jobs']} jobs) {r['parallel_s']:7.1f} s  "
        f"{r['parallel_cases_per_s']:.2f} cases/s"
        f"  speed-up {r['speedup']:.2f}x (target >= 1.7x)"
    )
    print(
        f"  cached re-run   {r['cached_s']:7.2f} s  "
        f"{100 * r['cached_fraction']:.2f} % of the parallel "
        "run (target < 2 %)"
    )
    if "all_s" in r:
        print(
            f"  whole cohort    {r['all_s']:7.1f} s  for {r['all_cases']} cases, cold, "
            f"{r['jobs']} jobs "
            f"({r['all_cpu_s']:.0f} CPU-seconds in pyradiomics)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))
    return 0
