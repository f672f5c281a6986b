"""``python -m backend <command>``: the command-line face of every backend capability."""

import sys

from backend.cli import main

if __name__ == "__main__":
    sys.exit(main())
