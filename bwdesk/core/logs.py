"""The log file in the profile, every record redacted of secrets on its way there, and the text of Help → Copy
diagnostics (docs/design.md §10.4–§10.6)."""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from bwdesk import __version__
from bwdesk.core import paths

LOG_NAME = "bwdesk.log"
MAX_BYTES = 1_000_000
BACKUPS = 5
REDACTED = "[REDACTED]"
#: Shorter registered values are ignored: redacting every "a" would make the log unreadable, and no
#: real password or client secret is this short.
MIN_SECRET_LENGTH = 4

_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None


@functools.cache
def _credential_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Authorization headers, Basic/Bearer credentials, secret-looking keys' values, URL passwords.

    Compiled on first use (≈ 5 ms): nothing is redacted before the window's first paint (docs/design.md §3.1).
    """
    header = re.compile(r"""(?i)(\b(?:proxy-)?authorization\b["']?\s*[:=]\s*["']?)([^"'\r\n]+)""")
    scheme = re.compile(r"\b(Basic|Bearer|bearer|BEARER|BASIC)(\s+)[A-Za-z0-9._~+/=-]{6,}")
    key_value = re.compile(
        r"""(?ix)
        (["']?\b(?:[a-z_]*password|passwd|[a-z_]*secret|access_token|refresh_token|id_token)\b["']?
           \s*(?::|=|%3D)\s*)
        ("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s&,;}\]"']+)
        """
    )
    url_password = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s:/?#@\[\]]*:)([^\s@/?#]+)(@)")
    return header, scheme, key_value, url_password


def register_secret(value: str | None) -> None:
    """Make sure `value` never appears in the log (nor in diagnostics), in any common escaping."""
    global _secret_re
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, json.dumps(value)[1:-1], repr(value)[1:-1], quote(value, safe=""), quote_plus(value)}
    with _lock:
        if forms <= _secrets:
            return
        _secrets.update(f for f in forms if len(f) >= MIN_SECRET_LENGTH)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(s) for s in ordered))


def forget_secrets() -> None:
    """Drop every registered secret (tests; a new process starts empty anyway)."""
    global _secret_re
    with _lock:
        _secrets.clear()
        _secret_re = None


def _mask_value(match: re.Match[str]) -> str:
    value = match.group(2)
    quote_char = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group(1)}{quote_char}{REDACTED}{quote_char}"


def redact(text: str) -> str:
    """`text` with every secret this process knows of, and every credential-shaped value, replaced."""
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    header, scheme, key_value, url_password = _credential_patterns()
    text = header.sub(lambda m: m.group(1) + REDACTED, text)
    text = scheme.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = url_password.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    return key_value.sub(_mask_value, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack through `redact()` before any formatter sees it."""

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format in someone's log call must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A last pass over the whole formatted line (thread names, logger names, anything a filter missed)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _private_rotating_handler(path: Path, max_bytes: int, backups: int) -> logging.Handler:
    """A rotating log whose files are created readable by their owner only.

    `logging.handlers` (which loads socket, pickle and queue) is imported here, when the log file is
    opened — after the window's first paint — rather than with this module.
    """
    from logging.handlers import RotatingFileHandler

    class PrivateRotatingFileHandler(RotatingFileHandler):
        def _open(self) -> io.TextIOWrapper:
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            if os.name == "posix" and os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
            return open(fd, "a", encoding=self.encoding, errors=self.errors)

    return PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")


class EarlyRecords(logging.Handler):
    """Keeps what is logged before the log file is open, for `setup_logging` to write first.

    The window opens its log file just after its first paint; records from the start-up before that
    (a damaged settings file, say) still reach the file, in order.
    """

    LIMIT = 1000

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.set_name("bwdesk-early")
        self.records: list[logging.LogRecord] = []
        self.replaced_by: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.replaced_by is not None:  # a record that was on its way here while the file opened
            if record.levelno >= self.replaced_by.level:
                self.replaced_by.handle(record)
        elif len(self.records) < self.LIMIT:
            self.records.append(record)


def hold_early_records() -> None:
    """Keep INFO and above from now until `setup_logging` opens the log file."""
    root = logging.getLogger()
    if not any(isinstance(h, EarlyRecords) for h in root.handlers):
        root.addHandler(EarlyRecords())
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)


def log_file(profile: Path) -> Path:
    return paths.log_dir(profile) / LOG_NAME


def is_holding_early_records() -> bool:
    """True until `setup_logging` has written what `hold_early_records` kept."""
    return any(isinstance(h, EarlyRecords) for h in logging.getLogger().handlers)


def _writes(handler: logging.Handler, path: Path, level: int, max_bytes: int, backups: int) -> bool:
    return (
        getattr(handler, "baseFilename", None) == os.path.abspath(path)
        and handler.level == level
        and getattr(handler, "maxBytes", None) == max_bytes
        and getattr(handler, "backupCount", None) == backups
    )


def _write_early_records(root: logging.Logger, handler: logging.Handler) -> None:
    """Attach `handler` in place of any `EarlyRecords`, writing their records first.

    The swap happens under each buffer's lock; a record another thread was handing to a buffer at that
    moment is passed on to `handler`, so nothing is lost or written twice.
    """
    buffers = [h for h in root.handlers if isinstance(h, EarlyRecords)]
    for early in buffers:
        early.acquire()
    try:
        for early in buffers:
            for record in early.records:
                if record.levelno >= handler.level:
                    handler.handle(record)
            early.records = []
        if handler not in root.handlers:
            root.addHandler(handler)
        for early in buffers:
            root.removeHandler(early)
            early.replaced_by = handler
    finally:
        for early in buffers:
            early.release()


def setup_logging(
    profile: Path | None = None,
    level: int | str = logging.INFO,
    *,
    max_bytes: int = MAX_BYTES,
    backups: int = BACKUPS,
) -> Path:
    """Send log records at `level` and above to `<profile>/logs/bwdesk.log`; returns its path.

    Calling it again with another profile, level or rotation replaces the earlier bwdesk handler; with
    the same ones it keeps it. Either way, records kept by `hold_early_records` are written first.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    profile = profile if profile is not None else paths.profile_dir()
    path = log_file(profile)
    root = logging.getLogger()
    current = [h for h in root.handlers if h.get_name() == "bwdesk-file"]
    same = [h for h in current if _writes(h, path, numeric, max_bytes, backups)]
    if same:
        _write_early_records(root, same[0])  # already logging there
        return path
    paths.ensure_private_dir(paths.log_dir(profile))
    handler = _private_rotating_handler(path, max_bytes, backups)
    handler.set_name("bwdesk-file")
    handler.setLevel(numeric)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingFormatter(_FORMAT))
    for old in current:
        root.removeHandler(old)
        old.close()
    _write_early_records(root, handler)
    if root.level == logging.NOTSET or root.level > numeric:
        root.setLevel(numeric)
    logging.getLogger(__name__).info("bwdesk %s logging to %s", __version__, path)
    return path


def last_log_lines(profile: Path, count: int = 50) -> list[str]:
    """The last `count` lines of the current log file (redacted again), oldest first."""
    try:
        with open(log_file(profile), encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    return [redact(line) for line in lines[-count:]] if count > 0 else []


def diagnostics_text(
    profile: Path | None = None,
    *,
    qt_version: str | None = None,
    keyring_description: str | None = None,
    settings: Mapping[str, Any] | None = None,
    log_lines: int = 50,
) -> str:
    """What Help → Copy diagnostics puts on the clipboard: versions, keyring, settings, the last log lines.

    `keyring_description` and `settings` are looked up when not given (the keyring status may wait for
    the keyring service; call this off the GUI thread). Everything passes through `redact()`.
    """
    import platform  # only for diagnostics: nothing else needs these at start-up
    import sqlite3

    profile = profile if profile is not None else paths.profile_dir()
    if keyring_description is None:
        try:
            from bwdesk.core.secrets import default_store

            keyring_description = default_store().status().description
        except Exception as exc:  # diagnostics must never fail: say what happened instead
            keyring_description = f"could not be determined ({type(exc).__name__}: {exc})"
    if settings is None:
        from bwdesk.core.settings import load_settings

        loaded = load_settings(profile)
        settings = loaded.settings.to_json()
        settings_notes = list(loaded.warnings)
        if loaded.locked:
            settings_notes.append(f"locked by the administrator: {', '.join(sorted(loaded.locked))}")
    else:
        settings_notes = []
    lines = [
        f"bwdesk {__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()}, {sys.executable})",
        f"Platform: {platform.platform()} ({platform.machine()})",
        f"Qt: {qt_version or 'not loaded'}",
        f"SQLite: {sqlite3.sqlite_version}",
        f"Frozen: {'yes' if getattr(sys, 'frozen', False) else 'no'}",
        f"Keyring: {keyring_description}",
        f"Profile: {profile}",
        "Settings:",
        *(f"  {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in settings.items()),
        *(f"  note: {note}" for note in settings_notes),
        f"Last {log_lines} log lines:",
        *(f"  {line}" for line in last_log_lines(profile, log_lines)),
    ]
    return redact("\n".join(lines)) + "\n"


__all__ = [
    "REDACTED",
    "EarlyRecords",
    "RedactingFilter",
    "RedactingFormatter",
    "diagnostics_text",
    "forget_secrets",
    "hold_early_records",
    "is_holding_early_records",
    "last_log_lines",
    "log_file",
    "redact",
    "register_secret",
    "setup_logging",
]
