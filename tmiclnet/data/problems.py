"""What validation reports: one problem per (file, field, reason), and the error that lists them.

Apart from the checks that find them (`tmiclnet.data.checks`, `tmiclnet.data.validate`), so that
both, and every command that prints them, share one type without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


class CohortError(ValueError):
    """A cohort folder failed validation; `.problems` lists every problem."""

    def __init__(self, root: Path, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{root}: {len(problems)} problem(s):\n{lines}{more}")
        first = problems[0] if problems else "?"
        self.summary = (
            f"{root}: {len(problems)} problem(s), the first: {first} "
            f"(`python -m tmiclnet data validate --cohort {root}` lists them all)"
        )
