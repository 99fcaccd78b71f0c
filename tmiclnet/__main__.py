"""`python -m tmiclnet <command>`: the package's one entry point (`tmiclnet.cli.main`)."""

import sys

from tmiclnet.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
