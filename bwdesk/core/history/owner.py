"""Who owns a `sending` row: an identity for a process that a recycled pid does not share, and liveness."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: What a row left `sending` by a dead process says once it becomes `unknown`.
INTERRUPTED_DESCRIPTION = (
    "bwdesk stopped before the outcome was known (closed or crashed during the send); "
    "the message may or may not have been sent"
)


def _linux_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a zombie has finished running; its parent just has not reaped it
        return None
    return f"linux:{boot}:{fields[19]}"


def _ps_start(pid: int) -> str | None:
    import subprocess  # only on systems without /proc; not worth loading at start-up

    try:
        done = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    started = done.stdout.strip()
    return f"ps:{started}" if done.returncode == 0 and started else None


if sys.platform == "win32":  # pragma: no cover - exercised on the Windows CI runner
    import ctypes
    from ctypes import wintypes

    def _windows_start(pid: int) -> str | None:
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.OpenProcess.restype = wintypes.HANDLE
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return None
        try:
            code = wintypes.DWORD()
            if (
                not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value != 259
            ):  # STILL_ACTIVE
                return None
            times = [wintypes.FILETIME() for _ in range(4)]
            if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
                return None
            return f"win:{(times[0].dwHighDateTime << 32) | times[0].dwLowDateTime}"
        finally:
            kernel32.CloseHandle(handle)


def process_start(pid: int) -> str | None:
    """An identity for the process `pid` that a recycled pid does not share; None if it is not running."""
    if sys.platform == "win32":  # pragma: no cover
        return _windows_start(pid)
    if sys.platform.startswith("linux"):
        return _linux_start(pid)
    return _ps_start(pid)


_own_identity: tuple[int, str | None] | None = None


def own_owner() -> tuple[int, str | None]:
    """This process as its `sending` rows name it: (pid, start identity)."""
    global _own_identity
    pid = os.getpid()
    if _own_identity is None or _own_identity[0] != pid:  # recomputed after a fork
        _own_identity = (pid, process_start(pid))
    return _own_identity


def _pid_exists(pid: int) -> bool:
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would terminate it on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_alive(pid: int, start: str | None) -> bool:
    """Whether the process that recorded a `sending` row (pid + start identity) still runs."""
    if (pid, start) == own_owner():
        return True
    current = process_start(pid)
    if start is None:  # recorded where the start time was unknown: the pid is all there is
        return current is not None or _pid_exists(pid)
    return current == start
