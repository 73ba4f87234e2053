"""Non-secret settings: the user's JSON file in the profile, layered over IT's system-wide defaults and locks; loading
and saving never stop bwdesk (docs/design.md §5)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bwdesk.core import paths
from bwdesk.core.api import DEFAULT_API_BASE, DEFAULT_TOKEN_URL, Timeouts, check_api_url
from bwdesk.core.credentials import AuthKind
from bwdesk.core.errors import ConfigError
from bwdesk.core.message import Draft, validate
from bwdesk.core.phone import DEFAULT_REGION, is_known_region, parse_number
from bwdesk.core.send_size import CONFIRM_SEGMENTS_ABOVE

if TYPE_CHECKING:
    from bwdesk.core.directory.template_book import Template

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_TIMEOUT = 600.0  # seconds; beyond this a "timeout" is a hang
MAX_RETENTION_DAYS = 36_500
MAX_SEGMENT_LIMIT = 100_000  # segments; any send above it asks, whatever the setting

#: What each key is called in messages (the settings dialog's labels).
LABELS: dict[str, str] = {
    "account_id": "Account ID",
    "application_id": "Application ID",
    "from_numbers": "From numbers",
    "default_from": "Default From",
    "region": "Default region",
    "auth_kind": "Authentication",
    "username": "Username",
    "client_id": "Client ID",
    "api_base": "API base URL",
    "token_url": "OAuth2 token URL",
    "connect_timeout": "Connect timeout",
    "read_timeout": "Read timeout",
    "retention_days": "Keep history for (days)",
    "history_url": "Team history URL",
    "agent_name": "Your name in the team history",
    "confirm_segments_above": "Ask before sending more than (segments)",
}


@dataclass(frozen=True)
class FromNumber:
    """A number (E.164) or alphanumeric sender ID the account sends from, with an optional label."""

    number: str
    label: str = ""

    def to_json(self) -> dict[str, str]:
        return {"number": self.number, "label": self.label}


@dataclass(frozen=True)
class Settings:
    """The effective non-secret settings. Empty strings mean "not set"."""

    account_id: str = ""
    application_id: str = ""
    from_numbers: tuple[FromNumber, ...] = ()
    default_from: str = ""
    region: str = DEFAULT_REGION
    auth_kind: AuthKind = AuthKind.BASIC
    username: str = ""
    client_id: str = ""
    api_base: str = DEFAULT_API_BASE
    token_url: str = DEFAULT_TOKEN_URL
    connect_timeout: float = Timeouts().connect
    read_timeout: float = Timeouts().read
    retention_days: int | None = None
    history_url: str = ""
    agent_name: str = ""
    confirm_segments_above: int = CONFIRM_SEGMENTS_ABOVE

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(connect=self.connect_timeout, read=self.read_timeout)

    @property
    def credential_id(self) -> str:
        """The non-secret half of the credentials for the chosen auth kind."""
        return self.username if self.auth_kind is AuthKind.BASIC else self.client_id

    def label_for(self, number: str) -> str:
        return next((f.label for f in self.from_numbers if f.number == number), "")

    def to_json(self) -> dict[str, Any]:
        """Every key, JSON-ready (what diagnostics show; none of it is secret)."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


KEYS = tuple(f.name for f in fields(Settings))


