"""`python -m tmiclnet bench {radiomics,models,training}`: benchmarks, never timed tests.

Each benchmark lives beside the code it measures and is reached from here.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "radiomics": "tmiclnet.radiomics.bench",
    "models": "tmiclnet.models.bench",
    "training": "tmiclnet.train.bench",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHMARKS:
        print(
            "usage: python -m tmiclnet bench {" + ",".join(BENCHMARKS) + "} [options]",
            file=sys.stderr,
        )
        return 2
    return importlib.import_module(BENCHMARKS[argv[0]]).main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
