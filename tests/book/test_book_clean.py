"""The staged book copy: test markers and machine paths hidden, the executed copy untouched."""

from __future__ import annotations

import json
from pathlib import Path

from tests.book.notebooks import write_notebook
from tmiclnet.book import clean as book_clean
from tmiclnet.book import report as book_report
from tmiclnet.book import runner as book


def executed_notebook(root: Path) -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "# NBVAL_CHECK_OUTPUT\nf = lambda x: x  # noqa: E731\nprint(f(1))",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": f"in {root}/data/x\n"},
                    {
                        "output_type": "execute_result",
                        "data": {"text/plain": [f"{root}/notebooks"], "image/png": "AAAA"},
                    },
                ],
            },
            {"cell_type": "markdown", "metadata": {}, "source": "# NBVAL_ in prose stays"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_markers_go_code_stays() -> None:
    src = "# NBVAL_CHECK_OUTPUT\nimport os  # noqa: F401\n  # NBVAL_SKIP\nprint(1)\n"
    assert book_clean.strip_markers(src) == "import os\nprint(1)\n"


def test_paths_become_placeholders_most_specific_first(tmp_path: Path) -> None:
    root = tmp_path / "book"
    pairs = book_clean.machine_paths(root, root / "data" / "generated", tmp_path / "cache")
    text = f"{root}/data/generated/quick/pbc {tmp_path}/cache/text {root}/notebooks"
    assert book_clean.hide_paths(text, pairs) == "<data>/quick/pbc <cache>/text <book>/notebooks"


def test_clean_notebook_keeps_images_and_prose(tmp_path: Path) -> None:
    nb = book_clean.clean_notebook(
        executed_notebook(tmp_path),
        book_clean.machine_paths(tmp_path, tmp_path / "data", tmp_path / "cache"),
    )
    code, prose = nb["cells"]
    assert code["source"] == "f = lambda x: x\nprint(f(1))"
    assert code["outputs"][0]["text"] == "in <data>/x\n"
    assert code["outputs"][1]["data"] == {"text/plain": ["<book>/notebooks"], "image/png": "AAAA"}
    assert prose["source"] == "# NBVAL_ in prose stays"


def test_stage_cleans_the_page_copy_only(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/a\n"
    )
    (root / "intro.md").write_text("# Intro\n")
    write_notebook(root / "notebooks" / "a.ipynb", "print(1)")
    executed = tmp_path / "executed"
    executed.mkdir()
    original = json.dumps(executed_notebook(root))
    (executed / "a.ipynb").write_text(original)
    book_report.write_runs(executed, "quick", [])
    staged = book.stage(root, executed, tmp_path / "stage", data_root=root / "data")
    page = json.loads((staged / "notebooks" / "a.ipynb").read_text())
    assert "NBVAL" not in page["cells"][0]["source"] and "noqa" not in page["cells"][0]["source"]
    assert str(root) not in json.dumps(page["cells"][0]["outputs"])
    assert (executed / "a.ipynb").read_text() == original, "nbval's copy keeps its markers"
