"""What the staged book copy of an executed notebook leaves out: test markers and machine paths.

nbval re-runs the executed copies in `_build/executed/<profile>/` and needs their
`# NBVAL_CHECK_OUTPUT` markers; a reader needs neither those nor `# noqa` comments, nor the
absolute paths of the machine that built the book. :func:`clean_notebook` is applied to the
copies `tmiclnet.book.runner.stage` hands to Jupyter Book only, so the checks keep their markers
and the pages lose them. Paths become placeholders a reader can map onto their own checkout:
`<data>/quick/pbc`, `<cache>/text`, `<book>/notebooks`, `~/...`, `<tmp>/...`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

MARKER_LINE = re.compile(r"^[ \t]*#[ \t]*NBVAL_\w+[^\n]*(\n|$)", re.MULTILINE)
NOQA = re.compile(r"[ \t]*#[ \t]*noqa\b[^\n]*", re.IGNORECASE)
TEXT_KEYS = ("text/plain", "text/html", "text/markdown", "text/latex")


def strip_markers(source: str) -> str:
    """A code cell's source without `# NBVAL_*` lines and `# noqa` comments (code kept).

    Args:
        source: the cell's source text.
    """
    return NOQA.sub("", MARKER_LINE.sub("", source))


def machine_paths(root: Path, data_root: Path, cache_root: Path) -> list[tuple[str, str]]:
    """(path, placeholder) pairs to replace in outputs, the most specific first (so the data
    folder inside the checkout reads `<data>`, not `<book>/data/generated`).

    Args:
        root: the checkout the book is built from.
        data_root: the folder holding `<profile>/` data folders (`$TMICLNET_DATA` or
            `data/generated`).
        cache_root: the cache folder (`tmiclnet.config.cache_root()`).
    """
    pairs = {
        str(data_root.resolve()): "<data>",
        str(data_root): "<data>",
        str(cache_root.resolve()): "<cache>",
        str(cache_root): "<cache>",
        str(root.resolve()): "<book>",
        str(root): "<book>",
        str(Path(tempfile.gettempdir()).resolve()): "<tmp>",
        tempfile.gettempdir(): "<tmp>",
        os.path.expanduser("~"): "~",
    }
    pairs = {k: v for k, v in pairs.items() if k not in ("", "/", ".")}
    return sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)


def hide_paths(text: str, pairs: list[tuple[str, str]]) -> str:
    """`text` with each machine path replaced by its placeholder (longest path first).

    Args:
        text: an output's text.
        pairs: from :func:`machine_paths`.
    """
    for path, placeholder in pairs:
        text = text.replace(path, placeholder)
    return text


def _clean_text(value, pairs):
    if isinstance(value, list):
        return [hide_paths(v, pairs) for v in value]
    return hide_paths(value, pairs) if isinstance(value, str) else value


def clean_notebook(nb: dict, pairs: list[tuple[str, str]]) -> dict:
    """The notebook (changed in place and returned) as its page shows it: code cells without
    markers, text outputs without machine paths. Images and sources' logic are untouched.

    Args:
        nb: a notebook as parsed JSON (nbformat 4).
        pairs: from :func:`machine_paths`.
    """
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        cell["source"] = strip_markers(text)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = _clean_text(out["text"], pairs)
            if "evalue" in out:
                out["evalue"] = _clean_text(out["evalue"], pairs)
            data = out.get("data", {})
            for key in TEXT_KEYS:
                if key in data:
                    data[key] = _clean_text(data[key], pairs)
    return nb
