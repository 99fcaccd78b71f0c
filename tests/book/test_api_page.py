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


def programs() -> dict[str, list[str]]:
    """Per page, its code as IPython runs it: a notebook's code cells, the own-data page's blocks.

    A page's cells share one namespace, so an import in one cell names what a later cell calls.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell
    pages = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        pages[path.name] = [python("".join(cell["source"])) for cell in code]
    own = (ROOT / "book" / "own_data.md").read_text()
    pages["own_data.md"] = re.findall(r"```python\n(.*?)```", own, re.S)
    return pages


def code_sources() -> list[str]:
    """Every notebook code cell (as IPython runs it) and the own-data page's Python blocks."""
    return [source for sources in programs().values() for source in sources]


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


@pytest.mark.needs_build(BUILT)
def test_the_built_page_renders_entries_with_their_parameters() -> None:
    html = BUILT.read_text()
    for dotted in ENTRY_POINTS:
        assert f'id="{dotted}"' in html, dotted
    assert html.count("Parameters") >= len(ENTRY_POINTS)
    assert ".. py:" not in html, "autodoc output was parsed as Markdown, not reStructuredText"


def _tmiclnet_names(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted tmiclnet path, from a page's `import` and `from ... import` lines."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tmiclnet":
                    local = alias.asname or alias.name.split(".")[0]
                    names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tmiclnet":
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted_call(node: ast.Call, names: dict[str, str]) -> str | None:
    """`alias.a.b(...)` -> "tmiclnet.x.a.b" when alias names a tmiclnet object, else None."""
    parts, func = [], node.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in names:
        return None
    return ".".join([names[func.id], *reversed(parts)])


def called() -> dict[str, set[str]]:
    """Every tmiclnet callable the pages call by name -> the pages that call it."""
    calls: dict[str, set[str]] = {}
    for page, sources in programs().items():
        tree = ast.parse("\n".join(sources))
        names = _tmiclnet_names(tree)
        for node in ast.walk(tree):
            dotted = _dotted_call(node, names) if isinstance(node, ast.Call) else None
            if dotted:
                calls.setdefault(dotted, set()).add(page)
    return calls


def resolve(dotted: str) -> object:
    """The object a dotted path names, importing submodules on the way (`tmiclnet.text.lines`)."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=2):
        prefix = ".".join(parts[:i])  # a submodule wins over a package attribute of its name
        obj = importlib.import_module(prefix) if _is_module(prefix) else getattr(obj, part)
    return obj


def named_parameters(obj: object) -> list[str]:
    """A callable's named parameters (a class: its `__init__`'s), less self, cls, *args, **kw."""
    func = obj.__init__ if inspect.isclass(obj) else obj
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    params = inspect.signature(func).parameters.values()
    return [p.name for p in params if p.kind not in skip and p.name not in ("self", "cls")]


def args_entries(doc: str) -> set[str]:
    """The names a Google-style `Args:` section lists (`name: ...` or `name (type): ...`)."""
    lines = doc.splitlines()
    if "Args:" not in lines:
        return set()
    entries = set()
    for line in lines[lines.index("Args:") + 1 :]:
        if line.strip() and not line[0].isspace():
            break  # the next section (Returns:, Raises:, ...) or prose
        found = re.match(r"^ {2,8}\*{0,2}(\w+)(?: \([^)]*\))?:", line)
        if found:
            entries.add(found.group(1))
    return entries


def test_the_pages_call_tmiclnet_by_name() -> None:
    calls = called()
    assert "tmiclnet.config.setup" in calls, "the call finder misses every notebook's set-up"
    assert len(calls) >= 20, sorted(calls)


def test_args_entries_reads_a_google_section() -> None:
    doc = "First.\n\nArgs:\n    a: one.\n    b (int): two,\n        more.\n\nReturns:\n    c: no."
    assert args_entries(doc) == {"a", "b"}
    assert args_entries("First.\n\nReturns:\n    a: no.") == set()


def test_every_callable_the_pages_call_documents_its_arguments() -> None:
    """MONAI's habit: each argument of what a reader calls has a line under Args."""
    missing = []
    for dotted, pages in sorted(called().items()):
        obj = resolve(dotted)
        assert callable(obj), f"{dotted} (called by {sorted(pages)}) is not callable"
        documented_args = args_entries(inspect.getdoc(obj) or "")
        for param in named_parameters(obj):
            if param not in documented_args:
                missing.append(f"{dotted}: no Args entry for {param!r}")
    if missing:
        pytest.fail("\n".join(missing), pytrace=False)
