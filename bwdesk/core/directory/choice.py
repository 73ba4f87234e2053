"""Which directory a profile uses: the local history file's, or with a team history the team database's (never
the sandbox's), stamped with the agent's name; and the templates an agent sees (docs/design.md §17.1, §17.3, §17.9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bwdesk.core import paths
from bwdesk.core.directory.template_book import TemplateBook, book_of
from bwdesk.core.errors import ConfigError

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.directory.store import DirectoryStore, TemplateShelf


def open_directory(context: Context) -> DirectoryStore:
    """The profile's directory (may read the file system, the keyring and the OS's user names, and starts the
    team directory's background work: call it off the GUI thread)."""
    from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore
    from bwdesk.core.team.identity import agent_name

    local = SqliteDirectoryStore.open(
        paths.history_file(context.profile), agent_name(context.settings.agent_name)
    )
    if context.is_sandbox:
        return local
    from bwdesk.core.team.config import context_team_config

    try:
        config = context_team_config(context)
    except ConfigError:
        return local
    if config is None:
        return local
    try:
        from bwdesk.core.team.config import load_from_keyring, team_password
        from bwdesk.core.team.directory import open_team_directory  # psycopg loads here
        from bwdesk.core.team.directory_cache import DirectoryCache, cache_path

        password = team_password(config.url, context.env, load_from_keyring)
        return open_team_directory(local, config, password, DirectoryCache(cache_path(context.profile)))
    except BaseException:
        local.close()
        raise


def template_book(context: Context, shelf: TemplateShelf) -> TemplateBook:
    """The templates the agent can use: IT's locked ones, then what `shelf` keeps (personal, team)."""
    return book_of([context.loaded.templates, shelf.templates()])
