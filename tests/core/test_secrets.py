"""Secrets: a real keyring backend class in memory, no keyring at all (session only), locked, one thread, env."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend

from bwdesk.core import logs
from bwdesk.core import secrets as secrets_module
from bwdesk.core.credentials import AuthKind, BasicCredentials, OAuth2Credentials
from bwdesk.core.errors import ConfigError
from bwdesk.core.secrets import (
    SERVICE,
    SecretStore,
    SecretStoreError,
    SecretStoreLocked,
    SecretStoreUnavailable,
    credentials_from_env,
    keyring_thread_ident,
)

BASIC = BasicCredentials("api-user", "Basic-pa55word!")
OAUTH = OAuth2Credentials("client-123", "client-s3cret-value")


@pytest.fixture(autouse=True)
def fresh_log_secrets() -> Iterator[None]:
    logs.forget_secrets()
    yield
    logs.forget_secrets()


@pytest.fixture
def no_keyring() -> Iterator[fail.Keyring]:
    """What a headless Linux without D-Bus has: keyring's `fail` backend."""
    previous = keyring.get_keyring()
    ring = fail.Keyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


class RecordingKeyring(keyring.backend.KeyringBackend):
    """An in-memory backend that notes which thread each call came from."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.threads: set[int] = set()

    def get_password(self, service: str, username: str) -> str | None:
        self.threads.add(threading.get_ident())
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.threads.add(threading.get_ident())
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.threads.add(threading.get_ident())
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


class LockedKeyring(keyring.backend.KeyringBackend):
    """A backend whose collection is locked and whose unlock prompt gets dismissed."""

    priority = 1  # type: ignore[assignment]
    error: type[Exception] = keyring.errors.KeyringLocked

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise self.error("Failed to unlock the collection!")


# --- a real backend class (the tests' in-memory keyring) --------------------------------------------------


@pytest.mark.parametrize("credentials", [BASIC, OAUTH], ids=["basic", "oauth2"])
def test_round_trip_in_the_keyring(memory_keyring: Any, credentials: Any) -> None:
    store = SecretStore()
    store.save("9900000", credentials)
    assert store.load("9900000") == credentials
    assert SecretStore().load("9900000") == credentials  # it is in the keyring, not in this object
    entry = json.loads(memory_keyring.store[(SERVICE, "9900000")])
    ident = credentials.username if isinstance(credentials, BasicCredentials) else credentials.client_id
    assert entry == {"kind": credentials.kind.value, "id": ident, "secret": credentials.secret}
    store.delete("9900000")
    assert store.load("9900000") is None
    assert memory_keyring.store == {}
    store.delete("9900000")  # deleting what is not there is fine


def test_accounts_are_kept_apart_and_saving_replaces(memory_keyring: Any) -> None:
    store = SecretStore()
    store.save("1111111", BASIC)
    store.save("2222222", OAUTH)
    store.save("1111111", BasicCredentials("api-user", "new-password"))
    assert store.load("1111111") == BasicCredentials("api-user", "new-password")
    assert store.load("2222222") == OAUTH
    assert store.load("3333333") is None


def test_status_names_the_store(memory_keyring: Any) -> None:
    status = SecretStore().status()
    assert status.available and status.backend is not None and status.backend.endswith("MemoryKeyring")
    assert status.description == "Secrets are kept in MemoryKeyring (configured explicitly)."


def test_loaded_and_saved_secrets_are_registered_for_redaction(memory_keyring: Any) -> None:
    SecretStore().save("9900000", BASIC)
    logs.forget_secrets()
    SecretStore().load("9900000")
    assert logs.redact(f"oops {BASIC.password}") == f"oops {logs.REDACTED}"


def test_a_foreign_entry_is_ignored_with_a_warning(memory_keyring: Any, expect_log: Any) -> None:
    expect_log("not in bwdesk's format")
    memory_keyring.store[(SERVICE, "9900000")] = "just-a-password"
    assert SecretStore().load("9900000") is None


def test_an_empty_account_id_or_secret_is_refused(memory_keyring: Any) -> None:
    with pytest.raises(ConfigError, match="Account ID"):
        SecretStore().save("  ", BASIC)
    with pytest.raises(ConfigError, match="empty"):
        SecretStore().save("9900000", BasicCredentials("u", ""))


def test_every_keyring_call_runs_on_one_dedicated_thread() -> None:
    ring = RecordingKeyring()
    store = SecretStore(ring)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            store.save(f"10{n}", BASIC)
            assert store.load(f"10{n}") == BASIC
            store.status()
            store.delete(f"10{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    work(9)  # and from this thread too
    for worker in workers:
        worker.join()
    assert errors == []
    assert ring.threads == {keyring_thread_ident()}
    assert threading.get_ident() not in ring.threads
    assert all(w.ident not in ring.threads for w in workers)


# --- no usable keyring: session only -----------------------------------------------------------------------


def test_without_a_keyring_the_status_says_what_to_do_and_keeps_the_reasons_apart(
    no_keyring: Any, monkeypatch: pytest.MonkeyPatch, no_keyring_reason: str
) -> None:
    """What the person reads is what it means and what to do; D-Bus and python-dbus are for IT only."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    status = SecretStore().status()
    assert not status.available and status.backend is None
    assert status.description == secrets_module.NO_KEYRING
    assert (
        "for this session only" in status.description and "ask IT to set up a keyring" in status.description
    )
    for jargon in ("DBUS", "D-Bus", "dbus", "libsecret", "Secret Service", "backend", "_"):
        assert jargon not in status.description, jargon
    assert no_keyring_reason in status.details  # the reason, for the Details section


