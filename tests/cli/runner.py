"""Run `python -m tmiclnet ARGV` in this process and read what a user would see (issue 12)."""

from __future__ import annotations

import sys

from tmiclnet.__main__ import main


def run_both(argv: list[str], capsys) -> tuple[int, str, list[str]]:
    """Exit status, stdout and stderr lines of `python -m tmiclnet ARGV`, run in this process."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse and explicit exits
        code = exc.code if isinstance(exc.code, int) else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    captured = capsys.readouterr()
    return code, captured.out, [line for line in captured.err.splitlines() if line.strip()]


def run(argv: list[str], capsys) -> tuple[int, list[str]]:
    """Exit status and stderr lines of `python -m tmiclnet ARGV`, run in this process."""
    code, _, err = run_both(argv, capsys)
    return code, err


def one_line_error(argv: list[str], capsys, *expect: str) -> str:
    """The one stderr line of a command that must fail, after checking it names `expect`."""
    code, err = run(argv, capsys)
    assert code != 0, argv
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    for part in expect:
        assert part in err[0], (part, err[0])
    return err[0]
