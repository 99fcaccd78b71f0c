"""Shared fixtures."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny models run faster on one thread (and do not fight other processes for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_cohort(tmp_path):
    """A factory of tiny valid cohort folders (tests/tiny_cohort.py) under `tmp_path/own/`."""
    from tests import tiny_cohort as tiny

    def make(name: str = "mine", seed: int = 0):
        return tiny.write(tmp_path / "own" / name, seed)

    return make
