"""Radiomic features with pyradiomics: parallel over cases, cached per case, warnings summarised.

The values are pyradiomics' own (`RadiomicsFeatureExtractor(params).execute(image, mask)`, no
post-processing): the package only schedules cases over cores (joblib), caches each result by
content (see `cache`), collects pyradiomics' log records and Python warnings into a summary table
instead of printing them, and turns a failing case into an error that names it.

Policies:

- a case whose mask is empty, too small (`minimumROISize` in the parameter file) or flat in one
  direction fails with :class:`RadiomicsCaseError` naming every failing case, its mask and why;
  the other cases are still computed and cached first;
- all cases must yield the same feature names (pyradiomics skips a LoG sigma too wide for a small
  image, which would silently change the columns): otherwise an error names the odd cases;
- a non-finite value (pyradiomics returns NaN for some features of degenerate regions) is kept as
  NaN, logged once, and listed in `Extraction.nonfinite`; the fold pipeline imputes it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from tmiclnet.config import RADIOMICS_PARAMS_DIR
from tmiclnet.radiomics import cache
from tmiclnet.radiomics.cache import default_cache_dir
from tmiclnet.radiomics.worker import extract_one

if TYPE_CHECKING:  # tmiclnet.config imports torch, which workers and this module do not need
    from tmiclnet.config import Profile

log = logging.getLogger(__name__)


class RadiomicsCaseError(ValueError):
    """One or more cases could not be extracted; the message names each case and the reason."""

    def __init__(self, failures: dict[str, str]):
        self.failures = failures
        lines = [f"  {case}: {reason}" for case, reason in sorted(failures.items())]
        super().__init__(f"radiomics failed for {len(failures)} case(s):\n" + "\n".join(lines))


@dataclass(frozen=True)
class Case:
    id: str
    image: Path
    mask: Path


@dataclass
class Extraction:
    """The feature table and what happened while computing it."""

    features: pd.DataFrame  # index id, one column per pyradiomics feature
    warnings: pd.DataFrame  # source, level, message, count, cases, example
    n_cached: int
    n_computed: int
    seconds: float
    nonfinite: dict[str, list[str]] = field(default_factory=dict)  # case -> feature names
    timings: pd.DataFrame | None = (
        None  # index id: seconds, cpu_seconds (when first computed), cached
    )


def params_path(name: str | Path) -> Path:
    """A parameter file: a name in tmiclnet/radiomics/params/ (e.g. "full.yaml") or a path.

    Args:
        name: a file name in tmiclnet/radiomics/params/ (e.g. ``full.yaml``) or a path.
    """
    path = Path(name)
    if not path.is_absolute() and not path.exists():
        path = RADIOMICS_PARAMS_DIR / path
    if not path.is_file():
        raise FileNotFoundError(
            f"radiomics parameter file {name!r} not found (looked in {RADIOMICS_PARAMS_DIR})"
        )
    return path


def cohort_cases(cohort, ids: Iterable[str] | None = None) -> list[Case]:
    """The cohort's patients as radiomics cases (id, image path, mask path).

    Args:
        cohort: a cohort loaded with `tmiclnet.data.cohort.load`.
        ids: the patient ids to take, in this order; None: all of the cohort's.
    """
    ids = cohort.ids if ids is None else list(ids)
    return [Case(i, Path(cohort.image_path(i)), Path(cohort.mask_path(i))) for i in ids]


def features(
    cohort, profile: Profile, n_jobs: int | None = None, cache_dir: str | Path | None = None
) -> pd.DataFrame:
    """The cohort's feature table (index id, cohort order); see :func:`extract` for the details."""
    result = extract(cohort, profile, n_jobs=n_jobs, cache_dir=cache_dir)
    table = result.features
    table.attrs["radiomics_warnings"] = result.warnings.to_dict("records")
    table.attrs["nonfinite"] = {case: len(cols) for case, cols in result.nonfinite.items()}
    return table


def extract(
    cohort,
    profile: Profile,
    n_jobs: int | None = None,
    cache_dir: str | Path | None = None,
    ids: Iterable[str] | None = None,
    progress: bool = True,
) -> Extraction:
    """Extract the profile's parameter file on every case of `cohort` (or `ids`), resampled to
    the cohort's spacing when its scans differ (`tmiclnet.radiomics.spacing`).

    Args:
        cohort: a cohort loaded with `tmiclnet.data.cohort.load`.
        profile: its ``radiomics_params`` names the parameter file; its ``n_jobs`` is the default
            worker count.
        n_jobs: worker processes; None: ``profile.n_jobs``.
        cache_dir: the feature cache folder; None: the default cache.
        ids: the patient ids to extract; None: all of the cohort's.
        progress: show a progress bar.
    """
    from tmiclnet.radiomics.spacing import params_for

    return extract_cases(
        cohort_cases(cohort, ids),
        params_for(cohort, params_path(profile.radiomics_params)),
        n_jobs=profile.n_jobs if n_jobs is None else n_jobs,
        cache_dir=cache_dir,
        progress=progress,
    )


