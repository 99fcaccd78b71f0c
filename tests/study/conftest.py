"""Fixtures of the study tests: the tiny cohort folder (tests/tiny_cohort.py)."""

from tests.tiny_cohort import tiny_cohort  # noqa: F401 - a fixture, found by its name
