"""`torchrun --nproc_per_node=N -m tmiclnet.train --model NAME --cohort DIR --profile P`."""

import sys

from tmiclnet.cli_errors import guarded
from tmiclnet.train.cli import main

if __name__ == "__main__":
    sys.exit(guarded(main, sys.argv[1:], "tmiclnet.train"))
