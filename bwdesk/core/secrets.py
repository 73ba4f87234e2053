"""Credentials in the operating system's keyring, and what happens without one: session-only memory, never a plaintext
store; every keyring call on one thread (docs/design.md §10.1–§10.3, §16.3)."""

from __future__ import annotations

import configparser
import contextlib
import json
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypeVar

import keyring
import keyring.errors
from keyring.backends.chainer import ChainerBackend

from bwdesk.core.credentials import AuthKind, BasicCredentials, Credentials, OAuth2Credentials
from bwdesk.core.errors import BwdeskError, ConfigError
from bwdesk.core.logs import redact, register_secret

log = logging.getLogger(__name__)

SERVICE = "bwdesk"
TEAM_SERVICE = "bwdesk team history"

#: The system stores bwdesk trusts, by backend class, with the name people know them by.
ALLOWED_BACKENDS: dict[str, str] = {
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Locker",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.SecretService.Keyring": "Secret Service (GNOME Keyring, KeePassXC or KWallet)",
    "keyring.backends.libsecret.Keyring": "Secret Service via libsecret",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.kwallet.DBusKeyringKWallet4": "KWallet 4",
}
_NEVER = {
    "keyring.backends.fail.Keyring": "no keyring backend is available",
    "keyring.backends.null.Keyring": "the 'null' backend discards secrets",
    "keyring.backends.chainer.ChainerBackend": "no backend to chain",
}

T = TypeVar("T")


#: What "no usable keyring" means for the person at the desk, and what to do (the reasons go in `details`).
NO_KEYRING = (
    "No keyring on this computer, so bwdesk cannot remember the password or client secret after it quits. "
    "Keep it for this session only (you enter it again each time bwdesk starts), or ask IT to set up a "
    "keyring (on Linux: GNOME Keyring or KeePassXC)."
)
#: Saving to the keyring when there is none: short, because the status above already explains.
NOT_SAVED_WITHOUT_KEYRING = (
    "Not saved: there is no keyring to keep the secret in. Choose “keep for this session only”, or ask IT "
    "to set up a keyring and try again."
)


class SecretStoreError(BwdeskError):
    """The secret store could not do what was asked; the message says what to do."""


class SecretStoreUnavailable(SecretStoreError):
    """No system keyring bwdesk accepts: offer to keep the credentials for this session only."""


class SecretStoreLocked(SecretStoreError):
    """The keyring exists but is locked (or its unlock prompt was dismissed)."""


@dataclass(frozen=True)
class SecretStoreStatus:
    """Where secrets live now, in words for the settings dialog and diagnostics."""

    available: bool  # a system keyring bwdesk accepts
    backend: str | None  # its class, e.g. "keyring.backends.SecretService.Keyring"
    name: str  # e.g. "macOS Keychain", or "this session only"
    description: str  # the sentences to show: what it means and what to do, without jargon
    session_accounts: int = 0  # accounts whose credentials are held in memory only
    details: str = ""  # why no keyring is usable, in the backends' own (technical) words; for IT


# --- the keyring thread ---------------------------------------------------------------------------------


