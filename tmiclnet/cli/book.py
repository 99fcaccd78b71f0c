"""`python -m tmiclnet book {run,build,check,links} ...`: the runner and the built site's checks.

`run` and `build` execute the notebooks and render the book (`tmiclnet.book.runner`); `check
SITE` reads every built page for tracebacks, paths and other leaks (`tmiclnet.book.check`);
`links SITE` resolves every internal link and anchor (`tmiclnet.book.links`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tmiclnet.book import check, links, runner
from tmiclnet.book.runner import NotebookFailed, build, run
from tmiclnet.cli.options import profile_names
from tmiclnet.errors import OneLineParser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "check":
        return check.main(argv[1:])
    if argv and argv[0] == "links":
        return links.main(argv[1:])
    parser = OneLineParser(
        prog="python -m tmiclnet book",
        description=runner.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["run", "build", "check", "links"])
    parser.add_argument("--profile", default="cpu", choices=profile_names(), help="default: cpu")
    parser.add_argument("--only", nargs="+", help="notebook names to run (run only)")
    parser.add_argument("--force", action="store_true", help="re-run even unchanged notebooks")
    parser.add_argument("--output", type=Path, help="where _build/html goes (build only)")
    args = parser.parse_args(argv)
    if args.action == "build" and args.only:
        parser.error("--only applies to `book run`; `book build` renders every notebook")
    if args.action == "run" and args.output:
        parser.error("--output applies to `book build`, not `book run`")
    try:
        if args.action == "run":
            run(args.profile, only=args.only, force=args.force)
        else:
            build(args.profile, output=args.output, force=args.force)
    except NotebookFailed as err:
        print(f"\nFAILED: {err}", file=sys.stderr)
        return 1
    return 0
