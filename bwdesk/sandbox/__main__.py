"""`python -m bwdesk.sandbox` runs the sandbox in the foreground (the same as `bwdesk sandbox`)."""

import sys

from bwdesk.sandbox.runner import main

sys.exit(main())
