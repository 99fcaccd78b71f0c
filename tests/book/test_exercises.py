"""Exercises in the notebooks' sources: 2-4 per page, after the Summary, labels `ex-NN-word`
unique book-wide, each with a solution behind a toggle (the HTML check then finds them built).
Built, every page's exercises are numbered from 1 (book/_ext/exercise_numbers.py), not on from
the previous page's."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = re.compile(r"^::::\{exercise\}\n:label: (\S+)$", re.MULTILINE)
SOLUTION = re.compile(r"^::::\{solution\} (\S+)\n:class: dropdown$", re.MULTILINE)
HTML = ROOT / "_build" / "quick" / "_build" / "html" / "notebooks"
CAPTION = re.compile(r'class="caption-number">Exercise ([0-9.]+) ')
SOLVES = re.compile(r'Solution to<a class="reference internal" href="#[^"]+"> Exercise ([0-9.]+)<')


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


def built_numbers(html: str) -> tuple[list[str], list[str]]:
    """The numbers of a built page's exercises and of the exercises its solutions name."""
    return CAPTION.findall(html), SOLVES.findall(html)


def local_extensions() -> dict[str, Path]:
    """The book's own Sphinx extensions, as _config.yml names them: module -> folder."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return {name: ROOT / folder for name, folder in config["sphinx"]["local_extensions"].items()}


def build_two_pages(tmp_path: Path, extensions: list[str]) -> dict[str, str]:
    """Two pages of two exercises each, built by Sphinx with sphinx-exercise: page -> HTML."""
    from sphinx.cmd.build import build_main

    src = tmp_path / "src"
    src.mkdir(parents=True)
    (src / "conf.py").write_text(f"extensions = {extensions!r}\n")
    (src / "index.rst").write_text("Book\n====\n\n.. toctree::\n\n   a\n   b\n")
    for page in "ab":
        body = [f"Page {page}\n======\n"]
        for n in (1, 2):
            label = f"ex-{page}-{n}"
            body.append(f".. exercise::\n   :label: {label}\n\n   Do {label}.\n")
            body.append(f".. solution:: {label}\n\n   The answer to {label}.\n")
        (src / f"{page}.rst").write_text("\n".join(body))
    out = tmp_path / "html"
    assert build_main(["-q", "-b", "html", str(src), str(out)]) == 0
    return {page: (out / f"{page}.html").read_text() for page in "ab"}


def test_the_book_extension_numbers_exercises_per_page(tmp_path: Path, monkeypatch) -> None:
    folders = local_extensions()
    assert "exercise_numbers" in folders, "_config.yml loads book/_ext/exercise_numbers.py"
    for folder in folders.values():
        monkeypatch.syspath_prepend(str(folder))
    plain = build_two_pages(tmp_path / "plain", ["sphinx_exercise"])
    assert built_numbers(plain["b"]) == (["3", "4"], ["3", "4"]), "Sphinx alone counts on"
    pages = build_two_pages(tmp_path / "book", ["sphinx_exercise", *folders])
    for page, html in pages.items():
        assert built_numbers(html) == (["1", "2"], ["1", "2"]), page
    for name in folders:
        sys.modules.pop(name, None)


@pytest.mark.needs_build(HTML / "01_cohort.html", HTML / "09_evaluation.html")
def test_every_built_page_numbers_its_exercises_from_one() -> None:
    pages = {p.stem: p.read_text() for p in sorted(HTML.glob("*.html"))}
    numbered = {stem: built_numbers(html) for stem, html in pages.items()}
    numbered = {stem: nums for stem, nums in numbered.items() if nums[0]}
    assert {"01_cohort", "09_evaluation"} <= set(numbered), "exercises not found in the HTML"
    for stem, (exercises, solved) in numbered.items():
        expected = [str(i) for i in range(1, len(exercises) + 1)]
        assert exercises == expected, f"{stem}: exercises numbered {exercises}"
        assert solved == expected, f"{stem}: solutions name exercises {solved}"
