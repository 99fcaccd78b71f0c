"""Exercises in the notebooks' sources: 2-4 per page, after the Summary, labels `ex-NN-word`
unique book-wide, each with a solution behind a toggle (the HTML check then finds them built)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = re.compile(r"^::::\{exercise\}\n:label: (\S+)$", re.MULTILINE)
SOLUTION = re.compile(r"^::::\{solution\} (\S+)\n:class: dropdown$", re.MULTILINE)


def markdown(path: Path) -> list[str]:
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


def with_exercises() -> dict[Path, str]:
    out = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = markdown(path)
        start = next((i for i, c in enumerate(cells) if c.startswith("## Exercises")), None)
        if start is not None:
            out[path] = "\n".join(cells[start:])
    return out


def test_exercise_pages_follow_the_pattern() -> None:
    pages = with_exercises()
    assert len(pages) >= 8, "notebooks 00-07 end with exercises"
    seen: set[str] = set()
    for path, text in pages.items():
        labels = EXERCISE.findall(text)
        assert 2 <= len(labels) <= 4, f"{path.name}: {len(labels)} exercises"
        number = path.stem[:2]
        for label in labels:
            assert re.fullmatch(rf"ex-{number}-[a-z0-9]+", label), f"{path.name}: label {label}"
            assert label not in seen, f"{label} is used twice"
            seen.add(label)
        assert SOLUTION.findall(text) == labels, f"{path.name}: each exercise needs its solution"


def test_exercises_come_after_the_summary() -> None:
    for path in with_exercises():
        headings = [c.splitlines()[0] for c in markdown(path) if c.startswith("## ")]
        assert "## Summary" in headings, path.name
        assert headings.index("## Summary") < headings.index("## Exercises"), path.name
        assert headings[-1] == "## Exercises", f"{path.name}: the page ends with its exercises"
