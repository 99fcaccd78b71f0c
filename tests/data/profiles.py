"""A profile small enough to build both cohorts in seconds, for the data tests."""

from __future__ import annotations

import dataclasses

from tmiclnet.config import get_profile

TINY = dataclasses.replace(
    get_profile("quick"), name="tiny", n_patients=6, volume_shape=(12, 24, 24),
    n_synthetic=6,
)  # fmt: skip
