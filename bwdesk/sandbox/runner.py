"""`bwdesk sandbox`: run the sandbox in the foreground until Ctrl+C, printing how to connect; a non-loopback `--host`
is the explicit choice, with a notice (docs/design.md §4.4)."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from bwdesk.sandbox.server import Sandbox

DEFAULT_HOST = "127.0.0.1"


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM (a service manager, `kill`) stops as cleanly as Ctrl+C; only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_forever(
    host: str = DEFAULT_HOST,
    port: int = 0,
    out: TextIO | None = None,
    *,
    err: TextIO | None = None,
    stop: threading.Event | None = None,
    sandbox_options: dict[str, Any] | None = None,
) -> int:
    """Serve until Ctrl+C, SIGTERM or `stop` is set; returns the exit status (0, or 2 if it cannot listen).

    The connection lines go to `out` (default stdout), flushed, as soon as the socket listens.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    stop = stop if stop is not None else threading.Event()
    sandbox = Sandbox(host, port, **(sandbox_options or {}))
    try:
        sandbox.start()
    except (OSError, OverflowError) as error:  # in use, no such address, not allowed, port beyond 65535
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        print(f"bwdesk sandbox: cannot listen on {host} port {port}: {reason}", file=err)
        print("Choose another --port (0 picks a free one) or --host.", file=err, flush=True)
        return 2
    try:
        with _stop_on_sigterm(stop):
            _announce(sandbox, host, out, err)
            # A timed wait: on Windows an untimed one would not wake up for Ctrl+C.
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        pass  # whoever read our output has gone (`bwdesk sandbox | head`): stop quietly
    finally:
        sandbox.stop()
    with contextlib.suppress(OSError):
        print("Sandbox stopped.", file=out, flush=True)
    return 0


def _announce(sandbox: Sandbox, host: str, out: TextIO, err: TextIO) -> None:
    if not _is_loopback_host(host):
        print(
            f"Note: listening on {host}, not only on this computer. Anyone who can reach it can use the "
            "sandbox with the demo credentials below; the /_sandbox/ control endpoints answer this "
            "computer only.",
            file=err,
            flush=True,
        )
    for line in sandbox.connection_lines():
        print(line, file=out)
    print("", file=out)
    # What to type, not a translation to work out: the variables `bwdesk send` and `history` read (§4.8).
    assign = "set {}={}" if sys.platform == "win32" else "export {}={}"
    print("To use it with bwdesk send and bwdesk history, set in another terminal:", file=out)
    for name, value in sandbox.environment().items():
        print("  " + assign.format(name, value), file=out)
    print("", file=out)
    print("The sandbox is running. Press Ctrl+C to stop.", file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m bwdesk.sandbox [--host H] [--port P]` (the same as `bwdesk sandbox`)."""
    parser = argparse.ArgumentParser(
        prog="bwdesk sandbox", description="Run a local stand-in for the Bandwidth Messaging API v2."
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free port)")
    args = parser.parse_args(argv)
    return run_forever(args.host, args.port)
