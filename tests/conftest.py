"""Shared fixtures: one thread for tiny models, and the tiny cohorts built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.data.profiles import TINY
from tmiclnet.data import cohort as cohorts
from tmiclnet.provenance import sha256_file


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

    Read-only: a test that changes a cohort, or writes beside one (an external cohort, a rebuild
    with other parameters), copies it or builds its own. The teardown holds them to that: every
    file must come out byte-identical and no file may be added, or the session ends in an error
    that names the files.
    """
    data_dir = tmp_path_factory.mktemp("tiny_cohorts")
    built = {
        name: cohorts.build(name, TINY, data_dir, n_jobs=1, verbose=False)
        for name in cohorts.COHORTS
    }
    before = _snapshot(data_dir)
    yield built
    after = _snapshot(data_dir)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"a test changed the shared tiny cohorts (copy them first): {changed}"
