"""The API reference page (book/api.md) covers what the notebooks and the own-data page import.

The page is the one list of documented modules; these tests read it, so renaming a module means
editing the page only.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "book" / "api.md"
BUILT = ROOT / "_build" / "quick" / "_build" / "html" / "book" / "api.html"


def documented() -> list[str]:
    return re.findall(r"^\.\. automodule:: (\S+)$", PAGE.read_text(), re.M)


def code_sources() -> list[str]:
    """Every notebook code cell (as IPython runs it) and the own-data page's Python blocks."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell
    sources = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                sources.append(python("".join(cell["source"])))
    own = (ROOT / "book" / "own_data.md").read_text()
    return sources + re.findall(r"```python\n(.*?)```", own, re.S)


def _is_module(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except ModuleNotFoundError:  # the parent is a module, not a package
        return False


def imported_modules() -> set[str]:
    """The tmiclnet modules the reader's code imports (`from tmiclnet.x import f` -> tmiclnet.x)."""
    found = set()
    for source in code_sources():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tmiclnet"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if _is_module(full) else node.module)
    found.discard("tmiclnet")
    return found


def test_every_module_the_reader_imports_is_on_the_page() -> None:
    missing = imported_modules() - set(documented())
    assert not missing, f"book/api.md lacks {sorted(missing)}"


def test_every_module_on_the_page_imports_once() -> None:
    names = documented()
    assert len(names) == len(set(names)), "a module is listed twice"
    for name in names:
        importlib.import_module(name)


# The calls the own-data page and every notebook's set-up make first: each argument is explained.
ENTRY_POINTS = [
    "tmiclnet.config.setup",
    "tmiclnet.data.cohort.build",
    "tmiclnet.data.cohort.load",
    "tmiclnet.data.validate.validate",
    "tmiclnet.text.load",
    "tmiclnet.text.embed",
]


@pytest.mark.parametrize("dotted", ENTRY_POINTS)
def test_entry_points_document_every_argument(dotted: str) -> None:
    module, _, name = dotted.rpartition(".")
    assert module in documented()
    func = getattr(importlib.import_module(module), name)
    doc = inspect.getdoc(func) or ""
    assert "Args:" in doc, f"{dotted}: no Args section"
    args = doc.split("Args:", 1)[1]
    for param in inspect.signature(func).parameters:
        assert re.search(rf"^\s+{param}:", args, re.M), f"{dotted}: argument {param!r} undocumented"


@pytest.mark.skipif(not BUILT.exists(), reason=f"no quick build at {BUILT}")
def test_the_built_page_renders_entries_with_their_parameters() -> None:
    html = BUILT.read_text()
    for dotted in ENTRY_POINTS:
        assert f'id="{dotted}"' in html, dotted
    assert html.count("Parameters") >= len(ENTRY_POINTS)
    assert ".. py:" not in html, "autodoc output was parsed as Markdown, not reStructuredText"