@dataclass(frozen=True)
class SettingsProblem:
    """One invalid value: which key, and what is wrong with it in words."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{LABELS.get(self.field, self.field)}: {self.message}"


class SettingsError(ConfigError):
    """Settings that cannot be saved as they are; `problems` says which fields and why."""

    def __init__(self, problems: list[SettingsProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedSettings:
    """What `load_settings` found: the effective settings, and what the user should be told."""

    settings: Settings
    warnings: tuple[str, ...] = ()
    locked: frozenset[str] = frozenset()
    defaults: Settings = Settings()  # built-in + system-wide, before the user's file
    path: Path | None = None
    templates: tuple[Template, ...] = ()  # IT's, from the system-wide file: locked


# --- single values ---------------------------------------------------------------------------------------


class _Bad(ValueError):
    """A value that cannot be used; the message says why (without the field name)."""


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [v.to_json() if isinstance(v, FromNumber) else v for v in value]
    if isinstance(value, AuthKind):
        return value.value
    return value


def _text(value: Any, *, max_length: int = 200) -> str:
    if not isinstance(value, str):
        raise _Bad(f"must be text, not {type(value).__name__}")
    text = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise _Bad("must not contain control characters (tabs, line breaks)")
    if len(text) > max_length:
        raise _Bad(f"is too long ({len(text)} characters; at most {max_length})")
    return text


def _sender(value: str, region: str) -> str:
    """A From number as E.164, or an alphanumeric sender ID as typed; the message rules decide."""
    problems = [p for p in validate(Draft(sender=value, recipients=(), region=region)) if p.field == "from"]
    errors = [p.message for p in problems if p.severity == "error"]
    if errors:
        raise _Bad(errors[0])
    if any(c.isalpha() for c in value):
        return value
    return parse_number(value, region).e164 or value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise _Bad(f"must be more than 0 seconds (got {value!r})")
    if value > MAX_TIMEOUT:
        raise _Bad(f"must be at most {MAX_TIMEOUT:g} seconds (got {value!r})")
    return float(value)


def _coerce(key: str, value: Any, region: str) -> Any:
    """Check one value from a file or the dialog; returns it in canonical form or raises `_Bad`."""
    if key == "account_id":
        text = _text(value, max_length=32)
        if text and not text.isdigit():
            raise _Bad(f"Bandwidth account IDs are digits only (e.g. 9900000), not {text!r}")
        return text
    if key == "application_id":
        text = _text(value, max_length=100)
        if " " in text:
            raise _Bad("must not contain spaces (copy it from the Bandwidth App's page)")
        return text
    if key == "from_numbers":
        if not isinstance(value, (list, tuple)):
            raise _Bad("must be a list of numbers")
        numbers: list[FromNumber] = []
        for i, item in enumerate(value, 1):
            if isinstance(item, FromNumber):
                number, label = item.number, item.label
            elif isinstance(item, str):
                number, label = item, ""
            elif isinstance(item, Mapping):
                number, label = item.get("number", ""), item.get("label", "")
            else:
                raise _Bad(f"entry {i} must be a number or {{'number': …, 'label': …}}")
            try:
                number = _sender(_text(number, max_length=32), region)
                label = _text(label, max_length=60)
            except _Bad as exc:
                raise _Bad(f"entry {i} ({number!r}): {exc}") from None
            if not number:
                raise _Bad(f"entry {i} has no number")
            if any(n.number == number for n in numbers):
                continue
            numbers.append(FromNumber(number, label))
        return tuple(numbers)
    if key == "default_from":
        text = _text(value, max_length=32)
        return _sender(text, region) if text else ""
    if key == "region":
        text = _text(value, max_length=3).upper()
        if not is_known_region(text):
            raise _Bad(f"{text!r} is not a two-letter country code phone numbers use (e.g. US, CA, GB)")
        return text
    if key == "auth_kind":
        try:
            return AuthKind(value)
        except ValueError:
            raise _Bad(f"must be 'basic' or 'oauth2', not {value!r}") from None
    if key in ("username", "client_id"):
        text = _text(value, max_length=200)
        if key == "username" and ":" in text:
            raise _Bad("a Basic username cannot contain ':'")
        return text
    if key in ("api_base", "token_url"):
        text = _text(value, max_length=2000)
        try:
            return check_api_url(text, LABELS[key])
        except ConfigError as exc:
            raise _Bad(str(exc)) from None
    if key in ("connect_timeout", "read_timeout"):
        return _seconds(value)
    if key == "retention_days":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"must be a whole number of days, or empty to keep everything (got {value!r})")
        if not 1 <= value <= MAX_RETENTION_DAYS:
            raise _Bad(f"must be between 1 and {MAX_RETENTION_DAYS} days (got {value})")
        return value
    if key == "history_url":
        text = _text(value, max_length=2000)
        if not text:
            return ""
        from bwdesk.core.team.url import parse_history_url

        try:
            return parse_history_url(text).url
        except ConfigError as exc:  # the message never repeats a URL that holds a password
            raise _Bad(str(exc).partition(": ")[2]) from None
    if key == "agent_name":
        return " ".join(_text(value, max_length=100).split())
    if key == "confirm_segments_above":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"must be a whole number of segments (got {value!r})")
        if not 1 <= value <= MAX_SEGMENT_LIMIT:
            raise _Bad(f"must be between 1 and {MAX_SEGMENT_LIMIT} segments (got {value})")
        return value
    raise _Bad("is not a setting bwdesk knows")


def _apply(
    base: Settings, values: Mapping[str, Any], source: str, skip: frozenset[str] = frozenset()
) -> tuple[Settings, list[str]]:
    """`base` with every valid value of `values` applied; a warning per value that was not."""
    warnings: list[str] = []
    changes: dict[str, Any] = {}
    region = base.region
    if "region" in values and "region" not in skip:
        with contextlib.suppress(_Bad):
            region = _coerce("region", values["region"], region)
    for key, value in values.items():
        if key not in KEYS or key in skip:
            continue
        try:
            changes[key] = _coerce(key, value, region)
        except _Bad as exc:
            warnings.append(f"{source}: {LABELS[key]}: {exc}; using the default instead.")
    return replace(base, **changes), warnings


def validate_settings(settings: Settings) -> list[SettingsProblem]:
    """Every problem with `settings`, one per field, in the order of the dialog."""
    problems: list[SettingsProblem] = []
    region = settings.region if is_known_region(settings.region) else DEFAULT_REGION
    for key in KEYS:
        try:
            _coerce(key, getattr(settings, key), region)
        except _Bad as exc:
            problems.append(SettingsProblem(key, str(exc)))
    if settings.default_from and settings.from_numbers:
        with contextlib.suppress(_Bad):
            numbers = [f.number for f in _coerce("from_numbers", settings.from_numbers, region)]
            if _coerce("default_from", settings.default_from, region) not in numbers:
                problems.append(
                    SettingsProblem(
                        "default_from", "is not one of the From numbers; add it to the list or pick one"
                    )
                )
    return problems


def normalized(settings: Settings) -> Settings:
    """`settings` in canonical form (E.164 numbers, upper-case region, no trailing /); raises SettingsError."""
    problems = validate_settings(settings)
    if problems:
        raise SettingsError(problems)
    region = _coerce("region", settings.region, DEFAULT_REGION)
    return replace(settings, **{key: _coerce(key, getattr(settings, key), region) for key in KEYS})


# --- files -----------------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _move_aside(path: Path) -> Path | None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.replace(path, target)
    except OSError:
        return None
    return target


def _system_layer(
    system_file: Path,
) -> tuple[dict[str, Any], frozenset[str], list[str], tuple[Template, ...]]:
    """The system file's defaults and locked keys (unchecked), warnings about the file itself, and IT's
    templates (checked: an invalid one is left out with a warning)."""
    where = f"System settings ({system_file})"
    try:
        data = _read_json(system_file)
    except FileNotFoundError:
        return {}, frozenset(), [], ()
    except OSError as exc:
        return {}, frozenset(), [f"{where} could not be read ({exc.strerror or exc}); ignoring it."], ()
    except ValueError as exc:
        return (
            {},
            frozenset(),
            [f"{where} is not valid JSON ({exc}); ignoring it. Ask your IT team to fix it."],
            (),
        )
    warnings: list[str] = []
    if not isinstance(data, dict):
        return {}, frozenset(), [f"{where} must be a JSON object; ignoring it."], ()
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        warnings.append(f'{where}: "defaults" must be an object; ignoring it.')
        defaults = {}
    locked_raw = data.get("locked", [])
    if not isinstance(locked_raw, list) or not all(isinstance(k, str) for k in locked_raw):
        warnings.append(f'{where}: "locked" must be a list of setting names; ignoring it.')
        locked_raw = []
    for key in [*defaults, *locked_raw]:
        if key not in KEYS:
            warnings.append(f"{where}: unknown setting {key!r} ignored.")
    for key in data:
        if key not in ("defaults", "locked", "templates"):
            warnings.append(
                f'{where}: unknown entry {key!r} ignored (expected "defaults", "locked" and "templates").'
            )
    templates: list[Template] = []
    if "templates" in data:
        # Only a system file with templates loads the template engine (not on the way to the window, §3.1).
        from bwdesk.core.directory.template_book import Scope, templates_from_json

        templates, problems = templates_from_json(data["templates"], Scope.LOCKED)
        warnings += [f'{where}: "templates": {problem}; ignoring it.' for problem in problems]
    return defaults, frozenset(k for k in locked_raw if k in KEYS), warnings, tuple(templates)


def _user_layer(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The user's file as a dict; a damaged or unreadable one is moved aside with a warning."""
    try:
        data = _read_json(path)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        return {}, []
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        aside = _move_aside(path)
        kept = (
            f"it was kept as {aside.name}" if aside else "it could not be moved aside and was left in place"
        )
        return {}, [
            f"Your settings file {path} could not be read ({reason}); {kept} and the defaults are used. "
            "Check the settings and save them again."
        ]
    version = data.get("version", FORMAT_VERSION)
    warnings = []
    if isinstance(version, int) and version > FORMAT_VERSION:
        warnings.append(
            f"Your settings file was written by a newer bwdesk (format {version}); settings this version "
            "does not know are kept but not used."
        )
    return data, warnings


