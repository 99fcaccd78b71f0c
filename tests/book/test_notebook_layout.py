"""Every page's code reads from the top: its imports in one cell, right after the parameters (the
Pythia template), and its Summary closes with the Resources a student reads next."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _imports(source: str) -> list[int]:
    """Line numbers of the cell's top-level import statements (IPython lines are skipped)."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("!", "%"))]
    tree = ast.parse("\n".join(lines))
    return [n.lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_imports_are_in_the_first_cell_after_the_parameters(path: Path) -> None:
    cells = _cells(path)
    params = next(i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", []))
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and i > params]
    first, later = code[0], code[1:]
    assert _imports("".join(cells[first]["source"])), f"{path.name}: no import cell"
    stray = [i for i in later if _imports("".join(cells[i]["source"]))]
    assert not stray, f"{path.name}: imports in cells {stray}; move them to cell {first}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_summary_closes_with_resources(path: Path) -> None:
    text = ["".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown"]
    start = next(i for i, t in enumerate(text) if t.startswith("## Summary"))
    end = next(i for i, t in enumerate(text) if t.startswith("## Exercises"))
    summary = "\n".join(text[start:end])
    assert "### Resources" in summary, f"{path.name}: the Summary has no Resources"
    after = summary.split("### Resources", 1)[1]
    assert after.count("\n- ") >= 2, f"{path.name}: Resources lists fewer than two entries"