def test_without_a_keyring_saving_asks_for_session_only_in_one_short_sentence(no_keyring: Any) -> None:
    with pytest.raises(SecretStoreUnavailable, match="keep for this session only") as caught:
        SecretStore().save("9900000", BASIC)
    assert str(caught.value) == secrets_module.NOT_SAVED_WITHOUT_KEYRING
    assert "DBUS" not in str(caught.value) and len(str(caught.value)) < 160


def test_the_store_tells_which_accounts_are_held_for_this_session_only(memory_keyring: Any) -> None:
    store = SecretStore()
    store.save("9900000", BASIC, session_only=True)
    store.save("9900001", OAUTH)
    assert store.is_session_only("9900000") and store.is_session_only(" 9900000 ")
    assert not store.is_session_only("9900001") and not store.is_session_only("1")
    store.delete("9900000")
    assert not store.is_session_only("9900000")


def test_session_only_works_and_persists_nothing(no_keyring: Any, profile: Path) -> None:
    store = SecretStore()
    status = store.save("9900000", BASIC, session_only=True)
    assert status.session_accounts == 1 and "kept for this session only" in status.description
    assert store.load("9900000") == BASIC
    assert SecretStore().load("9900000") is None  # another process (or the next start) has nothing
    assert not any(profile.rglob("*"))  # nothing was written anywhere in the profile
    store.delete("9900000")
    assert store.load("9900000") is None


def test_the_session_store_is_not_a_keyring_backend_keyring_could_auto_detect() -> None:
    store = SecretStore()
    assert not isinstance(store, keyring.backend.KeyringBackend)
    assert not any(isinstance(v, keyring.backend.KeyringBackend) for v in vars(store).values())
    registered = keyring.backend.KeyringBackend._classes  # every subclass keyring could pick
    assert not [cls for cls in registered if cls.__module__.startswith("bwdesk")]


def test_session_only_is_also_possible_with_a_keyring(memory_keyring: Any) -> None:
    store = SecretStore()
    store.save("9900000", BASIC, session_only=True)
    assert memory_keyring.store == {}
    assert store.load("9900000") == BASIC
    store.save("9900000", OAUTH)  # saving to the keyring later replaces the session copy
    assert store.status().session_accounts == 0 and store.load("9900000") == OAUTH


@pytest.mark.parametrize(
    "backend",
    [null.Keyring(), fail.Keyring()],
    ids=["null", "fail"],
)
def test_null_and_fail_backends_are_refused(backend: Any) -> None:
    assert not SecretStore(backend).status().available


def test_a_plaintext_file_store_is_refused_even_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    plaintext = type("PlaintextKeyring", (RecordingKeyring,), {"__module__": "keyrings.alt.file"})
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    status = SecretStore(plaintext()).status()
    assert not status.available
    assert "keeps secrets in a file, which bwdesk does not use" in status.details


