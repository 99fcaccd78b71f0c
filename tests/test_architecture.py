"""The architecture contract: layers that hold, no circles, no private name used across modules.

The layers are import-linter's contract in pyproject.toml (`lint-imports`, also run by `make
lint`); import-linter has no contract for circles inside a layer or for private names, so those
are checked here over the same import graph (grimp, which import-linter is built on) and the
modules' syntax trees. Each check is also shown failing on a small package that breaks it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tmiclnet"


def circles(package: str) -> list[list[str]]:
    """Every set of modules that import each other in a loop (Tarjan's strongly connected
    components of the module graph, imports inside functions included)."""
    graph = grimp.build_graph(package)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def private_uses(root: Path, package: str) -> list[str]:
    """`from <package>.x import _name` and `module._name` on an imported <package> module, in any
    module other than the one that defines the name: one line each."""
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        aliases = {}  # local name -> the package module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        out.append(f"{path.relative_to(root)}:{node.lineno}: imports {a.name}")
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith(package):
                        aliases[a.asname or a.name.split(".")[0]] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                out.append(
                    f"{path.relative_to(root)}:{node.lineno}: uses {node.value.id}.{node.attr}"
                )
    return out


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_layers_hold() -> None:
    done = _lint_imports(ROOT, ROOT)
    assert done.returncode == 0, done.stdout[-3000:]


def test_no_circle_in_the_package() -> None:
    assert circles("tmiclnet") == []


def test_no_private_name_is_used_across_modules() -> None:
    assert private_uses(PACKAGE, "tmiclnet") == []


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    """A copy of the package and its contract, for adding the imports the contract forbids."""
    shutil.copytree(PACKAGE, tmp_path / "tmiclnet", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_an_import_back_up_breaks_the_contract(broken_copy: Path) -> None:
    target = broken_copy / "tmiclnet" / "data" / "pbc.py"
    target.write_text(target.read_text() + "\nfrom tmiclnet.train import cv  # noqa\n")
    done = _lint_imports(broken_copy, broken_copy)
    assert done.returncode != 0
    assert "tmiclnet.data.pbc -> tmiclnet.train.cv" in done.stdout


def test_evaluation_that_trains_breaks_the_contract(broken_copy: Path) -> None:
    """Allowed by the layers (evaluation sits above training), refused by the forbidden contract."""
    target = broken_copy / "tmiclnet" / "evaluate" / "metrics.py"
    target.write_text(target.read_text() + "\nfrom tmiclnet.train.fold import train_fold  # noqa\n")
    done = _lint_imports(broken_copy, broken_copy)
    assert done.returncode != 0
    assert "evaluation reads, never trains: tmiclnet.evaluate imports no training code BROKEN" in (
        done.stdout
    )
    assert "the pipeline runs one way: each layer imports only the layers below it KEPT" in (
        done.stdout
    )
    assert "tmiclnet.evaluate.metrics -> tmiclnet.train.fold" in done.stdout


def test_a_circle_and_a_private_name_are_found(broken_copy: Path, monkeypatch) -> None:
    data = broken_copy / "tmiclnet" / "data"
    (data / "ring_a.py").write_text("from tmiclnet.data import ring_b  # noqa\n")
    (data / "ring_b.py").write_text("from tmiclnet.data import ring_a  # noqa\n")
    (data / "peek.py").write_text(
        "from tmiclnet.data import pbc\nfrom tmiclnet.data.validate import _read_table\n"
        "x = pbc._hidden\n"
    )
    monkeypatch.syspath_prepend(str(broken_copy))
    for name in [m for m in sys.modules if m == "tmiclnet" or m.startswith("tmiclnet.")]:
        monkeypatch.delitem(sys.modules, name)
    assert ["tmiclnet.data.ring_a", "tmiclnet.data.ring_b"] in circles("tmiclnet")
    found = private_uses(broken_copy / "tmiclnet", "tmiclnet")
    assert "data/peek.py:2: imports _read_table" in found
    assert "data/peek.py:3: uses pbc._hidden" in found


def test_no_module_is_over_400_lines() -> None:
    """A module a newcomer reads in one sitting: past 400 lines, split it where its keys are."""
    long = {
        p.relative_to(PACKAGE).as_posix(): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, f"modules over 400 lines: {long}"


def test_every_command_goes_through_the_one_entry_point() -> None:
    """Pages, docs and code name commands as `python -m tmiclnet <command>` (or `torchrun ... -m
    tmiclnet train`), never a submodule: a reader who copies one must reach a real command."""
    import re

    submodule = re.compile(r"-m tmiclnet\.[a-z_]")
    found = []
    for pattern in ("*.md", "*.ipynb", "*.py", "Makefile", "*.yml", "*.toml"):
        for path in ROOT.rglob(pattern):
            parts = set(path.relative_to(ROOT).parts)
            if parts & {".venv", "_build", ".git", "data", "node_modules"}:
                continue
            lines = path.read_text(errors="replace").splitlines()
            found += [
                f"{path.relative_to(ROOT)}:{i}"
                for i, ln in enumerate(lines, 1)
                if submodule.search(ln)
            ]
    assert not found, f"a submodule entry point named in {found}"
