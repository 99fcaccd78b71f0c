"""Every CLI error is one line with a non-zero exit; a traceback only with --debug (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.runner import one_line_error, run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def cohort_dir(tmp_path) -> Path:
    (tmp_path / "mine").mkdir()
    return tmp_path / "mine"


def test_train_refuses_empty_and_malformed_options(cohort_dir, capsys) -> None:
    base = ["train", "--cohort", str(cohort_dir), "--profile", "quick"]
    one_line_error([*base, "--model", ""], capsys, "--model ''", "no model named")
    one_line_error([*base, "--model", " , "], capsys, "no model named")
    one_line_error([*base, "--model", "nosuch"], capsys, "unknown model(s) ['nosuch']")
    one_line_error([*base, "--model", "ct_only", "--folds", "abc"], capsys, "--folds 'abc'")
    one_line_error([*base, "--model", "ct_only", "--folds", "0,7"], capsys, "folds 0..1")
    one_line_error([*base, "--model", "ct_only", "--device", "nosuch"], capsys, "--device")
    one_line_error(
        ["train", "--cohort", str(cohort_dir), "--model", "ct_only", "--profile", "nosuch"],
        capsys,
        "invalid choice: 'nosuch'",
    )


def test_train_on_a_missing_or_empty_cohort_is_one_line(cohort_dir, capsys) -> None:
    args = ["--model", "ct_only", "--profile", "quick"]
    one_line_error(["train", "--cohort", str(cohort_dir / "x"), *args], capsys, "no such folder")
    line = one_line_error(["train", "--cohort", str(cohort_dir), *args], capsys)
    assert "problem(s)" in line and "labels.csv" in line and "data validate" in line


def test_evaluate_refuses_unknown_profile_and_missing_results(cohort_dir, capsys) -> None:
    one_line_error(
        ["evaluate", "--cohort", str(cohort_dir), "--profile", "nosuch"], capsys, "'nosuch'"
    )
    one_line_error(["evaluate", "--cohort", str(cohort_dir / "x")], capsys, "no such folder")


def test_book_refuses_empty_and_contradictory_options(capsys) -> None:
    one_line_error(["book", "run", "--only"], capsys, "--only", "expected at least one")
    one_line_error(["book", "build", "--only", "01_cohort"], capsys, "applies to `book run`")
    one_line_error(["book", "run", "--output", "x"], capsys, "--output applies")
    one_line_error(["book", "run", "--profile", "nosuch"], capsys, "invalid choice")
    one_line_error(["book", "run", "--only", "nosuch"], capsys, "not in _toc.yml")


def test_data_refuses_bad_options(capsys, tmp_path) -> None:
    one_line_error(["data", "build", "--profile", "nosuch"], capsys, "invalid choice")
    one_line_error(["data", "build", "--strength", "ct=x"], capsys, "'x' is not a number")
    one_line_error(["data", "validate"], capsys, "name one cohort folder")
    code, err = run(["data", "validate", "--cohort", str(tmp_path / "nope")], capsys)
    assert code == 1


def test_build_over_a_users_folder_is_one_line(tmp_path, capsys) -> None:
    mine = tmp_path / "synthetic"
    mine.mkdir()
    (mine / "labels.csv").write_text("id,label\n")
    line = one_line_error(
        [
            "data",
            "build",
            "--profile",
            "quick",
            "--cohort",
            "synthetic",
            "--data-dir",
            str(tmp_path),
        ],
        capsys,
        "not written by tmiclnet",
        str(mine),
    )
    assert "--cohort DIR" in line and (mine / "labels.csv").exists()


def _subprocess(argv: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tmiclnet", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def test_traceback_only_on_request(tmp_path) -> None:
    argv = ["evaluate", "--cohort", str(tmp_path)]  # an empty folder: not a cohort
    plain = _subprocess(argv)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert len(plain.stderr.strip().splitlines()) == 1
    assert "Traceback" in _subprocess([*argv, "--debug"]).stderr
    assert "Traceback" in _subprocess(argv, TMICLNET_DEBUG="1").stderr


def test_evaluate_survival_refuses_a_cohort_without_follow_up(tiny_cohort, capsys) -> None:
    """A user's cohort (here a tiny valid one) has a binary label only: --survival says so in
    one line before evaluating anything."""
    folder = tiny_cohort()
    one_line_error(
        ["evaluate", "--cohort", str(folder), "--profile", "quick", "--survival"],
        capsys,
        "--survival",
        "no follow-up times",
    )
