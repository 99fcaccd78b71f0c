"""Tiny notebooks for the runner's tests: a parameters cell, then the given code cells."""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf


def write_notebook(path: Path, *sources: str) -> None:
    """A python3 notebook at `path`: a tagged parameters cell, then one cell per source."""
    cells = [nbf.v4.new_code_cell('profile = "quick"', metadata={"tags": ["parameters"]})]
    cells += [nbf.v4.new_code_cell(s) for s in sources]
    nb = nbf.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbf.write(nb, path)
