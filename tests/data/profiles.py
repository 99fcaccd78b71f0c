"""The one tiny profile: both cohorts build at it in well under a second (6 patients each, 12x24x24
voxels). `tiny_cohorts` (tests/conftest.py) builds them once a session at it; the tests that
rebuild, resume or alter a cohort build their own at it."""

from __future__ import annotations

import dataclasses

from tmiclnet.config import get_profile

TINY = dataclasses.replace(
    get_profile("quick"), name="tiny", n_patients=6, volume_shape=(12, 24, 24),
    n_synthetic=6,
)  # fmt: skip
