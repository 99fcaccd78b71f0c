"""`python -m tmiclnet data ...`: fetch and verify the sources the cohort is built from."""

from __future__ import annotations

import argparse

from tmiclnet.config import project_root
from tmiclnet.data.template import fetch_template
from tmiclnet.provenance import verify

PBC_SHA256 = "26f2738addc7932cad62b21498f013578f1541d700b01634cb5f4840cb9bc2b9"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tmiclnet data")
    parser.add_argument("action", choices=["build"])
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args(argv)
    print(f"PBC table   {verify(project_root() / 'data' / 'pbc.csv', PBC_SHA256)}  sha256 ok")
    print(f"CT template {fetch_template()}  sha256 ok")
    return 0
