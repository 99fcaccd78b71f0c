"""Where a cohort's results and validation records go: beside the cohort folder, never inside it.

A user's cohort folder is theirs: no command writes into it (apart from the two files a user asks
for by name, `data init`'s schema.yaml and `data validate --write-manifest`'s cohort.json). Every
command resolves the places below from the folder's absolute path, so `train --cohort .` and
`evaluate --cohort /abs/path/to/it` agree, and a folder that happens to be named `results` (or
that sits inside a results folder) never receives results.

    <parent>/<cohort folder>                    the user's files, read only
    <parent>/results/<cohort name>/...          results (tmiclnet.results layout)
    <parent>/results/.validated/<folder>-<hash>  the record that the folder was valid (cohort.load)

The book's generated cohorts (`<data_dir>/<name>`) keep `<data_dir>/results`, as before.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

RESULTS = "results"
FALLBACK = "tmiclnet-results"  # used when `<parent>/results` would be the cohort folder itself
VALIDATED = ".validated"


def absolute(path: str | os.PathLike) -> Path:
    """The path made absolute and lexically normalised (`a/./b/..` -> `a`), symbolic links kept:
    the same folder named two ways gives one answer.

    Args:
        path: a file or folder, relative to the working directory or absolute.
    """
    return Path(os.path.abspath(os.fspath(path)))


def overlaps(a: Path, b: Path) -> bool:
    """True when folder `a` is `b`, or one lies inside the other: writing into one writes into
    the other.

    Args:
        a: a folder.
        b: another folder.
    """
    a, b = absolute(a), absolute(b)
    return a == b or a in b.parents or b in a.parents


def outside_cohort(cohort_root: str | os.PathLike, target: str | os.PathLike, what: str) -> Path:
    """`target` made absolute; ValueError when writing there would write into the cohort folder.

    Args:
        cohort_root: the user's cohort folder.
        target: a folder a command is about to write into.
        what: how to name `target` in the message (e.g. `--results`).
    """
    root, target = absolute(cohort_root), absolute(target)
    if overlaps(root, target):
        raise ValueError(
            f"{what} {target}: overlaps the cohort folder {root}; nothing is written into a "
            "cohort folder: name a folder beside it"
        )
    return target


def results_root_for(
    cohort_root: str | os.PathLike, name: str | None = None, given: str | os.PathLike = ""
) -> Path:
    """The results folder of a cohort: `given` when named, else `<parent>/results`.

    The cohort's results go to `<results folder>/<name>`; when that would be the cohort folder
    or overlap it (a cohort folder named `results`, or one inside `<parent>/results` under its
    own name), the default becomes `<parent>/tmiclnet-results`; a `given` folder that overlaps it
    raises ValueError.

    Args:
        cohort_root: the cohort folder.
        name: the cohort's name, its folder under the results folder (default: the folder name).
        given: the `--results` option ('' for the default).
    """
    root = absolute(cohort_root)
    name = name or root.name
    if str(given):
        if overlaps(root, absolute(given) / name):
            raise ValueError(
                f"--results {absolute(given)}: the results would go to {absolute(given) / name}, "
                f"which overlaps the cohort folder {root}; nothing is written into a cohort "
                "folder: name a folder beside it"
            )
        return absolute(given)
    default = root.parent / RESULTS
    return root.parent / FALLBACK if overlaps(root, default / name) else default


def validated_record(cohort_root: str | os.PathLike) -> Path:
    """Where `tmiclnet.data.cohort.load` records that the folder was valid (its content's
    fingerprint): under its default results folder, named by the folder's absolute path.

    Args:
        cohort_root: the cohort folder.
    """
    root = absolute(cohort_root)
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return results_root_for(root) / VALIDATED / f"{root.name or 'root'}-{tag}"
