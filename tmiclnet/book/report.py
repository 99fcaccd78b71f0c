"""The runner's records, and the execution report page made from them.

Each executed notebook gets `<stem>.run.json` beside its executed copy (profile, wall time, when,
on which machine, under which cache key). Each `book run` writes `runs.json`: the notebooks it
handled, each marked executed or taken from the cache, with the record of the run that made the
copy. `book build` turns that file into `book/execution_report.md` inside the staged copy of the
book, so the page describes exactly the build it is part of.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from tmiclnet.provenance import atomic_write_text

RUNS_FILE = "runs.json"
REPORT_PAGE = "book/execution_report.md"


def machine(device: str = "auto") -> dict:
    """The machine a notebook ran on: cores (all and usable), the device `device` resolves to.

    Args:
        device: the notebooks' `device` parameter; resolved here as the kernel resolves it.
    """
    from tmiclnet.device import describe, pick_device

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "device": describe(pick_device(device)),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
    }


def record_path(out_path: Path) -> Path:
    """Where the run record of the executed copy `out_path` lives."""
    return out_path.with_suffix(".run.json")


def write_record(
    out_path: Path, key: str, profile: str, wall_s: float, host: dict, parameters: dict
) -> dict:
    """Record one successful execution beside its copy (atomically) and return the record.

    Args:
        out_path: the executed notebook.
        key: the cache key the copy was made under (a record with another key is stale).
        profile: the profile it ran with.
        wall_s: wall-clock seconds of the papermill run.
        host: `machine()` of the machine that ran it.
        parameters: the parameters papermill injected.
    """
    rec = {
        "notebook": out_path.stem,
        "profile": profile,
        "wall_s": round(wall_s, 2),
        "executed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": host,
        "parameters": parameters,
        "key": key,
    }
    atomic_write_text(record_path(out_path), json.dumps(rec, indent=1) + "\n")
    return rec


def read_record(out_path: Path, key: str) -> dict | None:
    """The record of the copy `out_path` if it was made under `key`, else None (not recorded).

    Args:
        out_path: the executed notebook.
        key: the cache key the runner expects for it now.
    """
    path = record_path(out_path)
    if not path.exists():
        return None
    rec = json.loads(path.read_text())
    return rec if rec.get("key") == key else None


def write_runs(out_dir: Path, profile: str, entries: list[dict]) -> Path:
    """Write the record of one `book run`: its notebooks in order, executed or cached.

    Args:
        out_dir: the executed folder of the profile.
        profile: the profile of the run.
        entries: one dict per notebook: `notebook`, `cached` and `record` (or None).
    """
    payload = {
        "profile": profile,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "notebooks": entries,
    }
    path = out_dir / RUNS_FILE
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n")
    return path


def _cell(rec: dict | None, field: str) -> str:
    return "not recorded" if rec is None else str(rec[field])


def _when(rec: dict | None) -> str:
    """`2026-12-01T09:09:37Z` as `2026-12-01 09:09` (UTC), short enough for a table cell."""
    return "not recorded" if rec is None else rec["executed_at"][:16].replace("T", " ")


def _host(rec: dict | None) -> str:
    if rec is None:
        return "not recorded"
    m = rec["machine"]
    return f"{m['usable_cores']} of {m['cores']} cores, {m['device']}"


def report_markdown(runs: dict) -> str:
    """The execution report page (MyST) for the `runs.json` payload `runs`.

    Args:
        runs: what `write_runs` wrote for the build the page belongs to.
    """
    rows = []
    total = 0.0
    for entry in runs["notebooks"]:
        rec = entry["record"]
        total += rec["wall_s"] if rec else 0.0
        wall = "not recorded" if rec is None else f"{rec['wall_s']:.1f} s"
        rows.append(
            f"| {{doc}}`../notebooks/{entry['notebook']}` | {_cell(rec, 'profile')} | {wall} "
            f"| {'yes' if entry['cached'] else 'no'} | {_when(rec)} | {_host(rec)} |"
        )
    m = runs["machine"]
    n_cached = sum(e["cached"] for e in runs["notebooks"])
    return "\n".join(
        [
            "# Execution report",
            "",
            f"This copy of the book was built with the **{runs['profile']}** profile; the runner "
            f"finished at {runs['finished_at']} on {m['usable_cores']} of {m['cores']} cores "
            f"({m['device']}, {m['platform']}, Python {m['python']}).",
            "",
            f"Notebooks executed by this build: {len(rows) - n_cached} of {len(rows)}; taken from "
            f"the runner's cache: {n_cached} (their source, parameters, package and data were "
            "unchanged since the run recorded here). The wall time is that of the papermill run "
            f"that made the copy shown; together {total:.0f} s.",
            "",
            "| Notebook | Profile | Wall time | From cache | Executed at (UTC) | Machine |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            "The records are `_build/executed/<profile>/runs.json` and one `<notebook>.run.json` "
            "beside each executed copy, written by `python -m tmiclnet book run`.",
            "",
        ]
    )


def write_report_page(stage_dir: Path, executed: Path) -> Path:
    """Write the report page into the staged book from the executed folder's `runs.json`.

    Args:
        stage_dir: the staged copy of the book sources.
        executed: the executed folder whose `runs.json` describes this build.
    """
    runs_path = executed / RUNS_FILE
    if not runs_path.exists():
        raise SystemExit(f"{runs_path}: missing; run `python -m tmiclnet book run` first")
    page = stage_dir / REPORT_PAGE
    atomic_write_text(page, report_markdown(json.loads(runs_path.read_text())))
    return page
