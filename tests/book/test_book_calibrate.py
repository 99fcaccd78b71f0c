"""The execution report's machine facts: the CPU model, the timing calibration, and the page
that shows them with each notebook's share of the build's time."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from tests.book.test_book_report import HOST, runs_payload
from tmiclnet.book import calibrate, check
from tmiclnet.book import report as book_report
from tmiclnet.book import runner as book
from tmiclnet.config import project_root

CALIBRATION = {
    "workload": "512 x 512 float32 matrix product x 300, 1 thread, best of 3",
    "size": 512,
    "repeats": 300,
    "tries": 3,
    "seconds": 1.169,
    "tries_s": [1.169, 1.48, 1.482],
    "gflops": 68.9,
    "torch": "2.13.0+cpu",
}
CPU = "AMD EPYC 7R13 Processor"


@pytest.fixture
def threads():
    """torch's thread count set to an unusual value for the test, restored after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


def test_calibration_is_positive_and_finite_and_restores_the_thread_count(threads: int) -> None:
    result = calibrate.calibrate(size=64, repeats=5, tries=2)
    assert torch.get_num_threads() == threads
    assert len(result["tries_s"]) == 2 and result["seconds"] == min(result["tries_s"])
    for value in (result["seconds"], result["gflops"]):
        assert math.isfinite(value) and value > 0
    assert "64 x 64" in result["workload"] and "1 thread" in result["workload"]


def test_calibration_restores_the_thread_count_when_it_fails(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        assert torch.get_num_threads() == 1, "the workload runs on one thread"
        raise RuntimeError("no BLAS")

    monkeypatch.setattr(torch, "mm", broken)
    with pytest.raises(RuntimeError, match="no BLAS"):
        calibrate.calibrate(size=8, repeats=1, tries=1)
    assert torch.get_num_threads() == threads


def test_cpu_model_reads_cpuinfo_and_never_fails(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: {CPU}\n")
    assert book_report.cpu_model(info) == CPU
    assert book_report.cpu_model(tmp_path / "missing")  # a fallback, not an error
    info.write_bytes(b"\xff\xfe garbage without the field")
    assert book_report.cpu_model(info)


def test_runs_record_the_calibration_once_and_the_cpu_model(tmp_path: Path) -> None:
    path = book_report.write_runs(tmp_path, "quick", [], calibration=CALIBRATION)
    runs = json.loads(path.read_text())
    assert runs["calibration"] == CALIBRATION
    assert runs["machine"]["cpu_model"] == book_report.cpu_model()


def new_payload() -> dict:
    runs = runs_payload()
    runs["machine"] = {**runs["machine"], "cpu_model": CPU}
    runs["calibration"] = CALIBRATION
    return runs


def shares(page: str) -> list[float]:
    return [float(s) for s in re.findall(r"\| ([\d.]+) % \| (?:yes|no) \|", page)]


def test_report_page_shows_the_cpu_the_calibration_and_shares_summing_to_100() -> None:
    page = book_report.report_markdown(new_payload())
    assert f"*{CPU}*" in page
    assert "took **1.17 s** on this machine, **68.9 GFLOP/s**" in page
    assert "the tries took 1.17, 1.48, 1.48 s" in page
    assert "runs the calibration k times faster, expect roughly k times shorter pages" in page
    assert shares(page) == [19.6, 80.4]
    assert sum(shares(page)) == pytest.approx(100, abs=0.05 * len(shares(page)))
    assert "together **0.3 min** (15 s) over the 2 notebooks with a record" in page
    assert "| **Total** |  | **0.3 min** | 100.0 % |" in page


def test_shares_sum_to_100_over_many_notebooks() -> None:
    runs = new_payload()
    rec = runs["notebooks"][0]["record"]
    walls = [5.04, 11.84, 8.05, 32.8, 19.5, 42.1, 50.1, 0.4, 21.1, 333.3, 7.0]
    runs["notebooks"] = [
        {"notebook": f"n{i}", "cached": False, "record": {**rec, "wall_s": w}}
        for i, w in enumerate(walls)
    ]
    got = shares(book_report.report_markdown(runs))
    assert len(got) == len(walls)
    assert sum(got) == pytest.approx(100, abs=0.05 * len(walls))  # each rounded to 0.1 %


def test_one_profile_and_one_machine_are_said_once_not_per_row() -> None:
    runs = new_payload()
    rec = runs["notebooks"][0]["record"]
    runs["notebooks"] = [{"notebook": f"n{i}", "cached": False, "record": rec} for i in range(3)]
    page = book_report.report_markdown(runs)
    assert f"Every notebook ran with the {rec['profile']} profile on " in page
    head = next(line for line in page.splitlines() if line.startswith("| Notebook"))
    assert "Profile" not in head and "Machine" not in head
    rows = [line for line in page.splitlines() if line.startswith("| {doc}")]
    assert len(rows) == 3 and all(r.count("|") == head.count("|") for r in rows)


def test_an_old_record_without_cpu_model_or_calibration_still_renders() -> None:
    page = book_report.report_markdown(runs_payload())
    assert "HOST" not in page and "of a CPU whose model was not recorded" in page
    assert "**Timing calibration:** not recorded" in page
    assert "cpu_model" not in HOST


def test_report_table_fits_the_books_column() -> None:
    """The page's table, with the real notebooks' titles where the {doc} links go, a long CPU
    name and a notebook without a record, is no wider than `book check` allows."""
    runs = new_payload()
    runs["machine"]["cpu_model"] = "Intel(R) Xeon(R) Platinum 8488C CPU @ 2.40GHz"
    rec = runs["notebooks"][0]["record"]
    titles = {}
    for nb in book.toc_notebooks(project_root()):
        cells = json.loads(nb.read_text())["cells"]
        first = next(c for c in cells if c["cell_type"] == "markdown")
        titles[nb.stem] = "".join(first["source"]).splitlines()[0].lstrip("# ")
    runs["notebooks"] = [
        {"notebook": stem, "cached": i % 2 == 0, "record": {**rec, "wall_s": 1234.5} if i else None}
        for i, stem in enumerate(titles)
    ]
    page = book_report.report_markdown(runs)
    page = re.sub(r"\{doc\}`\.\./notebooks/([^`]+)`", lambda m: titles[m.group(1)], page)
    table = BeautifulSoup(MarkdownIt().enable("table").render(page), "html.parser").table
    assert len(table.find_all("tr")) == len(titles) + 2  # header and total rows
    assert check.table_width(table) <= check.COLUMN_PX


def test_bench_calibrate_prints_the_reports_figure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from tmiclnet.cli import bench

    monkeypatch.setattr(calibrate, "calibrate", lambda: CALIBRATION)
    assert bench.main(["calibrate"]) == 0
    assert capsys.readouterr().out.startswith("1.17 s (68.9 GFLOP/s): 512 x 512 float32")
    assert bench.main(["calibrate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == CALIBRATION
