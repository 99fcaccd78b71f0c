"""The runner's records, and the execution report page made from them.

Each executed notebook gets `<stem>.run.json` beside its executed copy (profile, wall time, when,
on which machine, under which cache key). Each `book run` writes `runs.json`: the notebooks it
handled, each marked executed or taken from the cache, with the record of the run that made the
copy, and a timing calibration of the machine made at the start of the run
(`tmiclnet.book.calibrate`). `book build` turns that file into `book/execution_report.md` inside
the staged copy of the book, so the page describes exactly the build it is part of.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

from tmiclnet.provenance import atomic_write_text

RUNS_FILE = "runs.json"
REPORT_PAGE = "book/execution_report.md"


CPUINFO = Path("/proc/cpuinfo")


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name (`AMD EPYC 7R13 Processor`), or the best guess there is; never raises.

    Linux names it in /proc/cpuinfo, macOS through sysctl; elsewhere `platform.processor()`, then
    the architecture, then "unknown". A report that cannot say is better than a run that fails.

    Args:
        cpuinfo: the file to read the Linux way (a test's stand-in).
    """
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        try:
            done = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def machine(device: str = "auto") -> dict:
    """The machine a notebook ran on: CPU model, cores (all and usable), the device `device`
    resolves to.

    Args:
        device: the notebooks' `device` parameter; resolved here as the kernel resolves it.
    """
    from tmiclnet.device import describe, pick_device

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_model": cpu_model(),
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


def write_runs(
    out_dir: Path, profile: str, entries: list[dict], calibration: dict | None = None
) -> Path:
    """Write the record of one `book run`: its notebooks in order, executed or cached.

    Args:
        out_dir: the executed folder of the profile.
        profile: the profile of the run.
        entries: one dict per notebook: `notebook`, `cached` and `record` (or None).
        calibration: `tmiclnet.book.calibrate.calibrate()` as timed at the start of the run
            (once per run: every notebook of it ran on the same machine), or None.
    """
    payload = {
        "profile": profile,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "calibration": calibration,
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


def _cpu(m: dict) -> str:
    """Where the build's machine is named in prose: the CPU model is too long for a table cell."""
    model = m.get("cpu_model")
    return f"of the CPU *{model}*" if model else "of a CPU whose model was not recorded"


def _calibration(cal: dict | None) -> str:
    """The paragraph that tells a reader how fast this machine is, and how to compare theirs."""
    if not cal:
        return (
            "**Timing calibration:** not recorded (the runner that wrote this record did not "
            "time the fixed workload), so these times cannot be scaled to another machine."
        )
    tries = ", ".join(f"{t:.2f}" for t in cal["tries_s"])
    return (
        f"**Timing calibration:** at the start of the run, a fixed workload "
        f"({cal['workload']}) took **{cal['seconds']:.2f} s** on this machine, "
        f"**{cal['gflops']:.1f} GFLOP/s** (torch {cal['torch']}; the tries took {tries} s). "
        "On a machine that runs the calibration k times faster, expect roughly k times shorter "
        "pages for CPU-bound work; not exact: threads, memory and load matter. Time it on yours "
        "with `python -m tmiclnet bench calibrate`."
    )


def _share(wall: float, total: float) -> str:
    return f"{100 * wall / total:.1f} %" if total > 0 else "0.0 %"


def _row(cells: list[str], alike: bool) -> str:
    """One table line from its cells in the table's full order (Notebook, Profile, Wall time,
    Share, From cache, Executed at, Machine): without Profile and Machine when every notebook
    shares them (`alike`: said once above the table), so the table reads at the book's width."""
    if alike:
        cells = [cells[0], *cells[2:-1]]
    return "| " + " | ".join(cells) + " |"


def report_markdown(runs: dict) -> str:
    """The execution report page (MyST) for the `runs.json` payload `runs`.

    Records written before the CPU model and the calibration were recorded still render: the
    page says "not recorded" where a field is missing.

    Args:
        runs: what `write_runs` wrote for the build the page belongs to.
    """
    recs = [entry["record"] for entry in runs["notebooks"]]
    total = sum(rec["wall_s"] for rec in recs if rec)
    n_recorded = sum(rec is not None for rec in recs)
    # one profile and one machine for every notebook: said once above the table, not per row
    alike = n_recorded == len(recs) and len({(r["profile"], _host(r)) for r in recs}) == 1
    rows = []
    for entry, rec in zip(runs["notebooks"], recs, strict=True):
        wall = "not recorded" if rec is None else f"{rec['wall_s']:.1f} s"
        share = "not recorded" if rec is None else _share(rec["wall_s"], total)
        cached = "yes" if entry["cached"] else "no"
        doc = f"{{doc}}`../notebooks/{entry['notebook']}`"
        cells = [doc, _cell(rec, "profile"), wall, share, cached, _when(rec), _host(rec)]
        rows.append(_row(cells, alike))
    m = runs["machine"]
    n_cached = sum(e["cached"] for e in runs["notebooks"])
    over = "" if n_recorded == len(rows) else f" over the {n_recorded} notebooks with a record"
    cached_note = (
        " The calibration is this build's: it describes a cached notebook's time only if the "
        "build that made the copy ran on this machine."
        if n_cached
        else ""
    )
    return "\n".join(
        [
            "# Execution report",
            "",
            f"This copy of the book was built with the **{runs['profile']}** profile; the runner "
            f"finished at {runs['finished_at']} on {m['usable_cores']} of {m['cores']} cores "
            f"{_cpu(m)} ({m['device']}, {m['platform']}, Python {m['python']}).",
            "",
            _calibration(runs.get("calibration")),
            "",
            f"Notebooks executed by this build: {len(rows) - n_cached} of {len(rows)}; taken from "
            f"the runner's cache: {n_cached} (their source, parameters, package and data were "
            f"unchanged since the run recorded here).{cached_note} The wall time is that of the "
            f"papermill run that made the copy shown; together **{total / 60:.1f} min** "
            f"({total:.0f} s){over}. A notebook's share is its part of that total."
            + (
                f" Every notebook ran with the {recs[0]['profile']} profile on {_host(recs[0])}."
                if alike
                else ""
            ),
            "",
            _row(
                [
                    "Notebook",
                    "Profile",
                    "Wall time",
                    "Share",
                    "From cache",
                    "Executed at (UTC)",
                    "Machine",
                ],
                alike,
            ),
            _row(["---"] * 7, alike),
            *rows,
            _row(
                ["**Total**", "", f"**{total / 60:.1f} min**", _share(total, total), "", "", ""],
                alike,
            ),
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