class _KeyringThread:
    """One daemon thread that runs every keyring call (a daemon: a hung D-Bus call must not block exit)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def ident(self) -> int | None:
        return self._thread.ident if self._thread is not None else None

    def call(self, fn: Callable[[], T]) -> T:
        if threading.current_thread() is self._thread:  # already on it (a nested call): run inline
            return fn()
        future: Future[T] = Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="bwdesk-keyring", daemon=True)
                self._thread.start()
            self._queue.put((fn, future))
        return future.result()

    def _run(self) -> None:
        while True:
            fn, future = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)


_keyring_thread = _KeyringThread()


def keyring_thread_ident() -> int | None:
    """The id of the thread that makes every keyring call (None before the first call)."""
    return _keyring_thread.ident


# --- which backend ---------------------------------------------------------------------------------------


def _class_path(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _plugin_modules() -> tuple[str, ...]:
    try:
        return tuple(ep.module for ep in entry_points(group="keyring.backends"))
    except Exception:  # a broken distribution's metadata must not break the keyring
        return ()


def _configured_names() -> set[str]:
    """Backends named by PYTHON_KEYRING_BACKEND or keyringrc.cfg: an explicit choice by a person."""
    names = {os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()}
    try:
        from keyring.util import platform_

        parser = configparser.RawConfigParser()
        parser.read(os.path.join(platform_.config_root(), "keyringrc.cfg"), encoding="utf-8")
        names.add(parser.get("backend", "default-keyring", fallback="").strip())
    except Exception:
        pass
    return {n for n in names if n}


def _verdict(backend: Any) -> tuple[bool, str]:
    """Whether bwdesk may keep secrets in `backend`, and its name (or why not)."""
    path = _class_path(backend)
    try:
        type(backend).priority  # noqa: B018 - raises, with the reason, when the backend cannot work here
    except Exception as exc:
        return False, f"{ALLOWED_BACKENDS.get(path, path)}: {_reason(exc)}"
    if path in ALLOWED_BACKENDS:
        return True, ALLOWED_BACKENDS[path]
    if path in _NEVER:
        return False, _NEVER[path]
    module = type(backend).__module__
    if module.startswith("keyrings.alt") or "plaintext" in path.lower():
        return False, f"{path} keeps secrets in a file, which bwdesk does not use"
    auto_detected = module.startswith("keyring.backends") or any(
        module == m or module.startswith(m + ".") for m in _plugin_modules()
    )
    if auto_detected and path not in _configured_names():
        return False, f"{path} is not a system keyring bwdesk trusts"
    return True, f"{type(backend).__qualname__} (configured explicitly)"


def _reason(exc: BaseException) -> str:
    return str(exc).strip().removeprefix("Unable to initialize SecretService: ") or type(exc).__name__


def _platform_backends() -> list[str]:
    if sys.platform == "win32":
        return ["keyring.backends.Windows.WinVaultKeyring"]
    if sys.platform == "darwin":
        return ["keyring.backends.macOS.Keyring"]
    return [p for p in ALLOWED_BACKENDS if "Windows" not in p and "macOS" not in p]


def _why_none() -> list[str]:
    """Why this platform's trusted backends are not usable (their `priority` raises with the reason)."""
    reasons = []
    for path in _platform_backends():
        module_name, _, class_name = path.rpartition(".")
        try:
            getattr(__import__(module_name, fromlist=[class_name]), class_name).priority  # noqa: B018
        except Exception as exc:
            reasons.append(f"{ALLOWED_BACKENDS[path].split(' (')[0]}: {_reason(exc)}")
    return reasons


# --- the store --------------------------------------------------------------------------------------------


def _encode(credentials: Credentials) -> str:
    ident = credentials.username if isinstance(credentials, BasicCredentials) else credentials.client_id
    return json.dumps({"kind": credentials.kind.value, "id": ident, "secret": credentials.secret})


def _decode(text: str) -> Credentials:
    data = json.loads(text)
    kind = AuthKind(data["kind"])
    ident, secret = data["id"], data["secret"]
    if not isinstance(ident, str) or not isinstance(secret, str) or not secret:
        raise ValueError("missing id or secret")
    if kind is AuthKind.BASIC:
        return BasicCredentials(ident, secret)
    return OAuth2Credentials(ident, secret)


