"""``python -m dd_core <command>``: the command-line face of the engine (see ``--help``)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
