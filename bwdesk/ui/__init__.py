"""The PySide6 user interface. Widgets ask `bwdesk.core` for every rule; network and SQL run off the GUI thread.
The Qt-free core the first frame needs loads here, before PySide6, whose import hook reads the source of every module
imported after it (docs/design.md §3.1)."""

from bwdesk.core import account, drafts, logs, status_words  # noqa: F401