class SecretStore:
    """Credentials per account id: the system keyring, or memory for this session when asked.

    `backend`: a keyring backend to use instead of keyring's configured one (tests). Every method may
    block while the keyring asks the user to unlock it: call it from a worker thread, not the GUI's.
    """

    def __init__(self, backend: Any = None) -> None:
        self._explicit = backend
        self._session: dict[str, Credentials] = {}
        self._team_session: dict[str, str] = {}
        self._session_lock = threading.Lock()

    # -- the backend (keyring thread only) -------------------------------------------------------------

    def _choose(self) -> tuple[Any | None, str, list[str]]:
        """(backend or None, its name, reasons none was accepted). Runs on the keyring thread."""
        ring = self._explicit if self._explicit is not None else keyring.get_keyring()
        candidates = list(ring.backends) if isinstance(ring, ChainerBackend) else [ring]
        refusals = []
        for candidate in candidates:
            accepted, name = _verdict(candidate)
            if accepted:
                return candidate, name, []
            refusals.append(name)
        if not refusals or refusals == [_NEVER["keyring.backends.fail.Keyring"]]:
            refusals = _why_none() or refusals
        return None, "", refusals

    def _run(self, action: str, fn: Callable[[Any, str], T]) -> tuple[bool, T | None]:
        """Run `fn(backend, name)` on the keyring thread; (False, None) when there is no usable keyring."""

        def task() -> tuple[bool, T | None]:
            backend, name, _ = self._choose()
            if backend is None:
                return False, None
            try:
                return True, fn(backend, name)
            except keyring.errors.NoKeyringError:
                return False, None
            except (keyring.errors.KeyringLocked, keyring.errors.InitError) as exc:
                raise SecretStoreLocked(
                    f"Could not {action}: your keyring ({name}) is locked or its unlock prompt was dismissed "
                    f"({redact(str(exc)) or type(exc).__name__}). Unlock your keyring (log in to it, or open "
                    "your password manager) and try again."
                ) from None
            except keyring.errors.KeyringError as exc:
                raise SecretStoreError(
                    f"Could not {action} in {name}: {redact(str(exc)) or type(exc).__name__}."
                ) from None
            except Exception as exc:
                if type(exc).__module__.split(".")[0] in ("secretstorage", "jeepney", "dbus"):
                    raise SecretStoreLocked(
                        f"Could not {action}: the keyring service ({name}) did not answer "
                        f"({type(exc).__name__}: {redact(str(exc))}). Unlock or start your keyring and try "
                        "again."
                    ) from None
                raise

        return _keyring_thread.call(task)

    # -- public ------------------------------------------------------------------------------------------

    def status(self) -> SecretStoreStatus:
        """Which store is in use, in words (may wait for the keyring service to answer)."""
        backend, name, reasons = _keyring_thread.call(self._choose)
        with self._session_lock:
            held = len(self._session)
        session_note = (
            f" Credentials for {held} account{'s' if held != 1 else ''} are kept for this session only and "
            "will be forgotten when bwdesk quits."
            if held
            else ""
        )
        if backend is not None:
            return SecretStoreStatus(
                True, _class_path(backend), name, f"Secrets are kept in {name}.{session_note}", held
            )
        return SecretStoreStatus(
            False,
            None,
            "this session only",
            f"{NO_KEYRING}{session_note}",
            held,
            "; ".join(reasons) or "no keyring backend is installed",
        )

    def is_session_only(self, account_id: str) -> bool:
        """True when `account_id`'s credentials are held in memory for this session (not in a keyring)."""
        with self._session_lock:
            return account_id.strip() in self._session

    def save(
        self, account_id: str, credentials: Credentials, *, session_only: bool = False
    ) -> SecretStoreStatus:
        """Keep `credentials` for `account_id`: in the system keyring, or (asked for) in memory only.

        Raises `SecretStoreUnavailable` when there is no system keyring and `session_only` is False,
        `SecretStoreLocked` when it is locked.
        """
        account_id = _account(account_id)
        if not credentials.secret:
            raise ConfigError("The password or client secret is empty.")
        register_secret(credentials.secret)
        if session_only:
            with self._session_lock:
                self._session[account_id] = credentials
            log.info("credentials for account %s kept for this session only", account_id)
            return self.status()
        stored, _ = self._run(
            "save the credentials",
            lambda backend, name: backend.set_password(SERVICE, account_id, _encode(credentials)),
        )
        if not stored:
            raise SecretStoreUnavailable(NOT_SAVED_WITHOUT_KEYRING)
        with self._session_lock:
            self._session.pop(account_id, None)
        log.info("credentials for account %s saved in the keyring", account_id)
        return self.status()

    def load(self, account_id: str) -> Credentials | None:
        """The credentials for `account_id` (session memory first, then the keyring), or None."""
        account_id = _account(account_id)
        with self._session_lock:
            held = self._session.get(account_id)
        if held is not None:
            return held
        _, text = self._run(
            "read the credentials", lambda backend, name: backend.get_password(SERVICE, account_id)
        )
        if text is None:
            return None
        try:
            credentials = _decode(text)
        except (ValueError, KeyError, TypeError):
            log.warning(
                "the keyring entry for account %s is not in bwdesk's format; enter the credentials again",
                account_id,
            )
            return None
        register_secret(credentials.secret)
        return credentials

    def delete(self, account_id: str) -> None:
        """Forget the credentials for `account_id` everywhere (missing ones are fine)."""
        account_id = _account(account_id)
        with self._session_lock:
            self._session.pop(account_id, None)

        def remove(backend: Any, name: str) -> None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                backend.delete_password(SERVICE, account_id)

        self._run("delete the credentials", remove)

    def forget_session(self) -> None:
        with self._session_lock:
            self._session.clear()
            self._team_session.clear()

    # -- the team database's password ----------------------------------------------------------------

    def save_team_password(self, key: str, password: str, *, session_only: bool = False) -> SecretStoreStatus:
        """Keep the team database's password under `key` (`TeamUrl.keyring_key`); as `save`."""
        key = _team_key(key)
        if not password:
            raise ConfigError("Team history: the password is empty.")
        register_secret(password)
        if session_only:
            with self._session_lock:
                self._team_session[key] = password
            log.info("the team history's password for %s is kept for this session only", key)
            return self.status()
        stored, _ = self._run(
            "save the team history's password",
            lambda backend, name: backend.set_password(TEAM_SERVICE, key, password),
        )
        if not stored:
            raise SecretStoreUnavailable(
                f"{self.status().description} Choose “keep for this session only”, or use PGPASSWORD, a "
                ".pgpass file or a service file for the team history's password."
            )
        with self._session_lock:
            self._team_session.pop(key, None)
        log.info("the team history's password for %s is saved in the keyring", key)
        return self.status()

    def load_team_password(self, key: str) -> str | None:
        """The team database's password under `key` (session memory first, then the keyring), or None."""
        key = _team_key(key)
        with self._session_lock:
            held = self._team_session.get(key)
        if held is not None:
            return held
        _, password = self._run(
            "read the team history's password",
            lambda backend, name: backend.get_password(TEAM_SERVICE, key),
        )
        if password:
            register_secret(password)
            return str(password)
        return None

    def is_team_password_session_only(self, key: str) -> bool:
        """True when the team database's password under `key` is held in memory for this session only."""
        with self._session_lock:
            return key.strip() in self._team_session

    def delete_team_password(self, key: str) -> None:
        key = _team_key(key)
        with self._session_lock:
            self._team_session.pop(key, None)

        def remove(backend: Any, name: str) -> None:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                backend.delete_password(TEAM_SERVICE, key)

        self._run("delete the team history's password", remove)


