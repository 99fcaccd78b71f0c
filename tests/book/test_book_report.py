"""The runner's records of each execution and the execution report page made from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tmiclnet.book import keys as book_keys
from tmiclnet.book import report as book_report
from tmiclnet.book import runner as book
from tmiclnet.config import PACKAGE_DIR

HOST = {"cores": 8, "usable_cores": 2, "device": "cpu (2 threads)", "platform": "Linux"}


def runs_payload() -> dict:
    rec = {
        "notebook": "01_cohort",
        "profile": "quick",
        "wall_s": 12.34,
        "executed_at": "2026-12-01T09:00:00Z",
        "machine": HOST,
        "key": "k",
    }
    return {
        "profile": "quick",
        "finished_at": "2026-12-01T09:05:00Z",
        "machine": {**HOST, "python": "3.11.2"},
        "notebooks": [
            {"notebook": "00_environment", "cached": False, "record": {**rec, "wall_s": 3.0}},
            {"notebook": "01_cohort", "cached": True, "record": rec},
            {"notebook": "02_radiomics", "cached": True, "record": None},
        ],
    }


def test_report_page_has_one_row_per_notebook_with_its_facts() -> None:
    page = book_report.report_markdown(runs_payload())
    rows = [line for line in page.splitlines() if line.startswith("| {doc}")]
    assert rows == [
        "| {doc}`../notebooks/00_environment` | quick | 3.0 s | 19.6 % | no | 2026-12-01 09:00 "
        "| 2 of 8 cores, cpu (2 threads) |",
        "| {doc}`../notebooks/01_cohort` | quick | 12.3 s | 80.4 % | yes | 2026-12-01 09:00 "
        "| 2 of 8 cores, cpu (2 threads) |",
        "| {doc}`../notebooks/02_radiomics` | not recorded | not recorded | not recorded | yes "
        "| not recorded | not recorded |",
    ]
    assert "executed by this build: 1 of 3; taken from the runner's cache: 2" in page
    assert page.startswith("# Execution report\n")


def test_report_page_needs_the_runners_record(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="runs.json: missing"):
        book_report.write_report_page(tmp_path / "stage", tmp_path / "executed")


def test_a_record_under_another_key_is_not_the_copys(tmp_path: Path) -> None:
    out = tmp_path / "a.ipynb"
    book_report.write_record(out, "key1", "quick", 1.5, HOST, {"profile": "quick"})
    assert book_report.read_record(out, "key1")["wall_s"] == 1.5
    assert book_report.read_record(out, "key2") is None
    assert book_report.read_record(tmp_path / "b.ipynb", "key1") is None


def test_the_books_assembly_modules_do_not_rerun_notebooks() -> None:
    assert book_keys.assembles_the_book(PACKAGE_DIR / "book" / "report.py")
    assert book_keys.assembles_the_book(PACKAGE_DIR / "book" / "runner.py")
    assert not book_keys.assembles_the_book(PACKAGE_DIR / "book" / "findings.py")  # notebook 09
    assert not book_keys.assembles_the_book(PACKAGE_DIR / "models" / "tmiclnet.py")
    assert not book_keys.assembles_the_book(PACKAGE_DIR / "config.py")


@pytest.mark.slow
def test_runs_record_executed_then_cached_and_the_page_is_staged(project: Path) -> None:
    out = project / "out"
    book.run("quick", root=project, out_dir=out)
    first = json.loads((out / "runs.json").read_text())
    assert [(e["notebook"], e["cached"]) for e in first["notebooks"]] == [
        ("a", False),
        ("b", False),
    ]
    rec = first["notebooks"][0]["record"]
    assert rec["profile"] == "quick" and rec["wall_s"] > 0 and rec["machine"]["cores"] >= 1
    assert rec == json.loads((out / "a.run.json").read_text())
    assert rec["machine"]["cpu_model"], "each record names the CPU"
    assert first["calibration"]["seconds"] > 0, "the run times the calibration once, at its start"
    assert "calibration" not in rec["machine"]

    book.run("quick", root=project, out_dir=out)
    second = json.loads((out / "runs.json").read_text())
    assert [e["cached"] for e in second["notebooks"]] == [True, True]
    assert second["notebooks"][0]["record"] == rec, "a cached copy keeps the record that made it"

    staged = book.stage(project, out, project / "stage")
    page = (staged / book_report.REPORT_PAGE).read_text()
    assert "| {doc}`../notebooks/a` | " in page and "| yes |" in page
    assert "Every notebook ran with the quick profile on " in page  # said once, not per row


def test_stage_refuses_a_report_page_in_the_sources(project: Path) -> None:
    (project / book_report.REPORT_PAGE).write_text("# mine\n")
    out = project / "out"
    out.mkdir()
    for name in ("a", "b"):
        (out / f"{name}.ipynb").write_text("{}")
    with pytest.raises(SystemExit, match="the build writes this page"):
        book.stage(project, out, project / "stage")
    assert (project / book_report.REPORT_PAGE).read_text() == "# mine\n"


def _book_modules_named(text: str) -> set[str]:
    """The `tmiclnet.book` modules a source text imports."""
    import re

    named = set(re.findall(r"tmiclnet\.book\.(\w+)", text))
    for names in re.findall(r"from tmiclnet\.book import ([\w, ]+)", text):
        named |= {n.strip() for n in names.split(",")}
    return named


def test_no_notebook_imports_a_runner_side_module() -> None:
    """The runner-side list keeps a runner edit from re-running every notebook: it must not hold
    a module a notebook reads, directly or through the book modules it imports."""
    read = set()
    for nb in (PACKAGE_DIR.parent / "notebooks").glob("*.ipynb"):
        read |= _book_modules_named(nb.read_text())
    assert read, "no notebook reads tmiclnet.book: the scan is broken"
    for name in list(read):
        read |= _book_modules_named((PACKAGE_DIR / "book" / f"{name}.py").read_text())
    assert not {f"{n}.py" for n in read} & set(book_keys.RUNNER_SIDE)
