"""`python -m tmiclnet bench {radiomics,models,training,crossfit,calibrate}`: benchmarks, never
timed tests.

Each benchmark is a module of `tmiclnet.bench` with a `main(argv)`, reached only from here;
`calibrate` (the execution report's fixed workload) is `tmiclnet.book.calibrate`'s.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("radiomics", "models", "training", "crossfit", "calibrate")
# the execution report's timing calibration lives with the book runner that times it
MODULES = {"calibrate": "tmiclnet.book.calibrate"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHMARKS:
        print(
            "usage: python -m tmiclnet bench {" + ",".join(BENCHMARKS) + "} [options]",
            file=sys.stderr,
        )
        return 2
    module = MODULES.get(argv[0], f"tmiclnet.bench.{argv[0]}")
    return importlib.import_module(module).main(argv[1:]) or 0
