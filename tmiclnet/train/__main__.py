"""`torchrun --nproc_per_node=N -m tmiclnet.train --model NAME --cohort DIR --profile P`."""

import sys

from tmiclnet.train.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
