"""Where bwdesk keeps its files: one profile folder (`BWDESK_HOME` overrides it), the sandbox's profile inside it, and
IT's system-wide settings file (docs/design.md §4.10, §5.2)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import platformdirs

from bwdesk.core.errors import ConfigError

APP_NAME = "bwdesk"


def profile_dir() -> Path:
    """The user's profile folder, created (owner-only) if it does not exist."""
    override = os.environ.get("BWDESK_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return _profile(path)


def sandbox_profile_dir(base: Path | None = None) -> Path:
    return _profile((base or profile_dir()) / "sandbox")


def ensure_private_dir(path: Path) -> Path:
    """Create `path` readable by its owner only; an existing folder is left as the user set it."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _profile(path: Path) -> Path:
    try:
        return ensure_private_dir(path)
    except OSError as exc:
        raise ConfigError(
            f"Cannot use {path} as bwdesk's profile folder: {exc.strerror or exc}. Choose a folder you can "
            "write to (BWDESK_HOME sets where bwdesk keeps its settings, history and logs)."
        ) from None


def settings_file(profile: Path) -> Path:
    return profile / "settings.json"


def history_file(profile: Path) -> Path:
    return profile / "history.sqlite3"


def draft_file(profile: Path) -> Path:
    return profile / "draft.json"


def startup_numbers_file(profile: Path) -> Path:
    """What the phone-number library said about the numbers the last start asked first (`core.phone`)."""
    return profile / "startup-numbers.json"


def desk_file(profile: Path) -> Path:
    """This profile's desk id for the team history (`core.team.identity`)."""
    return profile / "desk.json"


def log_dir(profile: Path) -> Path:
    return profile / "logs"


def system_settings_file() -> Path:
    """System-wide defaults that IT can place; `BWDESK_SYSTEM_SETTINGS` points elsewhere (tests, odd installs)."""
    override = os.environ.get("BWDESK_SYSTEM_SETTINGS")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / APP_NAME / "settings.json"
    if sys.platform == "darwin":
        return Path("/Library/Application Support") / APP_NAME / "settings.json"
    return Path("/etc") / APP_NAME / "settings.json"


def write_private_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so a crash leaves the old or the new file, never half of one (0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
