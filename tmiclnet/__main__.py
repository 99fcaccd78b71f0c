"""`python -m tmiclnet {book, data, train, evaluate, study, bench} ...`: one verb each."""

from __future__ import annotations

import importlib
import sys

from tmiclnet.cli_errors import guarded

COMMANDS = {
    "book": "tmiclnet.book",
    "data": "tmiclnet.data.cli",
    "train": "tmiclnet.train.cli",
    "evaluate": "tmiclnet.evaluate.cli",
    "study": "tmiclnet.study.cli",
    "bench": "tmiclnet.bench",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = ["--debug"] if "--debug" in argv else []
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] not in COMMANDS:
        print(
            "usage: python -m tmiclnet {" + ",".join(COMMANDS) + "} ... [--debug]", file=sys.stderr
        )
        return 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return guarded(module.main, argv[1:] + debug, f"tmiclnet {argv[0]}")


if __name__ == "__main__":
    sys.exit(main())
