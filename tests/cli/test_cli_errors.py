"""Every CLI error is one line with a non-zero exit; a traceback only with --debug (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tmiclnet.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _run(argv: list[str], capsys) -> tuple[int, list[str]]:
    """Exit status and stderr lines of `python -m tmiclnet ARGV`, run in this process."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse and explicit exits
        code = exc.code if isinstance(exc.code, int) else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


def _one_line_error(argv: list[str], capsys, *expect: str) -> str:
    code, err = _run(argv, capsys)
    assert code != 0, argv
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    for part in expect:
        assert part in err[0], (part, err[0])
    return err[0]


@pytest.fixture()
def cohort_dir(tmp_path) -> Path:
    (tmp_path / "mine").mkdir()
    return tmp_path / "mine"


def test_train_refuses_empty_and_malformed_options(cohort_dir, capsys) -> None:
    base = ["train", "--cohort", str(cohort_dir), "--profile", "quick"]
    _one_line_error([*base, "--model", ""], capsys, "--model ''", "no model named")
    _one_line_error([*base, "--model", " , "], capsys, "no model named")
    _one_line_error([*base, "--model", "nosuch"], capsys, "unknown model(s) ['nosuch']")
    _one_line_error([*base, "--model", "ct_only", "--folds", "abc"], capsys, "--folds 'abc'")
    _one_line_error([*base, "--model", "ct_only", "--folds", "0,7"], capsys, "folds 0..1")
    _one_line_error([*base, "--model", "ct_only", "--device", "nosuch"], capsys, "--device")
    _one_line_error(
        ["train", "--cohort", str(cohort_dir), "--model", "ct_only", "--profile", "nosuch"],
        capsys,
        "invalid choice: 'nosuch'",
    )


def test_train_on_a_missing_or_empty_cohort_is_one_line(cohort_dir, capsys) -> None:
    args = ["--model", "ct_only", "--profile", "quick"]
    _one_line_error(["train", "--cohort", str(cohort_dir / "x"), *args], capsys, "no such folder")
    line = _one_line_error(["train", "--cohort", str(cohort_dir), *args], capsys)
    assert "problem(s)" in line and "labels.csv" in line and "data validate" in line


def test_evaluate_refuses_unknown_profile_and_missing_results(cohort_dir, capsys) -> None:
    _one_line_error(
        ["evaluate", "--cohort", str(cohort_dir), "--profile", "nosuch"], capsys, "'nosuch'"
    )
    _one_line_error(["evaluate", "--cohort", str(cohort_dir / "x")], capsys, "no such folder")


def test_book_refuses_empty_and_contradictory_options(capsys) -> None:
    _one_line_error(["book", "run", "--only"], capsys, "--only", "expected at least one")
    _one_line_error(["book", "build", "--only", "01_cohort"], capsys, "applies to `book run`")
    _one_line_error(["book", "run", "--output", "x"], capsys, "--output applies")
    _one_line_error(["book", "run", "--profile", "nosuch"], capsys, "invalid choice")
    _one_line_error(["book", "run", "--only", "nosuch"], capsys, "not in _toc.yml")


def test_data_refuses_bad_options(capsys, tmp_path) -> None:
    _one_line_error(["data", "build", "--profile", "nosuch"], capsys, "invalid choice")
    _one_line_error(["data", "build", "--strength", "ct=x"], capsys, "'x' is not a number")
    _one_line_error(["data", "validate"], capsys, "name one cohort folder")
    code, err = _run(["data", "validate", "--cohort", str(tmp_path / "nope")], capsys)
    assert code == 1


def test_build_over_a_users_folder_is_one_line(tmp_path, capsys) -> None:
    mine = tmp_path / "synthetic"
    mine.mkdir()
    (mine / "labels.csv").write_text("id,label\n")
    line = _one_line_error(
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
