"""`python -m latentlab`: same as the `latentlab` command."""

import sys

from latentlab.cli import main

if __name__ == "__main__":  # spawned training processes import the main module
    sys.exit(main())
