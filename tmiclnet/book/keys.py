"""When a notebook runs again: the keys of the runner's cache (`tmiclnet.book.runner`).

A notebook re-runs when its cells, its parameters, the package code it runs, or the generated
cohorts change; never for outputs, cell metadata, or edits to how the book is assembled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tmiclnet.config import PACKAGE_DIR


def run_key(*parts: bytes) -> str:
    """sha256 over the parts' own hashes: the cache key of one notebook run."""
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def source_fingerprint(nb_path: Path) -> bytes:
    """The cells' sources and kinds only: outputs and metadata noise do not trigger a re-run."""
    nb = json.loads(nb_path.read_text())
    cells = [
        (c["cell_type"], "".join(c["source"]), sorted(c.get("metadata", {}).get("tags", [])))
        for c in nb["cells"]
    ]
    return json.dumps(cells).encode()


# The runner's side of `tmiclnet/book/`: no notebook imports these. The others (`about`,
# `findings`, `measured`) run inside notebooks, so an edit to them re-runs the notebooks.
RUNNER_SIDE = (
    "__init__.py", "calibrate.py", "check.py", "clean.py", "glossary.py", "keys.py", "links.py",
    "report.py", "runner.py",
)  # fmt: skip


def assembles_the_book(path: Path) -> bool:
    """This runner and its helpers (`RUNNER_SIDE` in tmiclnet/book/): no notebook imports them."""
    return path.parent == PACKAGE_DIR / "book" and path.name in RUNNER_SIDE


def package_fingerprint() -> bytes:
    """Every file of the package but the runner's: the notebooks run its code, so a change re-runs
    them; a change to how the book is assembled does not."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not assembles_the_book(path):
            h.update(str(path.relative_to(PACKAGE_DIR)).encode())
            h.update(path.read_bytes())
    return h.hexdigest().encode()


def data_fingerprint(data_dir: Path) -> bytes:
    """The manifests of the cohorts `data build` makes (each lists the sha256 of every file).

    Only those: folders that notebooks derive from them (an external center's copy) must not
    make the next run re-execute every notebook."""
    from tmiclnet.data.censored import NAME as CENSORED
    from tmiclnet.data.cohort import COHORTS

    # the censored-before-horizon companion of pbc too: the survival page scores it
    paths = [data_dir / name / "cohort.json" for name in (*COHORTS, CENSORED)]
    if not any(p.exists() for p in paths):
        return b"no-data"
    return b"".join(p.read_bytes() if p.exists() else b"missing" for p in paths)
