"""What the frozen executable runs: the same entry point as the `bwdesk` command."""

import sys

from bwdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
