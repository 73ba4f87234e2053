"""`python -m bwdesk` is the same as the `bwdesk` command."""

import sys

from bwdesk.cli import main

sys.exit(main())
