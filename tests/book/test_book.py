"""The papermill runner: order from _toc.yml, skipping unchanged notebooks, naming failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.book.notebooks import write_notebook
from tmiclnet.book import runner as book
from tmiclnet.cli import book as cli_book

ROOT = Path(__file__).resolve().parents[2]


def test_toc_order_matches_the_book() -> None:
    names = [p.stem for p in book.toc_notebooks(ROOT)]
    assert names, "the book lists no notebook"
    assert names == sorted(names), "notebooks are numbered in reading order"


@pytest.mark.slow
def test_run_executes_in_order_then_skips_unchanged(project: Path, capsys) -> None:
    out = book.run("quick", root=project, out_dir=project / "out")
    executed = json.loads((out / "a.ipynb").read_text())
    texts = ["".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", [])]
    assert "quick 2\n" in texts
    injected = [
        c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert injected and all("remove-cell" in c["metadata"]["tags"] for c in injected)
    capsys.readouterr()
    book.run("quick", root=project, out_dir=project / "out")
    assert capsys.readouterr().out.count("unchanged") == 2
    # editing the first notebook re-runs it and everything after it
    write_notebook(project / "notebooks" / "a.ipynb", "x = 3", "print(profile, x)")
    book.run("quick", root=project, out_dir=project / "out")
    assert capsys.readouterr().out.count("executed") == 2


@pytest.mark.slow
def test_failing_cell_names_notebook_and_cell(project: Path) -> None:
    write_notebook(
        project / "notebooks" / "b.ipynb", "ok = True", "raise ValueError('broken on purpose')"
    )
    with pytest.raises(book.NotebookFailed) as err:
        book.run("quick", root=project, out_dir=project / "out")
    message = str(err.value)
    assert "notebooks/b.ipynb" in message and "broken on purpose" in message
    assert "cell 3" in message
    assert not (project / "out" / "b.ipynb").exists(), "no executed copy for a failed run"
    assert (project / "out" / "b.failed.ipynb").exists()


def test_cli_exits_nonzero_on_failure(project: Path, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise book.NotebookFailed("notebooks/b.ipynb failed in cell 2")

    monkeypatch.setattr(cli_book, "run", boom)
    assert cli_book.main(["run", "--profile", "quick"]) == 1


def test_unknown_profile_is_rejected(project: Path) -> None:
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        book.run("fast", root=project, out_dir=project / "out")


def test_only_rejects_notebooks_not_in_toc(project: Path) -> None:
    with pytest.raises(SystemExit, match="not in _toc.yml"):
        book.run("quick", only=["zz"], root=project, out_dir=project / "out")


def test_sources_are_stripped() -> None:
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, path


def test_every_notebook_has_one_parameters_cell_with_the_shared_vocabulary() -> None:
    for path in book.toc_notebooks(ROOT):
        nb = json.loads(path.read_text())
        params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, f"{path.name}: {len(params)} parameters cells"
        assert "remove-cell" in params[0]["metadata"]["tags"], f"{path.name}: parameters shown"
        source = "".join(params[0]["source"])
        for name in ("profile", "data_dir", "seed", "device"):
            assert f"{name} =" in source, f"{path.name}: parameter {name!r} missing"
        text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        for heading in (
            "## Overview",
            "## Prerequisites",
            "Time to learn",
            "System requirements",
            "## Summary",
        ):
            assert heading in text, f"{path.name}: header part {heading!r} missing"


def test_data_fingerprint_follows_the_built_cohorts_only(tmp_path) -> None:
    """A folder a notebook derives (the external center) must not re-run every notebook."""
    from tmiclnet.book.runner import data_fingerprint

    assert data_fingerprint(tmp_path) == b"no-data"
    for name in ("pbc", "synthetic"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cohort.json").write_text(f'{{"name": "{name}"}}')
    before = data_fingerprint(tmp_path)
    (tmp_path / "pbc_external").mkdir()
    (tmp_path / "pbc_external" / "cohort.json").write_text('{"name": "pbc_external"}')
    assert data_fingerprint(tmp_path) == before
    (tmp_path / "pbc" / "cohort.json").write_text('{"name": "pbc", "seed": 1}')
    assert data_fingerprint(tmp_path) != before
