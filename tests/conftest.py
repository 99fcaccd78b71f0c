"""Shared fixtures (one thread for tiny models, the tiny cohorts built once a session) and the
`needs_build` marker: tests that read what `make test` builds before it runs pytest.

`@pytest.mark.needs_build(path, ...)` names the built files a test reads. When one is missing the
test is skipped, and the skip is listed with its reason at the end of every run, so a run without
`make data` / a built book says what it did not check. `make test` builds the quick data and book
first and sets TMICLNET_REQUIRE_BUILD=1: there a missing path is an error, not a skip, so a build
that stopped writing what the tests read cannot pass unnoticed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.data.profiles import TINY
from tmiclnet.data import cohort as cohorts
from tmiclnet.provenance import sha256_file

REQUIRE_BUILD = "TMICLNET_REQUIRE_BUILD"
MARKER = "needs_build"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip, or under TMICLNET_REQUIRE_BUILD=1 fail, a needs_build test whose inputs are missing."""
    for mark in item.iter_markers(MARKER):
        if not mark.args:
            pytest.fail(f"@pytest.mark.{MARKER}() names no path to check", pytrace=False)
        missing = [str(path) for path in mark.args if not Path(path).exists()]
        if not missing:
            continue
        what = ", ".join(missing)
        if os.environ.get(REQUIRE_BUILD) == "1":
            pytest.fail(
                f"{MARKER}: {what} missing, though {REQUIRE_BUILD}=1 says the quick data and "
                "book were built before pytest (make test): the build did not write what this "
                "test reads",
                pytrace=False,
            )
        pytest.skip(f"{MARKER}: no {what} (make test builds the quick data and book first)")


def pytest_terminal_summary(terminalreporter) -> None:
    """List the skips for missing built inputs with their reasons, whether or not -rs was given
    (other skips, such as no Chromium for the browser tests, stay where -rs shows them)."""
    lines = []
    for report in terminalreporter.stats.get("skipped", []):
        if isinstance(report.longrepr, tuple):
            reason = report.longrepr[2].removeprefix("Skipped: ")
            if reason.startswith(f"{MARKER}: "):
                lines.append(f"{report.nodeid}: {reason}")
    if lines:
        terminalreporter.section(f"{len(lines)} test(s) skipped: built inputs missing", sep="-")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def one_thread():
    """Tiny models run faster on one thread (and do not fight other processes for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, but the validation stamp `cohorts.load` writes."""
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != cohorts.STAMP
    }


@pytest.fixture(scope="session")
def tiny_cohorts(tmp_path_factory) -> dict[str, Path]:
    """{name: folder} of both bundled cohorts built once at the TINY profile, for the tests that
    only read a built cohort: one build each for the session, not one per module or test.

    Read-only: a test that changes a cohort copies it or builds its own. The teardown holds them to
    that: every file of each cohort folder must come out byte-identical and none may be added, or
    the session ends in an error that names the files (what commands write beside a cohort, such as
    its validation record under the data folder's results/, is not the cohort's).
    """
    data_dir = tmp_path_factory.mktemp("tiny_cohorts")
    built = {
        name: cohorts.build(name, TINY, data_dir, n_jobs=1, verbose=False)
        for name in cohorts.COHORTS
    }
    before = {name: _snapshot(folder) for name, folder in built.items()}
    yield built
    after = {name: _snapshot(folder) for name, folder in built.items()}
    changed = sorted(
        f"{name}/{k}"
        for name in built
        for k in before[name].keys() | after[name].keys()
        if before[name].get(k) != after[name].get(k)
    )
    assert not changed, f"a test changed the shared tiny cohorts (copy them first): {changed}"
