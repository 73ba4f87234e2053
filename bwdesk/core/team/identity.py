"""Who is sending, and from which desk: the agent's display name and the desk id that team rows carry (docs/design.md
§16.7)."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
import tempfile
import uuid
from pathlib import Path

from bwdesk.core import paths
from bwdesk.core.errors import ConfigError

MAX_AGENT_LENGTH = 100


def clean_agent_name(name: str) -> str:
    """One line of at most 100 characters (a name is shown in tables and questions)."""
    return " ".join(name.split())[:MAX_AGENT_LENGTH]


def agent_name(configured: str = "") -> str:
    """The display name: `configured` (the setting, with `BWDESK_AGENT` applied), else the OS's names."""
    for candidate in (configured, os_full_name(), login_name()):
        name = clean_agent_name(candidate or "")
        if name:
            return name
    return "unknown agent"


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (a container): a name is not worth a crash
        return ""


def os_full_name() -> str:
    """The user's full name as the operating system knows it, or '' when it has none."""
    if sys.platform == "win32":
        return _windows_display_name()
    try:
        import pwd

        gecos = pwd.getpwuid(os.getuid()).pw_gecos
    except (ImportError, KeyError, OSError):
        return ""
    return gecos.split(",")[0].strip()  # "Full Name,Room,Work phone,Home phone,Other"


def _windows_display_name() -> str:
    """GetUserNameExW(NameDisplay): the name Windows shows on the Start menu; '' on a local account
    without one or when the domain controller cannot be asked."""
    import ctypes

    name_display = 3
    size = ctypes.c_ulong(0)
    try:
        secur32 = ctypes.WinDLL("secur32")  # type: ignore[attr-defined,unused-ignore]
        secur32.GetUserNameExW(name_display, None, ctypes.byref(size))
        if not size.value:
            return ""
        buffer = ctypes.create_unicode_buffer(size.value)
        if not secur32.GetUserNameExW(name_display, buffer, ctypes.byref(size)):
            return ""
        return str(buffer.value).strip()
    except (OSError, AttributeError):
        return ""


def host_name() -> str:
    """This computer's name, for the list of desks (`bwdesk team status`)."""
    with contextlib.suppress(OSError):
        return socket.gethostname()
    return ""


def desk_id(profile: Path) -> str:
    """This profile's desk id (a UUID), created on first use; stable for the life of the profile.

    Two processes asking at once (the window and a `bwdesk send`) get the same id: the file is written
    aside and linked into place only if no file is there yet.
    """
    path = paths.desk_file(profile)
    existing = _read_desk_id(path)
    if existing is not None:
        return existing
    new_id = str(uuid.uuid4())
    text = json.dumps({"desk_id": new_id}) + "\n"
    try:
        paths.ensure_private_dir(profile)
        fd, tmp = tempfile.mkstemp(prefix=".desk-", suffix=".tmp", dir=profile)  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, path)  # fails if another process got there first: theirs wins
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                with contextlib.suppress(FileExistsError), open(path, "x", encoding="utf-8") as handle:
                    handle.write(text)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except OSError as exc:
        raise ConfigError(
            f"Could not keep this desk's id in {path}: {exc.strerror or exc}. Check that you may write to "
            "the profile folder."
        ) from None
    found = _read_desk_id(path)
    if found is None:
        raise ConfigError(f"{path} does not hold a desk id; move it aside and bwdesk makes a new one.")
    return found


def _read_desk_id(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(uuid.UUID(str(data["desk_id"])))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None


__all__ = ["agent_name", "clean_agent_name", "desk_id", "host_name", "login_name", "os_full_name"]
