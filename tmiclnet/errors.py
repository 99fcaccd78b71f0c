"""One line per CLI error: what went wrong, with a non-zero exit, and a traceback only on request.

The one entry point, `python -m tmiclnet <command>` (also under `torchrun -m tmiclnet train`), runs
each command's `main` through :func:`guarded`. A user who mistypes an option or points at a bad
folder needs the problem named, not forty lines of stack; a developer who wants
the stack passes `--debug` or sets `TMICLNET_DEBUG=1`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

DEBUG_ENV = "TMICLNET_DEBUG"


class UsageError(ValueError):
    """An option that is empty, malformed or contradicts another one."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but its errors are one line (`prog: error: message`), exit status 2."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def debug_requested(argv: Sequence[str]) -> bool:
    """True with `--debug` on the command line or TMICLNET_DEBUG set to anything but 0/empty."""
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def one_line(exc: BaseException) -> str:
    """The exception as one line: its `summary` if it has one, else the first line of its text.

    Errors the package raises on purpose (ValueError, OSError and their kin) already name the
    problem; other classes are bugs or environment failures, so their name is kept in front.
    """
    summary = getattr(exc, "summary", None)
    if not summary:
        lines = str(exc).strip().splitlines()
        summary = lines[0] if lines else ""
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in summary:
        summary = f"{exc.filename}: {exc.strerror or summary}"
    if isinstance(exc, (ValueError, OSError)):
        return summary or type(exc).__name__
    return f"{type(exc).__name__}: {summary}" if summary else type(exc).__name__


def guarded(main: Callable[[list[str]], int | None], argv: Sequence[str], prog: str) -> int:
    """Run `main(argv)` (without `--debug`); an exception becomes one line on stderr and exit 1.

    Args:
        main: the command's entry point, taking its arguments.
        argv: the command's arguments, possibly with `--debug`.
        prog: the command's name, printed before the message.
    """
    argv = list(argv)
    debug = debug_requested(argv)
    argv = [a for a in argv if a != "--debug"]
    try:
        return int(main(argv) or 0)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the point: every error ends as one line
        if debug:
            raise
        print(f"{prog}: error: {one_line(exc)} [--debug shows the traceback]", file=sys.stderr)
        return 1
