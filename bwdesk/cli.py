"""Command line: parse arguments and dispatch to the window, `send`, `history` or `sandbox` (docs/design.md §4).
Exit statuses and `--json` field names are an interface scripts rely on (§4.6, §4.7); Qt is imported only for
the window, so `bwdesk send` starts quickly and works without a display."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn, Protocol, TextIO

from bwdesk import __version__
from bwdesk.core.errors import BwdeskError, ConfigError

if TYPE_CHECKING:
    from bwdesk.core.history.store import HistoryStore
    from bwdesk.core.status_words import StatusFilter

log = logging.getLogger("bwdesk.cli")

# Exit statuses of `bwdesk send` and `bwdesk history` (docs/design.md §4.6): scripts rely on them.
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INVALID = 2
EXIT_REJECTED = 3
EXIT_NOT_CONFIRMED = 4
#: `bwdesk send --attach`: a file could not be uploaded, so nothing was sent (running it again is safe).
EXIT_UPLOAD_FAILED = 5

#: The directory's commands (cli_directory.py): the do-not-text list, templates, contacts.
DIRECTORY_COMMANDS = ("optout", "templates", "contacts")

DESCRIPTION = (
    "bwdesk sends SMS and MMS by hand through Bandwidth's Messaging API v2. "
    "It sends; it does not receive: replies go wherever your Bandwidth application's callbacks point."
)


class UsageError(Exception):
    """Bad command-line input: reported on standard error with exit status 2, nothing sent."""


class _Parser(argparse.ArgumentParser):
    commands: dict[str, argparse.ArgumentParser]  # set by build_parser: each sub-command's own parser

    def error(self, message: str) -> NoReturn:
        # argparse's own errors also mean "invalid input, nothing sent": exit 2 with a clear line.
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_INVALID)


def build_parser() -> _Parser:
    parser = _Parser(prog="bwdesk", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"bwdesk {__version__}")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="open the window on a built-in local sandbox (a fake Bandwidth API on 127.0.0.1); nothing leaves the machine",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that this installation works (offscreen), print versions and the keyring in use, then "
        "exit: 0 all well, 1 something broken, 3 no usable keyring (see bwdesk --self-test --help)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    send = sub.add_parser(
        "send",
        help="send a message without the window",
        description="Send a message without the window, with the same validation, client and history. "
        "Exit status: 0 all accepted; 2 invalid input or configuration, or a recipient on the do-not-text list "
        "(nothing sent); "
        "3 rejected by the API; 4 failed or outcome unknown; 5 an --attach file could not be uploaded "
        "(nothing sent; safe to run again); 1 internal error.",
    )
    send.add_argument(
        "--to", action="append", required=True, metavar="NUMBER", help="recipient; repeat for several"
    )
    text = send.add_mutually_exclusive_group()
    text.add_argument("--text", help="the message text")
    text.add_argument(
        "--text-file",
        metavar="PATH",
        help="read the text from a file, or '-' for standard input (one trailing newline is dropped)",
    )
    text.add_argument(
        "--template",
        metavar="NAME",
        help="the text (and tag and media, unless given) of a template; its {variables} are filled per "
        "recipient from their contact and --var",
    )
    send.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a value for the template's {KEY}, for every recipient (wins over their contact's); repeat for several",
    )
    send.add_argument(
        "--media", action="append", default=[], metavar="URL", help="media URL (MMS); repeat for several"
    )
    send.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="PATH",
        help="a local file to send by MMS (image, video, audio, PDF, vCard…; at most 3.5 MB): checked, "
        "uploaded to Bandwidth's media store, then sent as a link; repeat for several "
        "(at most 10 media per message, --media links included)",
    )
    send.add_argument(
        "--from",
        dest="sender",
        metavar="NUMBER",
        help="the sending number (default: BW_NUMBER or the default From)",
    )
    send.add_argument(
        "--tag", default="", help="a tag echoed in Bandwidth's callbacks (at most 1024 characters)"
    )
    send.add_argument(
        "--group",
        action="store_true",
        help="one group MMS to all recipients (everyone sees every number; at most 10)",
    )
    send.add_argument(
        "--yes",
        action="store_true",
        help="confirm sending more than 20 separate messages, or more segments in total than the limit in "
        "Settings (default 10; an MMS counts 1 per message)",
    )
    send.add_argument(
        "--send-again",
        action="store_true",
        help="send even to someone who got this same message minutes ago, or whose earlier send of it got "
        "no answer (it may have gone out): the customer may receive it twice",
    )
    send.add_argument("--json", action="store_true", help="print a JSON array, one object per POST")

    history = sub.add_parser(
        "history",
        help="list sent messages, newest first",
        description="List the messages bwdesk sent from this computer (the window's and the command line's), "
        "newest first: time, state, from → to, text, media, tag and message ID; with --team, the whole "
        "team's from the team database, with who sent them. --refresh first asks Bandwidth for the delivery "
        "status of recent messages. Exit status: 0 listed; 2 invalid input or configuration (--team without a "
        "team history); 3 --refresh was refused (credentials); 4 --refresh could not finish, or --team could "
        "not reach the team database and listed this computer's messages only (the list may be incomplete or "
        "out of date); 1 internal error.",
    )
    history.add_argument(
        "--search",
        metavar="TEXT",
        help="words from the text or tag, a phone number, or four or more of its digits in any punctuation "
        "(0198, 555-0198, '(555) 0198')",
    )
    history.add_argument(
        "--state",
        type=_status_filter,
        metavar="STATE",
        help="only messages with this status: delivered; waiting (being sent, or no final delivery status "
        "yet); failed (accepted but not delivered); rejected; unknown (no answer, or no delivery receipt); "
        "not-sent (never reached Bandwidth)",
    )
    history.add_argument(
        "--team",
        action="store_true",
        help="the team view: every desk's messages from the team database, with who sent them (without it, "
        "this computer's own messages, without asking the network)",
    )
    history.add_argument(
        "--agent", metavar="NAME", help="the team view, only the messages NAME sent (implies --team)"
    )
    history.add_argument(
        "--mine",
        action="store_true",
        help="the team view, only your own messages from any desk (implies --team)",
    )
    history.add_argument(
        "--limit", type=_positive_int, default=50, metavar="N", help="at most N rows (default 50)"
    )
    history.add_argument(
        "--refresh",
        action="store_true",
        help="first update the delivery status of recent messages from the API",
    )
    history.add_argument("--json", action="store_true", help="print a JSON array, one object per row")

    from bwdesk.cli_directory import add_directory_parsers
    from bwdesk.cli_team import add_team_parser

    add_team_parser(sub)
    add_directory_parsers(sub)

    sandbox = sub.add_parser(
        "sandbox",
        help="run the local sandbox API alone (Ctrl+C stops)",
        description="Run the built-in sandbox — a practice Bandwidth Messaging API on this computer — until "
        "Ctrl+C. It prints its address, demo credentials and the variables to set (BWDESK_API_BASE and BW_*) "
        "to try `bwdesk send` and `bwdesk history` without an account. Nothing leaves the machine.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.commands = dict(sub.choices)
    return parser


def _positive_int(value: str) -> int:
    from bwdesk.core.history.store import MAX_PAGE

    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= MAX_PAGE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_PAGE}")
    return number


def _status_filter(value: str) -> StatusFilter:
    from bwdesk.core.status_words import StatusFilter

    try:
        return StatusFilter(value.strip().lower())
    except ValueError:
        choices = ", ".join(choice.value for choice in StatusFilter)
        raise argparse.ArgumentTypeError(f"{value!r} is not a status; use one of {choices}") from None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["--self-test"]:
        # The self-test has options of its own (`--platform xcb`, `--expect-keyring NAME`).
        from bwdesk.selftest import run_self_test

        return run_self_test(arguments[1:])
    if arguments in ([], ["--sandbox"]):
        # The window: nothing to parse, and building every command's parser would only delay it
        # (docs/design.md §3.1).
        args = argparse.Namespace(self_test=False, command=None, sandbox=bool(arguments))
    else:
        parser = build_parser()
        args, unknown = parser.parse_known_args(arguments)
        if unknown:  # said by the command they were given to, with its usage (not the top-level one)
            command = parser.commands.get(args.command or "", parser)
            command.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        if args.self_test:
            from bwdesk.selftest import run_self_test

            return run_self_test()
        if args.command in ("send", "history", "team", *DIRECTORY_COMMANDS):
            _log_to_profile()
        if args.command == "send":
            from bwdesk.cli_send import cmd_send

            return cmd_send(args, _PipeSafe(sys.stdout), sys.stderr)
        if args.command == "history":
            from bwdesk.cli_history import cmd_history

            return cmd_history(args, _PipeSafe(sys.stdout), sys.stderr)
        if args.command == "sandbox":
            return cmd_sandbox(args, sys.stdout, sys.stderr)
        if args.command == "team":
            from bwdesk.cli_team import cmd_team

            return cmd_team(args, _PipeSafe(sys.stdout), sys.stderr)
        if args.command in DIRECTORY_COMMANDS:
            from bwdesk.cli_directory import cmd_directory

            return cmd_directory(args, _PipeSafe(sys.stdout), sys.stderr)
        from bwdesk.ui.app import run_gui

        return run_gui(sandbox=args.sandbox)
    except (UsageError, ConfigError) as exc:
        print(f"bwdesk: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BwdeskError as exc:
        if _is_keyring_problem(exc):
            # The credentials cannot be read (a locked keyring): a configuration problem, nothing was sent.
            print(
                f"bwdesk: {exc} Or give the credentials in the environment: BW_USERNAME and BW_PASSWORD "
                "(or BW_CLIENT_ID and BW_CLIENT_SECRET).",
                file=sys.stderr,
            )
            return EXIT_INVALID
        print(f"bwdesk: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("bwdesk: interrupted", file=sys.stderr)
        return 130


def _is_keyring_problem(exc: BwdeskError) -> bool:
    # Only a command that asked the keyring has loaded it: no keyring import just to look at another error.
    secrets = sys.modules.get("bwdesk.core.secrets")
    return secrets is not None and isinstance(exc, secrets.SecretStoreError)


class TextOut(Protocol):
    """Where a command's output goes (standard output, or a test's buffer)."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class _PipeSafe:
    """Standard output that a reader may close early (`bwdesk send … | head -1`), or that is not there.

    Once the pipe is closed the rest of the output is dropped, and the command carries on: a batch half
    sent because nobody was reading any more would be worse than output nobody reads. The exit status
    and the history still tell the whole story. With no standard output at all (a windowed program on
    Windows, `pythonw`) everything is dropped from the start.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        self._stream = stream
        self.dropped = stream is None

    def write(self, text: str) -> int:
        if not self.dropped and self._stream is not None:
            try:
                self._stream.write(text)
                if "\n" in text:
                    self._stream.flush()
            except OSError as exc:
                self._drop(exc)
        return len(text)

    def flush(self) -> None:
        if not self.dropped and self._stream is not None:
            try:
                self._stream.flush()
            except OSError as exc:
                self._drop(exc)

    def _drop(self, exc: OSError) -> None:
        """Output that cannot be written never stops a batch half way; the log says why it stopped."""
        self.dropped = True
        log = logging.getLogger(__name__)
        if isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EINVAL):  # EINVAL: Windows
            log.info("standard output was closed by its reader; the rest is not shown")
        else:
            log.warning(
                "standard output could not be written (%s); the rest is not shown", exc.strerror or exc
            )
        # Python flushes standard output once more on exit; point it at nothing so that is quiet too.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            assert self._stream is not None
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)


def _log_to_profile() -> None:
    """Commands log to the profile's rotating log like the window (and warnings go there, not twice to the screen)."""
    from bwdesk.core import paths
    from bwdesk.core.logs import setup_logging

    setup_logging(paths.profile_dir())


