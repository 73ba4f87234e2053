"""The PySide6 user interface. Widgets ask `bwdesk.core` for every rule; network and SQL run off the GUI thread."""
