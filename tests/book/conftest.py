"""Fixtures of the book tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.book.notebooks import write_notebook


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A two-notebook book (a prints the profile and 1 + 1, b prints a line) with its _toc.yml and
    an empty book/ folder: the runner's, the report's and the stager's smallest real input."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/a\n  - file: notebooks/b\n"
    )
    write_notebook(tmp_path / "notebooks" / "a.ipynb", "x = 1 + 1", "print(profile, x)")
    write_notebook(tmp_path / "notebooks" / "b.ipynb", "print('b ran')")
    return tmp_path
