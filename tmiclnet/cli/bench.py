"""`python -m tmiclnet bench {radiomics,models,training,crossfit}`: benchmarks, never timed tests.

Each benchmark is a module of `tmiclnet.bench` with a `main(argv)`, reached only from here.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("radiomics", "models", "training", "crossfit")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHMARKS:
        print(
            "usage: python -m tmiclnet bench {" + ",".join(BENCHMARKS) + "} [options]",
            file=sys.stderr,
        )
        return 2
    return importlib.import_module(f"tmiclnet.bench.{argv[0]}").main(argv[1:]) or 0
