"""`python -m tmiclnet {book, data, train, evaluate, bench} ...`: one entry point, one verb each."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "book": "tmiclnet.book",
    "data": "tmiclnet.data.cli",
    "train": "tmiclnet.train.cli",
    "evaluate": "tmiclnet.evaluate.cli",
    "bench": "tmiclnet.bench",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS or argv[0] in ("-h", "--help"):
        print("usage: python -m tmiclnet {" + ",".join(COMMANDS) + "} ...", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