def extract_cases(
    cases: list[Case],
    params: str | Path,
    n_jobs: int = 1,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Extraction:
    """Read cached cases, compute the others in parallel, then check and assemble the table."""
    start = time.perf_counter()
    params = params_path(params)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    keys = {c.id: cache.case_key(c.image, c.mask, params) for c in _checked(cases)}
    entries = {c.id: cache.read(cache_dir, keys[c.id]) for c in cases}
    todo = [c for c in cases if entries[c.id] is None]
    failures: dict[str, str] = {}
    for case, entry in _run(todo, params, n_jobs, progress):
        if entry["error"]:
            failures[case.id] = f"{case.mask}: {entry['error']}"
        else:
            cache.write(cache_dir, keys[case.id], entry)
            entries[case.id] = entry
    if failures:
        raise RadiomicsCaseError(failures)
    table = _table(cases, entries)
    nonfinite = _nonfinite(table)
    computed = {c.id for c in todo}
    timings = pd.DataFrame(
        [
            dict(
                id=c.id,
                seconds=entries[c.id].get("seconds", np.nan),
                cpu_seconds=entries[c.id].get("cpu_seconds", np.nan),
                cached=c.id not in computed,
            )
            for c in cases
        ],
        columns=["id", "seconds", "cpu_seconds", "cached"],
    ).set_index("id")
    return Extraction(
        table,
        summarise_warnings(entries),
        n_cached=len(cases) - len(todo),
        n_computed=len(todo),
        seconds=time.perf_counter() - start,
        nonfinite=nonfinite,
        timings=timings,
    )


def _checked(cases: list[Case]) -> list[Case]:
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        dup = sorted(i for i, n in Counter(ids).items() if n > 1)
        raise ValueError(f"duplicate case ids: {dup[:10]}")
    for c in cases:
        for kind, path in (("image", c.image), ("mask", c.mask)):
            if not path.is_file():
                raise FileNotFoundError(f"case {c.id}: {kind} {path} does not exist")
    return cases


def _run(
    todo: list[Case], params: Path, n_jobs: int, progress: bool
) -> Iterator[tuple[Case, dict]]:
    if not todo:
        return
    jobs = max(1, min(n_jobs, len(todo)))
    tasks = (delayed(extract_one)(str(c.image), str(c.mask), str(params)) for c in todo)
    results = Parallel(n_jobs=jobs, return_as="generator")(tasks)
    bar = tqdm(results, total=len(todo), desc="radiomics", unit="case", disable=not progress)
    yield from zip(todo, bar)


def _table(cases: list[Case], entries: dict[str, dict]) -> pd.DataFrame:
    rows = {c.id: cache.decode_features(entries[c.id]) for c in cases}
    if not rows:
        return pd.DataFrame(index=pd.Index([], name="id"))
    columns = list(rows[cases[0].id])
    odd = {i: sorted(set(columns) ^ set(r)) for i, r in rows.items() if list(r) != columns}
    if odd:
        detail = "; ".join(
            f"{i}: {len(d)} names differ, e.g. {d[:3]}" for i, d in list(odd.items())[:5]
        )
        raise ValueError(
            f"cases yield different feature names than {cases[0].id} ({len(odd)} case(s)): {detail}"
        )
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns, dtype=np.float64)
    table.index.name = "id"
    return table


def _nonfinite(table: pd.DataFrame) -> dict[str, list[str]]:
    bad = ~np.isfinite(table.to_numpy())
    found = {
        table.index[r]: [table.columns[c] for c in np.flatnonzero(bad[r])]
        for r in np.flatnonzero(bad.any(axis=1))
    }
    if found:
        log.warning(
            "radiomics: %d non-finite value(s) in %d case(s) (e.g. %s); kept as NaN for the "
            "fold pipeline to impute",
            int(bad.sum()),
            len(found),
            next(iter(found)),
        )
    return found


def summarise_warnings(entries: dict[str, dict]) -> pd.DataFrame:
    """One row per distinct message (template), with how often and in how many cases it occurred."""
    counts: Counter = Counter()
    cases: dict[tuple, set] = {}
    example: dict[tuple, str] = {}
    for case_id, entry in entries.items():
        for w in (entry or {}).get("warnings", []):
            key = (w["source"], w["level"], w["template"])
            counts[key] += 1
            cases.setdefault(key, set()).add(case_id)
            example.setdefault(key, w["message"])
    rows = [
        dict(
            source=k[0], level=k[1], message=k[2], count=n, cases=len(cases[k]), example=example[k]
        )
        for k, n in counts.most_common()
    ]
    return pd.DataFrame(rows, columns=["source", "level", "message", "count", "cases", "example"])


def timing_claims(ext: Extraction, n_jobs: int):
    """How long this cohort's extraction took, measured, not estimated: the CPU seconds each
    case cost when it was first computed (stored with the case in the cache) and this run's wall
    time, with a sentence quoting them.

    Used by notebook 02 (radiomics).

    Args:
        ext: the result of `extract`.
        n_jobs: the worker processes the profile uses (`profile.n_jobs`).
    """
    from tmiclnet.claims import Claims

    cpu = ext.timings["cpu_seconds"].dropna() if ext.timings is not None else pd.Series([])
    per_case = f"{cpu.mean():.2f}" if len(cpu) else "n/a"
    total = f"{cpu.sum():.0f}" if len(cpu) else "n/a"
    table = pd.DataFrame(
        {
            "value": [
                str(ext.n_computed),
                str(ext.n_cached),
                f"{ext.seconds:.1f}",
                per_case,
                total,
                str(n_jobs),
            ]
        },
        index=[
            "cases computed now",
            "cases read from the cache",
            "this run, wall seconds",
            "CPU seconds per case, first computed",
            "CPU seconds, all cases",
            "worker processes",
        ],
    )
    words = [
        f"This run computed {ext.n_computed} cases and read {ext.n_cached} from the cache in "
        f"{table.loc['this run, wall seconds', 'value']} s."
    ]
    if len(cpu):
        words.append(
            f"Computed from scratch, a case costs {per_case} CPU seconds on average and the "
            f"whole cohort {total} CPU seconds, shared by {n_jobs} worker processes."
        )
    return Claims(table, words, caption="measured on the machine that built this page")