def load_settings(profile: Path | None = None, *, system_file: Path | None = None) -> LoadedSettings:
    """The effective settings and the warnings to show. Never raises for a bad or missing file."""
    profile = profile if profile is not None else paths.profile_dir()
    system_file = system_file if system_file is not None else paths.system_settings_file()
    user_path = paths.settings_file(profile)

    system_values, locked, warnings, templates = _system_layer(system_file)
    defaults, more = _apply(Settings(), system_values, f"System settings ({system_file})")
    warnings += more

    user_values, more = _user_layer(user_path)
    warnings += more
    for key in sorted(locked & user_values.keys()):
        with contextlib.suppress(_Bad):
            if _coerce(key, user_values[key], defaults.region) == getattr(defaults, key):
                continue
        warnings.append(f"{LABELS[key]} is set by your administrator; your own value is not used.")
    settings, more = _apply(defaults, user_values, "Your settings", skip=locked)
    warnings += more

    for warning in warnings:
        log.warning("settings: %s", warning)
    return LoadedSettings(settings, tuple(warnings), locked, defaults, user_path, templates)


def save_settings(
    settings: Settings, profile: Path | None = None, *, system_file: Path | None = None
) -> LoadedSettings:
    """Validate, then write the user's file atomically (owner-only). Raises SettingsError (which fields,
    why) or ConfigError (the file could not be written). Returns the settings as they now load."""
    profile = profile if profile is not None else paths.profile_dir()
    system_file = system_file if system_file is not None else paths.system_settings_file()
    settings = normalized(settings)
    system_values, locked, _, _ = _system_layer(system_file)
    defaults, _ = _apply(Settings(), system_values, "")
    path = paths.settings_file(profile)

    kept: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        existing = _read_json(path)
        if isinstance(existing, dict):
            kept = {k: v for k, v in existing.items() if k not in KEYS and k != "version"}
    data: dict[str, Any] = {"version": FORMAT_VERSION, **kept}
    for key in KEYS:
        value = getattr(settings, key)
        if key not in locked and value != getattr(defaults, key):
            data[key] = _json_value(value)
    try:
        paths.ensure_private_dir(profile)
        paths.write_private_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ConfigError(
            f"Could not save the settings to {path}: {exc.strerror or exc}. Check that the folder exists, "
            "that you may write to it, and that the disk is not full."
        ) from exc
    return load_settings(profile, system_file=system_file)


__all__ = [
    "KEYS",
    "LABELS",
    "FromNumber",
    "LoadedSettings",
    "Settings",
    "SettingsError",
    "SettingsProblem",
    "load_settings",
    "normalized",
    "save_settings",
    "validate_settings",
]