def _account(account_id: str) -> str:
    account_id = account_id.strip()
    if not account_id:
        raise ConfigError("Account ID: enter your Bandwidth account ID before saving credentials.")
    return account_id


def _team_key(key: str) -> str:
    key = key.strip()
    if not key:
        raise ConfigError("Team history: set the team history URL before saving its password.")
    return key


# --- environment ---------------------------------------------------------------------------------------


def credentials_from_env(
    env: Mapping[str, str] | None = None, prefer: AuthKind | None = None
) -> Credentials | None:
    """Credentials from BW_USERNAME + BW_PASSWORD or BW_CLIENT_ID + BW_CLIENT_SECRET (docs/design.md §4.8), or None.

    Half a pair is a ConfigError naming the missing variable. With both pairs set, `prefer` chooses
    (the saved auth kind); without it OAuth2 wins, Bandwidth's recommended way.
    """
    env = os.environ if env is None else env
    pairs = {
        AuthKind.BASIC: ("BW_USERNAME", "BW_PASSWORD"),
        AuthKind.OAUTH2: ("BW_CLIENT_ID", "BW_CLIENT_SECRET"),
    }
    complete: dict[AuthKind, tuple[str, str]] = {}
    for kind, (id_name, secret_name) in pairs.items():
        ident, secret = env.get(id_name, ""), env.get(secret_name, "")
        if bool(ident) != bool(secret):
            have, missing = (id_name, secret_name) if ident else (secret_name, id_name)
            raise ConfigError(
                f"{have} is set but {missing} is not: set both for "
                f"{'Basic' if kind is AuthKind.BASIC else 'OAuth2'} authentication, or neither."
            )
        if ident:
            register_secret(secret)
            complete[kind] = (ident, secret)
    if not complete:
        return None
    kind = (
        prefer if prefer in complete else (AuthKind.OAUTH2 if AuthKind.OAUTH2 in complete else AuthKind.BASIC)
    )
    ident, secret = complete[kind]
    return BasicCredentials(ident, secret) if kind is AuthKind.BASIC else OAuth2Credentials(ident, secret)


# --- the process-wide store ------------------------------------------------------------------------------

_default: SecretStore | None = None
_default_lock = threading.Lock()


def default_store() -> SecretStore:
    """The store the app and the CLI share (session-only secrets live as long as the process)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SecretStore()
        return _default


def status() -> SecretStoreStatus:
    return default_store().status()


def save(account_id: str, credentials: Credentials, *, session_only: bool = False) -> SecretStoreStatus:
    return default_store().save(account_id, credentials, session_only=session_only)


def load(account_id: str) -> Credentials | None:
    return default_store().load(account_id)


def delete(account_id: str) -> None:
    default_store().delete(account_id)


__all__ = [
    "ALLOWED_BACKENDS",
    "NOT_SAVED_WITHOUT_KEYRING",
    "NO_KEYRING",
    "SERVICE",
    "TEAM_SERVICE",
    "SecretStore",
    "SecretStoreError",
    "SecretStoreLocked",
    "SecretStoreStatus",
    "SecretStoreUnavailable",
    "credentials_from_env",
    "default_store",
    "delete",
    "keyring_thread_ident",
    "load",
    "save",
    "status",
]
