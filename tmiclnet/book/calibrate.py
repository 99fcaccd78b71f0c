"""A fixed CPU workload timed at the start of each `book run`: page times compare across machines.

A wall time on the execution report says little on its own: 90 s on a laptop and 90 s on a
server mean different things. Beside it the report shows how long this machine takes for one
fixed piece of work, the same everywhere: a seeded 512 x 512 float32 matrix product, repeated,
on one thread, best of three tries (the least disturbed by whatever else runs). A reader times
the same workload on their machine (`python -m tmiclnet bench calibrate`) and scales the page
times by the ratio. One thread, because the thread count is what differs most between machines
and the ratio should describe a core, not the machine's parallelism; the report says so.
"""

from __future__ import annotations

import argparse
import json
import time

SIZE = 512  # the matrices' side: 2 * 512**3 = 0.27 GFLOP per product
REPEATS = 300  # about 1 s per try on the 2-core machine the book is built on
TRIES = 3


def calibrate(size: int = SIZE, repeats: int = REPEATS, tries: int = TRIES) -> dict:
    """Time `repeats` products of two fixed `size` x `size` float32 matrices on one thread.

    torch's thread count is set to 1 for the timing and restored afterwards, even on error;
    the global random state is left untouched (the matrices come from their own generator).

    Args:
        size: the matrices' side.
        repeats: products per try; the workload is fixed, so its time compares across machines.
        tries: timed tries; the fastest one is reported.

    Returns:
        `workload` (one line saying what ran), `size`, `repeats`, `tries`, `seconds` (the
        fastest try), `tries_s` (every try), `gflops` (GFLOP/s of the fastest try) and `torch`
        (its version: the matrix product's speed depends on the BLAS it ships).
    """
    import torch

    gen = torch.Generator().manual_seed(0)
    a = torch.rand(size, size, generator=gen)
    b = torch.rand(size, size, generator=gen)
    out = torch.empty(size, size)
    threads = torch.get_num_threads()
    times: list[float] = []
    try:
        torch.set_num_threads(1)
        torch.mm(a, b, out=out)  # warm-up: first-call allocation and dispatch are not the CPU
        for _ in range(tries):
            start = time.perf_counter()
            for _ in range(repeats):
                torch.mm(a, b, out=out)
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    best = max(min(times), 1e-9)  # a clock that did not tick must not divide by zero
    gflops = 2 * size**3 * repeats / best / 1e9
    return {
        "workload": (
            f"{size} x {size} float32 matrix product x {repeats}, 1 thread, best of {tries}"
        ),
        "size": size,
        "repeats": repeats,
        "tries": tries,
        "seconds": _sig(best),
        "tries_s": [_sig(t) for t in times],
        "gflops": _sig(gflops),
        "torch": torch.__version__,
    }


def _sig(x: float) -> float:
    """Four significant digits: plenty for a timing; a tiny test workload does not round to 0."""
    return float(f"{x:.4g}")


def describe(result: dict) -> str:
    """One line for a terminal: `1.02 s (79.3 GFLOP/s): 512 x 512 float32 ...`.

    Args:
        result: what `calibrate` returned.
    """
    return f"{result['seconds']:.2f} s ({result['gflops']:.1f} GFLOP/s): {result['workload']}"


def main(argv: list[str] | None = None) -> int:
    """`python -m tmiclnet bench calibrate [--json]`: time the report's workload on this machine.

    Args:
        argv: command-line arguments after `calibrate`.
    """
    parser = argparse.ArgumentParser(
        prog="python -m tmiclnet bench calibrate",
        description="Time the execution report's fixed workload; compare with the report's.",
    )
    parser.add_argument("--json", action="store_true", help="print the whole record as JSON")
    args = parser.parse_args(argv)
    result = calibrate()
    print(json.dumps(result, indent=1) if args.json else describe(result))
    return 0