def test_an_auto_detected_plugin_is_refused_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = type("SomeCloudKeyring", (RecordingKeyring,), {"__module__": "keyring.backends.somecloud"})
    assert not SecretStore(plugin()).status().available
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.somecloud.SomeCloudKeyring")
    assert SecretStore(plugin()).status().available


def test_a_chainer_is_looked_into() -> None:
    inner = RecordingKeyring()
    chain = type("FakeChain", (ChainerBackend,), {"backends": [null.Keyring(), inner]})()
    store = SecretStore(chain)
    store.save("9900000", BASIC)
    assert (
        inner.store
        and store.status().backend is not None
        and store.status().backend.endswith("RecordingKeyring")
    )


# --- a locked keyring ------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [keyring.errors.KeyringLocked, keyring.errors.InitError])
def test_a_locked_keyring_says_unlock_it(error: type[Exception]) -> None:
    ring = type("Locked", (LockedKeyring,), {"error": error})()
    store = SecretStore(ring)
    for call in (
        lambda: store.save("9900000", BASIC),
        lambda: store.load("9900000"),
        lambda: store.delete("1"),
    ):
        with pytest.raises(SecretStoreLocked, match="Unlock your keyring") as caught:
            call()
        assert "Traceback" not in str(caught.value)
    # Session only remains possible.
    store.save("9900000", BASIC, session_only=True)
    assert store.load("9900000") == BASIC


def test_a_dbus_failure_is_a_secret_store_error_not_a_traceback() -> None:
    dbus_error = type("DBusErrorResponse", (Exception,), {"__module__": "jeepney.wrappers"})
    ring = type("Broken", (LockedKeyring,), {"error": dbus_error})()
    with pytest.raises(SecretStoreLocked, match="did not answer"):
        SecretStore(ring).load("9900000")


def test_other_keyring_errors_are_secret_store_errors() -> None:
    ring = type("Refusing", (LockedKeyring,), {"error": keyring.errors.PasswordSetError})()
    with pytest.raises(SecretStoreError, match="Could not save the credentials"):
        SecretStore(ring).save("9900000", BASIC)


# --- environment ---------------------------------------------------------------------------------------------


def test_environment_basic_and_oauth2() -> None:
    assert credentials_from_env({}) is None
    assert credentials_from_env({"BW_USERNAME": "u", "BW_PASSWORD": "p4ssword"}) == BasicCredentials(
        "u", "p4ssword"
    )
    oauth = {"BW_CLIENT_ID": "c", "BW_CLIENT_SECRET": "s3cret!!"}
    assert credentials_from_env(oauth) == OAuth2Credentials("c", "s3cret!!")
    both = {"BW_USERNAME": "u", "BW_PASSWORD": "p4ssword", **oauth}
    assert credentials_from_env(both) == OAuth2Credentials("c", "s3cret!!")
    assert credentials_from_env(both, prefer=AuthKind.BASIC) == BasicCredentials("u", "p4ssword")
    assert logs.redact("p4ssword s3cret!!") == f"{logs.REDACTED} {logs.REDACTED}"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BW_USERNAME": "u"}, "BW_USERNAME is set but BW_PASSWORD is not"),
        ({"BW_PASSWORD": "p"}, "BW_PASSWORD is set but BW_USERNAME is not"),
        ({"BW_CLIENT_ID": "c", "BW_CLIENT_SECRET": ""}, "BW_CLIENT_ID is set but BW_CLIENT_SECRET is not"),
        (
            {"BW_CLIENT_SECRET": "s", "BW_USERNAME": "u", "BW_PASSWORD": "p"},
            "BW_CLIENT_SECRET is set but BW_CLIENT_ID",
        ),
    ],
)
def test_half_a_pair_is_a_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        credentials_from_env(env)


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_USERNAME", "envuser")
    monkeypatch.setenv("BW_PASSWORD", "env-password")
    assert credentials_from_env() == BasicCredentials("envuser", "env-password")


def test_module_functions_share_one_store(memory_keyring: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets_module, "_default", None)
    secrets_module.save("9900000", BASIC)
    assert secrets_module.load("9900000") == BASIC
    assert secrets_module.status().available
    secrets_module.delete("9900000")
    assert secrets_module.load("9900000") is None
    assert secrets_module.default_store() is secrets_module.default_store()
