"""The marker that says "tmiclnet wrote this folder", and the refusal to touch one without it.

A build deletes and rewrites its cohort folder when it was built with other parameters. That is
safe only for folders the package itself wrote: a user's cohort placed where a build writes must
survive. Every generated folder therefore carries `MARKER`, which records the absolute path it was
written for; a copy of a generated folder (`cp -r` takes hidden files along) elsewhere is then not
mistaken for one, and a symbolic link is never deleted through.
"""

from __future__ import annotations

import json
from pathlib import Path

from tmiclnet.provenance import atomic_write_text

MARKER = ".tmiclnet-generated"


class NotGeneratedError(OSError):
    """A folder the package would delete or overwrite was not written by it."""


def _text(root: Path) -> str:
    return json.dumps({"written_by": "tmiclnet", "path": str(root.absolute())}) + "\n"


def write_marker(root: Path) -> None:
    """Mark `root` as written by the package (called before anything else is written into it)."""
    atomic_write_text(root / MARKER, _text(root))


def is_generated(root: Path) -> bool:
    """True when `root` carries the marker written for this very path."""
    path = Path(root) / MARKER
    try:
        recorded = json.loads(path.read_text("utf-8")).get("path")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == str(Path(root).absolute())


def check_replaceable(root: Path, way_out: str = "") -> None:
    """Raise NotGeneratedError unless the package may delete and rewrite `root`.

    Args:
        root: the folder a build is about to delete.
        way_out: what the user can do instead, appended to the message.
    """
    root = Path(root)
    hint = way_out or "move your folder elsewhere (e.g. data/own/<name>) or delete it yourself"
    if root.is_symlink():
        raise NotGeneratedError(
            f"{root}: is a symbolic link; a build never deletes through a link: {hint}"
        )
    if not root.exists() or is_generated(root):
        return
    if not any(root.iterdir()):
        return  # an empty folder: nothing to lose
    raise NotGeneratedError(
        f"{root}: not written by tmiclnet (no {MARKER} marker), refusing to delete it: {hint}"
    )
