"""Which directory a profile uses (today the local history file, stamped with the agent's name), and the templates an
agent sees: IT's, then the store's (docs/design.md §17.1, §17.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bwdesk.core import paths
from bwdesk.core.directory.template_book import TemplateBook, book_of

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.directory.store import DirectoryStore, TemplateShelf


def open_directory(context: Context) -> DirectoryStore:
    """The profile's directory (may read the file system and the OS's user names: call it off the GUI thread)."""
    from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
    from bwdesk.core.team.identity import agent_name

    return SqliteDirectoryStore.open(
        paths.history_file(context.profile), agent_name(context.settings.agent_name)
    )


def template_book(context: Context, shelf: TemplateShelf) -> TemplateBook:
    """The templates the agent can use: IT's locked ones, then what `shelf` keeps (personal, team)."""
    return book_of([context.loaded.templates, shelf.templates()])
