"""Which directory a profile uses, and the templates an agent sees.

Today: the local history file, stamped with the agent's display name. When the team store is built, a
configured team history (`history_url`) will give the team database's directory here instead (§16, §17).
"""

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
