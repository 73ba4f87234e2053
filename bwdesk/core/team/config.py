"""The team history in effect for a profile: its URL and where it came from, who and which desk, and where the
password comes from (docs/design.md §16.2, §16.3)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bwdesk.core.errors import BwdeskError
from bwdesk.core.logs import register_secret
from bwdesk.core.settings import Settings
from bwdesk.core.team.identity import agent_name, desk_id
from bwdesk.core.team.url import TeamUrl, parse_history_url

if TYPE_CHECKING:
    from bwdesk.core.account import Context

log = logging.getLogger(__name__)

PasswordLoader = Callable[[str], str | None]


@dataclass(frozen=True)
class TeamConfig:
    """Everything needed to reach the team database as this desk (no secret in it)."""

    url: TeamUrl
    source: str  # "BWDESK_HISTORY_URL", "Settings" or "system settings"
    agent: str
    desk_id: str


@dataclass(frozen=True)
class TeamPassword:
    """The password to sign in with, and where it came from; `value` None leaves it to libpq."""

    value: str | None = field(repr=False)
    source: str


def url_source(env: Mapping[str, str], locked: frozenset[str]) -> str:
    if "history_url" in locked:
        return "system settings"
    return "BWDESK_HISTORY_URL" if env.get("BWDESK_HISTORY_URL", "").strip() else "Settings"


def team_config(
    settings: Settings, env: Mapping[str, str], profile: Path, locked: frozenset[str] = frozenset()
) -> TeamConfig | None:
    """The team history in effect (`settings` with the environment applied), or None without a URL.

    Raises `ConfigError` for a URL that cannot be used, naming where it came from.
    """
    text = settings.history_url.strip()
    if not text:
        return None
    source = url_source(env, locked)
    url = parse_history_url(text, source)
    return TeamConfig(url, source, agent_name(settings.agent_name), desk_id(profile))


def context_team_config(context: Context) -> TeamConfig | None:
    """`team_config` for a command's context (its settings, environment, locks and profile)."""
    return team_config(context.settings, context.env, context.profile, context.loaded.locked)


def team_password(url: TeamUrl, env: Mapping[str, str], load: PasswordLoader | None) -> TeamPassword:
    """The password for `url`: `PGPASSWORD`, else the keyring, else libpq's own files (value None)."""
    from_env = env.get("PGPASSWORD", "")
    if from_env:
        register_secret(from_env)
        return TeamPassword(from_env, "PGPASSWORD")
    if load is not None:
        try:
            saved = load(url.keyring_key)
        except BwdeskError as exc:  # a locked keyring: libpq's own files may still have it
            log.warning("team history: the keyring could not be read (%s); trying libpq's own files", exc)
            return TeamPassword(
                None, f"libpq (.pgpass or a service file); the keyring could not be read: {exc}"
            )
        if saved:
            register_secret(saved)
            return TeamPassword(saved, "the keyring")
    return TeamPassword(None, "libpq (.pgpass or a service file), if it has one")


def load_from_keyring(key: str) -> str | None:
    """The saved password (the keyring loads on first use, on the thread that needs it)."""
    from bwdesk.core import secrets

    return secrets.default_store().load_team_password(key)


__all__ = [
    "TeamConfig",
    "TeamPassword",
    "context_team_config",
    "load_from_keyring",
    "team_config",
    "team_password",
    "url_source",
]
