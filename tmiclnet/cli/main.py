"""`python -m tmiclnet {book, data, train, evaluate, study, bench} ...`: one verb each.

Each verb is a module of this package with a `main(argv)`; it is imported only when named, so
`python -m tmiclnet data ...` does not pay for torch. Under torchrun the same entry point trains
on several GPUs: `torchrun --nproc_per_node=N -m tmiclnet train ...`.
"""

from __future__ import annotations

import importlib
import sys

from tmiclnet.errors import guarded

COMMANDS = ("book", "data", "train", "evaluate", "study", "bench")


def main(argv: list[str] | None = None) -> int:
    """Run one verb; its errors become one line (`tmiclnet.errors.guarded`).

    Args:
        argv: the command line after `python -m tmiclnet` (default: `sys.argv[1:]`); `--debug`
            anywhere shows the traceback of an error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = ["--debug"] if "--debug" in argv else []
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m tmiclnet {{{','.join(COMMANDS)}}} ... [--debug]", file=sys.stderr)
        return 2
    module = importlib.import_module(f"tmiclnet.cli.{argv[0]}")
    return guarded(module.main, argv[1:] + debug, f"tmiclnet {argv[0]}")
