"""The effective account (saved settings, overridden by the environment, plus the credentials) and `Context`, what a
command works with: the profile, the settings and, on demand, the account, a client, the history (docs/design.md
§4.9)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bwdesk.core import paths, phone
from bwdesk.core.api import Timeouts, check_api_url
from bwdesk.core.credentials import AuthKind, Credentials
from bwdesk.core.errors import ConfigError
from bwdesk.core.phone import is_known_region
from bwdesk.core.settings import FromNumber, LoadedSettings, Settings, load_settings

if TYPE_CHECKING:
    from bwdesk.core.bandwidth import BandwidthClient
    from bwdesk.core.history.store import HistoryStore

log = logging.getLogger(__name__)

SecretLoader = Callable[[str], Credentials | None]
#: Whether a system keyring is usable here: it decides how a missing saved secret is explained.
KeyringCheck = Callable[[], bool]


@dataclass(frozen=True)
class Account:
    """Everything needed to send for one Bandwidth account (the credentials' repr hides the secret)."""

    api_base: str
    token_url: str
    account_id: str
    application_id: str
    credentials: Credentials
    from_numbers: tuple[FromNumber, ...]
    default_from: str
    region: str
    timeouts: Timeouts
    sandbox: bool = False
    #: The environment variables the credentials came from ("" when they came from the keyring): a refused
    #: password is corrected there, since Settings cannot override them.
    credentials_from: str = ""

    def client(self) -> BandwidthClient:
        from bwdesk.core.bandwidth import BandwidthClient  # the HTTP stack loads with the first client

        return BandwidthClient(
            self.api_base, self.account_id, self.credentials, token_url=self.token_url, timeouts=self.timeouts
        )


# Which environment variable sets which setting (docs/design.md §4.8); credentials are not settings.
ENVIRONMENT = {
    "BW_ACCOUNT_ID": "account_id",
    "BW_MESSAGING_APPLICATION_ID": "application_id",
    "BWDESK_API_BASE": "api_base",
    "BWDESK_OAUTH_TOKEN_URL": "token_url",
    "BWDESK_REGION": "region",
    "BW_NUMBER": "default_from",
    "BWDESK_HISTORY_URL": "history_url",
    "BWDESK_AGENT": "agent_name",
}


def apply_environment(
    settings: Settings, env: Mapping[str, str], locked: frozenset[str] = frozenset()
) -> Settings:
    """The non-secret settings with the environment's overrides applied.

    Keys the administrator locked in the system-wide file win over the environment too: a lock that any
    variable could lift would not be one. `ignored_variables` says which variables were ignored.
    """

    def get(name: str) -> str:
        value = env.get(name, "").strip()
        return "" if ENVIRONMENT.get(name) in locked else value

    changes: dict[str, object] = {}
    if get("BW_ACCOUNT_ID"):
        changes["account_id"] = get("BW_ACCOUNT_ID")
    if get("BW_MESSAGING_APPLICATION_ID"):
        changes["application_id"] = get("BW_MESSAGING_APPLICATION_ID")
    if get("BWDESK_API_BASE"):
        changes["api_base"] = get("BWDESK_API_BASE").rstrip("/")
    if get("BWDESK_OAUTH_TOKEN_URL"):
        changes["token_url"] = get("BWDESK_OAUTH_TOKEN_URL")
    if get("BWDESK_REGION"):
        region = get("BWDESK_REGION").upper()
        if not is_known_region(region):
            raise ConfigError(
                f"BWDESK_REGION {region!r} is not a region code; use a two-letter code such as US, GB or DE."
            )
        changes["region"] = region
    if get("BWDESK_HISTORY_URL"):
        changes["history_url"] = get("BWDESK_HISTORY_URL")  # checked where it is used (core.team.config)
    if get("BWDESK_AGENT"):
        changes["agent_name"] = " ".join(get("BWDESK_AGENT").split())
    if get("BW_NUMBER"):
        number = get("BW_NUMBER")
        listed = any(f.number == number for f in settings.from_numbers)
        if listed or "from_numbers" not in locked:
            changes["default_from"] = number
            if not listed:
                changes["from_numbers"] = (FromNumber(number, "from BW_NUMBER"), *settings.from_numbers)
    kind = _environment_auth_kind(env)
    if kind is not None and "auth_kind" not in locked:
        changes["auth_kind"] = kind
    if (
        kind is AuthKind.OAUTH2
        and "client_id" not in locked
        and changes.get("auth_kind", settings.auth_kind) is kind
    ):
        changes["client_id"] = env.get("BW_CLIENT_ID", "").strip()
    elif (
        kind is AuthKind.BASIC
        and "username" not in locked
        and changes.get("auth_kind", settings.auth_kind) is kind
    ):
        changes["username"] = env.get("BW_USERNAME", "").strip()
    return replace(settings, **changes) if changes else settings  # type: ignore[arg-type]


def _environment_auth_kind(env: Mapping[str, str]) -> AuthKind | None:
    if env.get("BW_CLIENT_ID", "").strip() or env.get("BW_CLIENT_SECRET", "").strip():
        return AuthKind.OAUTH2
    if env.get("BW_USERNAME", "").strip() or env.get("BW_PASSWORD", "").strip():
        return AuthKind.BASIC
    return None


def ignored_variables(
    env: Mapping[str, str], locked: frozenset[str], settings: Settings | None = None
) -> list[str]:
    """Environment variables set but not used because the administrator locked what they would change."""
    ignored = [name for name, key in ENVIRONMENT.items() if env.get(name, "").strip() and key in locked]
    number = env.get("BW_NUMBER", "").strip()
    if (
        number
        and "BW_NUMBER" not in ignored
        and "from_numbers" in locked
        and settings is not None
        and all(f.number != number for f in settings.from_numbers)
    ):
        ignored.append("BW_NUMBER")
    kind = _environment_auth_kind(env)
    if kind is not None and "auth_kind" in locked and settings is not None and kind is not settings.auth_kind:
        ignored.extend(n for n in _CREDENTIAL_VARIABLES[kind] if env.get(n, "").strip())
    return ignored


_CREDENTIAL_VARIABLES = {
    AuthKind.BASIC: ("BW_USERNAME", "BW_PASSWORD"),
    AuthKind.OAUTH2: ("BW_CLIENT_ID", "BW_CLIENT_SECRET"),
}


def is_configured(settings: Settings) -> bool:
    """True when an account is configured at all (the window then opens the composer, not the settings)."""
    return bool(settings.account_id and settings.application_id)


def resolve_account(
    settings: Settings,
    env: Mapping[str, str],
    load_secret: SecretLoader | None,
    *,
    locked: frozenset[str] = frozenset(),
    for_sending: bool = True,
    keyring_available: KeyringCheck | None = None,
) -> Account:
    """The account, or a ConfigError that lists everything missing and where to set it.

    Looking up statuses needs no application ID (`for_sending=False`); sending does. The URLs are checked
    here so that a bad one is reported with where it came from. `keyring_available` (asked only when the
    saved secret is missing) lets the message say why it is missing.
    """
    from bwdesk.core.secrets import credentials_from_env  # keyring loads only when credentials are needed

    effective = apply_environment(settings, env, locked)
    for key, variable, label in (
        ("api_base", "BWDESK_API_BASE", "API base URL"),
        ("token_url", "BWDESK_OAUTH_TOKEN_URL", "OAuth2 token URL"),
    ):
        source = variable if env.get(variable, "").strip() and key not in locked else "Settings"
        try:
            check_api_url(getattr(effective, key), f"{label} ({source})")
        except ConfigError as exc:
            raise ConfigError(str(exc), setting=key) from None
    missing: list[str] = []
    settings_to_fix: list[str] = []  # the settings field of each, to open the settings at the first
    if not effective.account_id:
        missing.append("the account ID (Settings → Account ID, or BW_ACCOUNT_ID)")
        settings_to_fix.append("account_id")
    if for_sending and not effective.application_id:
        missing.append("the application ID (Settings → Application ID, or BW_MESSAGING_APPLICATION_ID)")
        settings_to_fix.append("application_id")
    credentials = credentials_from_env(env, prefer=effective.auth_kind)
    if credentials is not None and "auth_kind" in locked and credentials.kind is not effective.auth_kind:
        credentials = None  # the administrator fixed the kind of sign-in; the other kind is ignored
    credentials_from = ""
    if credentials is not None:
        oauth_env = credentials.kind is AuthKind.OAUTH2
        credentials_from = "BW_CLIENT_ID and BW_CLIENT_SECRET" if oauth_env else "BW_USERNAME and BW_PASSWORD"
    if credentials is None and effective.account_id and load_secret is not None:
        credentials = load_secret(effective.account_id)
    if credentials is None:
        oauth = effective.auth_kind is AuthKind.OAUTH2
        identity = effective.client_id if oauth else effective.username
        settings_to_fix.append(
            ("client_secret" if identity else "client_id")
            if oauth
            else ("password" if identity else "username")
        )
        secret_problem = _missing_secret(effective, keyring_available) if load_secret is not None else ""
        if secret_problem and not missing:
            raise ConfigError(secret_problem, setting=settings_to_fix[0])
        if oauth and identity:
            missing.append(
                f"the client secret of OAuth2 client “{effective.client_id}” (Settings, or BW_CLIENT_SECRET)"
            )
        elif oauth:
            missing.append("the OAuth2 client ID and secret (Settings, or BW_CLIENT_ID and BW_CLIENT_SECRET)")
        elif identity:
            missing.append(f"the password of API user “{effective.username}” (Settings, or BW_PASSWORD)")
        else:
            missing.append("the API username and password (Settings, or BW_USERNAME and BW_PASSWORD)")
    if missing:
        raise ConfigError(
            "bwdesk is not set up to send yet: missing " + "; ".join(missing) + ".",
            setting=settings_to_fix[0],
        )
    assert credentials is not None
    return Account(
        api_base=effective.api_base,
        token_url=effective.token_url,
        account_id=effective.account_id,
        application_id=effective.application_id,
        credentials=credentials,
        from_numbers=effective.from_numbers,
        default_from=effective.default_from
        or (effective.from_numbers[0].number if effective.from_numbers else ""),
        region=effective.region,
        timeouts=effective.timeouts,
        credentials_from=credentials_from,
    )


def _missing_secret(settings: Settings, keyring_available: KeyringCheck | None) -> str:
    """When the username (client ID) is saved but its secret is not to be found: which, why, what to do.

    Empty when the identity is not saved either (the caller then asks for both). Without a keyring the
    secret can only have been kept for the session it was entered in, which a restart ends: say that,
    rather than "missing", which reads as if the saved username were lost too.
    """
    if settings.auth_kind is AuthKind.OAUTH2:
        identity, secret, field, variable = (
            "OAuth2 client",
            "client secret",
            "Client secret",
            "BW_CLIENT_SECRET",
        )
        ident = settings.client_id
    else:
        identity, secret, field, variable = "API user", "password", "Password", "BW_PASSWORD"
        ident = settings.username
    if not ident:
        return ""
    where = f"Settings → {field}, or set {variable}"
    available: bool | None = None
    if keyring_available is not None:
        try:
            available = keyring_available()
        except Exception:  # the question only chooses the wording; a keyring problem must not hide the answer
            log.info("could not ask whether a keyring is available", exc_info=True)
    if available is False:
        return (
            f"Enter the {secret} of {identity} “{ident}” again ({where}): this computer has no keyring, so "
            f"a {secret} is saved for this session only and forgotten when bwdesk quits."
        )
    if available:
        return f"Enter the {secret} of {identity} “{ident}” ({where}): it is not saved in your keyring."
    return f"Enter the {secret} of {identity} “{ident}” ({where}): it is not saved on this computer."


class Context:
    """One command's view of the profile: settings, and on demand the account, a client, the history.

    A `fixed_account` (the sandbox's demo account) is used as it is: no environment, no keyring.
    """

    def __init__(
        self,
        profile: Path,
        loaded: LoadedSettings,
        env: Mapping[str, str],
        load_secret: SecretLoader | None,
        *,
        fixed_account: Account | None = None,
        keyring_available: KeyringCheck | None = None,
    ) -> None:
        self.profile = profile
        self.loaded = loaded
        self.env = dict(env)
        self._load_secret = load_secret
        self._keyring_available = keyring_available
        self._account = fixed_account
        #: Why the last `history()` could not use the team history, in words ('' when it could or none is set).
        self.history_notice = ""

    @property
    def settings(self) -> Settings:
        """The effective non-secret settings (saved settings with the environment applied)."""
        if self._account is not None and self._account.sandbox:
            return self.loaded.settings
        return apply_environment(self.loaded.settings, self.env, self.loaded.locked)

    def ignored_variables(self) -> list[str]:
        return (
            [] if self.is_sandbox else ignored_variables(self.env, self.loaded.locked, self.loaded.settings)
        )

    @property
    def is_sandbox(self) -> bool:
        return self._account is not None and self._account.sandbox

    def is_configured(self) -> bool:
        return self._account is not None or is_configured(self.settings)

    def account(self, *, for_sending: bool = True) -> Account:
        """The account (may read the keyring, which can block: call it off the GUI thread)."""
        if self._account is not None:
            return self._account
        account = resolve_account(
            self.loaded.settings,
            self.env,
            self._load_secret,
            locked=self.loaded.locked,
            for_sending=for_sending,
            keyring_available=self._keyring_available,
        )
        if for_sending:
            self._account = account
        return account

    def forget_account(self) -> None:
        """Drop the cached account (after the settings or the credentials changed)."""
        if self._account is not None and not self._account.sandbox:
            self._account = None

    def reload_settings(self) -> None:
        self.loaded = load_settings(self.profile)
        self.forget_account()

    def client(self, *, for_sending: bool = True) -> BandwidthClient:
        return self.account(for_sending=for_sending).client()

    def history(self) -> HistoryStore:
        """Open the history, turn sends interrupted by a dead process into `unknown`, apply retention.

        With a team history URL set up (docs/design.md §16.11), the team store over this desk's journal; it
        reaches the team database in the background and never stops anything when that fails. A URL that
        cannot be used leaves the local history alone, and `history_notice` says why (the window's banner,
        a warning on standard error). Never for the sandbox: its messages stay in its own profile.
        """
        from bwdesk.core.history.sqlite_store import SqliteHistoryStore  # sqlite3 loads off the GUI thread

        self.history_notice = ""
        store = SqliteHistoryStore.open(paths.history_file(self.profile))
        store.recover_interrupted()
        retention = self.settings.retention_days
        if retention:
            store.apply_retention(retention)
        if self.is_sandbox:
            return store
        from bwdesk.core.team.config import context_team_config

        try:
            config = context_team_config(self)
        except ConfigError as exc:
            self.history_notice = f"{exc} Until then the history shows this computer's messages only."
            return store
        if config is None:
            return store
        from bwdesk.core.team.config import load_from_keyring, team_password
        from bwdesk.core.team.store import open_team_store  # psycopg loads here, off the GUI thread

        try:
            password = team_password(config.url, self.env, load_from_keyring)
            return open_team_store(store, config, password)
        except BaseException:
            store.close()
            raise


def _load_from_keyring(account_id: str) -> Credentials | None:
    """The saved credentials; the keyring module loads on first use, on the worker thread that needs it."""
    from bwdesk.core import secrets

    return secrets.load(account_id)


def _keyring_is_available() -> bool:
    from bwdesk.core import secrets

    return secrets.status().available


def load_context(
    *, err: IO[str] | None = None, profile: Path | None = None, env: Mapping[str, str] | None = None
) -> Context:
    """The context for the user's profile; settings warnings are printed to `err` when given."""
    profile = profile if profile is not None else paths.profile_dir()
    phone.use_remembered(
        paths.startup_numbers_file(profile)
    )  # the settings' numbers, judged at the last start
    loaded = load_settings(profile)
    if err is not None:
        for warning in loaded.warnings:
            print(f"bwdesk: warning: {warning}", file=err)
    environment = os.environ if env is None else env
    context = Context(
        profile, loaded, environment, _load_from_keyring, keyring_available=_keyring_is_available
    )
    if err is not None:
        for name in context.ignored_variables():
            print(
                f"bwdesk: warning: {name} is ignored: your administrator has locked that setting.", file=err
            )
    return context
