"""The PySide6 user interface. Widgets ask `bwdesk.core` for every rule; network and SQL run off the GUI thread.
The Qt-free core the window needs loads here, before PySide6, whose import hook reads the source of every module
imported after it (docs/design.md §3.1)."""

from bwdesk.core import account, drafts, logs, sending, status_words  # noqa: F401
from bwdesk.core.history import search  # noqa: F401
from bwdesk.core.team import state  # noqa: F401
