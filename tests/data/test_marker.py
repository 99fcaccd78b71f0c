"""A build never deletes or writes into a folder the package did not write (issue 12, data loss)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.data.profiles import TINY
from tmiclnet.data import cohort as cohorts
from tmiclnet.data.marker import MARKER, NotGeneratedError, is_generated


def _users_cohort(root: Path) -> dict[str, bytes]:
    """A user's folder (its content does not matter: it must come out byte-identical)."""
    for rel, data in {
        "labels.csv": b"id,label\npt-1,1\n",
        "clinical.csv": b"id,age\npt-1,61\n",
        "notes/pt-1.txt": b"my own note\n",
        "images/pt-1.nii.gz": b"not even a nifti",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return _snapshot(root)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _build(name: str, data_dir: Path, **kw) -> Path:
    return cohorts.build(name, TINY, data_dir, n_jobs=1, verbose=False, **kw)


def test_users_folder_at_the_documented_place_survives_every_build(tmp_path) -> None:
    mine = tmp_path / "data" / "own" / "pbc"  # the place book/own_data.md names
    before = _users_cohort(mine)
    generated = tmp_path / "data" / "generated" / "tiny"
    for name in cohorts.COHORTS:
        _build(name, generated)
        _build(name, generated, seed=1)  # other parameters: the generated folder is rebuilt
        _build(name, generated, force=True)
    assert _snapshot(mine) == before and not (mine / MARKER).exists()
    assert is_generated(generated / "pbc") and is_generated(generated / "synthetic")


@pytest.mark.parametrize("force", [False, True])
def test_users_folder_where_a_build_writes_is_refused_not_deleted(tmp_path, force) -> None:
    mine = tmp_path / "pbc"
    before = _users_cohort(mine)
    with pytest.raises(NotGeneratedError, match=r"pbc: not written by tmiclnet .*--cohort DIR"):
        _build("pbc", tmp_path, force=force)
    assert _snapshot(mine) == before


def test_symlinked_folder_is_refused_and_its_target_kept(tmp_path) -> None:
    target = tmp_path / "elsewhere"
    before = _users_cohort(target)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pbc").symlink_to(target, target_is_directory=True)
    with pytest.raises(NotGeneratedError, match="symbolic link"):
        _build("pbc", tmp_path / "data")
    assert (tmp_path / "data" / "pbc").is_symlink() and _snapshot(target) == before


def test_a_copy_of_a_generated_folder_is_not_taken_for_one(tiny_cohorts, tmp_path) -> None:
    built = tiny_cohorts["synthetic"]  # only read: the copy is what the test edits
    copy = tmp_path / "other" / "synthetic"
    shutil.copytree(built, copy)  # like `cp -r`: the marker travels along
    assert is_generated(built) and not is_generated(copy)
    (copy / "notes" / "syn-0001.txt").write_text("edited by the user\n")
    with pytest.raises(NotGeneratedError):
        _build("synthetic", tmp_path / "other", seed=3)
    assert (copy / "notes" / "syn-0001.txt").read_text() == "edited by the user\n"


def test_up_to_date_build_without_marker_is_adopted_only_if_untouched(
    tiny_cohorts, tmp_path
) -> None:
    built = tmp_path / "synthetic"
    shutil.copytree(tiny_cohorts["synthetic"], built)  # a build of these very parameters
    (built / MARKER).unlink()  # as built before markers existed
    assert _build("synthetic", tmp_path) == built and is_generated(built)
    (built / MARKER).unlink()
    (built / "notes" / "syn-0002.txt").write_text("changed\n")
    _build("synthetic", tmp_path)  # reused as before, but not adopted: it is not pristine
    assert not is_generated(built)
    with pytest.raises(NotGeneratedError):
        _build("synthetic", tmp_path, seed=5)
    assert (built / "notes" / "syn-0002.txt").read_text() == "changed\n"
