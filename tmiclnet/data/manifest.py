"""Content hashes of a cohort folder, whether or not it has a cohort.json.

A built cohort records the sha256 of every file in cohort.json; a user's folder may have none.
Everything keyed on a cohort's content (the CT tensor cache, the `.validated` stamp) goes through
here, so a folder without cohort.json works and a changed file is noticed by its content, not by
its size or modification time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tmiclnet.provenance import atomic_write_text, sha256_file

MANIFEST = "cohort.json"


def listed_files(root: Path) -> list[str]:
    """The files a manifest lists: every non-hidden file but cohort.json, as posix paths."""
    root = Path(root)
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.name != MANIFEST
    )


def file_hashes(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every listed file."""
    return {rel: sha256_file(Path(root) / rel) for rel in listed_files(root)}


def content_digest(root: Path) -> str:
    """cohort.json's sha256 when there is one (it lists every file's), else the files' own."""
    path = Path(root) / MANIFEST
    if path.exists():
        return sha256_file(path)
    return hashlib.sha256(json.dumps(file_hashes(root), sort_keys=True).encode()).hexdigest()


def fingerprint(root: Path, skip: str) -> str:
    """sha256 over the content of every file under `root` (hidden ones too) but `skip`."""
    root = Path(root)
    items = sorted(
        (p.relative_to(root).as_posix(), sha256_file(p))
        for p in root.rglob("*")
        if p.is_file() and p.name != skip
    )
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def write_manifest(root: Path) -> Path:
    """Write cohort.json (name and every file's sha256) into a folder that has none.

    Args:
        root: a user's cohort folder; one that already has cohort.json is refused, not changed.
    """
    root = Path(root)
    path = root / MANIFEST
    if path.exists():
        raise FileExistsError(f"{path}: exists; not overwritten (delete it to write a new one)")
    manifest = {
        "name": root.name,
        "generator": "written by `python -m tmiclnet data validate --write-manifest`",
        "files": file_hashes(root),
    }
    atomic_write_text(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path