# --- what more than one command uses -------------------------------------------------------------------


#: How long `bwdesk send` waits at the end for its rows to reach the team database (while it answers).
TEAM_FLUSH_SECONDS = 5.0


def open_history(context: Any, err: IO[str]) -> HistoryStore:
    """The profile's history (the team store when one is set up); why the team is not used goes to `err`."""
    store: HistoryStore = context.history()
    if context.history_notice:
        print(f"bwdesk: warning: {context.history_notice}", file=err)
    return store


def close_history(store: HistoryStore, err: IO[str]) -> None:
    """Close the history; a team store first copies what it can in a moment, and says what still waits
    (the next bwdesk on this profile copies it; the send itself is never failed for it)."""
    flush = getattr(store, "flush", None)
    try:
        if flush is not None and not flush(TEAM_FLUSH_SECONDS):
            state = store.state()  # type: ignore[attr-defined]
            if state.waiting:
                reason = f" ({state.problem})" if state.problem else ""
                print(
                    f"bwdesk: note: {state.waiting} change{'s' if state.waiting != 1 else ''} to this "
                    f"computer's history wait{'s' if state.waiting == 1 else ''} to be copied to the team "
                    f"history{reason}; bwdesk copies them the next time it runs here.",
                    file=err,
                )
    finally:
        store.close()


def read_stdin_text() -> str:
    """Standard input as UTF-8, like a file, whatever the console's code page (Windows: cp1252); a byte-order
    mark is dropped. Raises UnicodeDecodeError for anything else."""
    stdin_bytes = getattr(sys.stdin, "buffer", None)
    return sys.stdin.read() if stdin_bytes is None else stdin_bytes.read().decode("utf-8-sig")


# --- sandbox ---------------------------------------------------------------------------------------------


def cmd_sandbox(args: argparse.Namespace, out: TextIO, err: IO[str]) -> int:
    from bwdesk.sandbox.runner import run_forever

    return run_forever(host=args.host, port=args.port, out=out)


if __name__ == "__main__":  # pragma: no cover
    os._exit(main())
