"""`python -m latentlab`: same as the `latentlab` command."""

import sys

from latentlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
