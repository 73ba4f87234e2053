"""Command line: parse arguments and dispatch to the window, `send`, `history` or `sandbox`.

The exit statuses and `--json` field names are an interface scripts rely on (DESIGN §3). Qt is imported
only when the window is wanted, so `bwdesk send` starts quickly and works on a machine without a display.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any, NoReturn, Protocol, TextIO

from bwdesk import __version__
from bwdesk.core.errors import ApiRequestError, BwdeskError, ConfigError
from bwdesk.core.outcome import SendResult, SendState, Trouble
from bwdesk.core.sending import PossibleDuplicate, sent_at

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.attachments import Attachment
    from bwdesk.core.bandwidth import BandwidthClient
    from bwdesk.core.directory.store import DirectoryStore, OptOutList
    from bwdesk.core.history.store import HistoryStore
    from bwdesk.core.message import Draft
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
        "Ctrl+C. It prints its address and demo credentials; set BWDESK_API_BASE and the BW_* variables "
        "from them to try `bwdesk send` and `bwdesk history` without an account. Nothing leaves the machine.",
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
            return cmd_send(args, _PipeSafe(sys.stdout), sys.stderr)
        if args.command == "history":
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


# --- send ------------------------------------------------------------------------------------------------


def cmd_send(args: argparse.Namespace, out: TextOut, err: IO[str]) -> int:
    from bwdesk.core.account import load_context
    from bwdesk.core.directory.choice import open_directory

    text = _read_text(args)
    context = load_context(err=err)
    account = context.account()
    if args.sender is not None and not args.sender.strip():
        raise UsageError("from: --from is empty; give a sending number or sender ID, or leave --from out.")
    sender = args.sender or account.default_from
    if not sender:
        raise ConfigError(
            "from: no sending number. Pass --from NUMBER, set BW_NUMBER, or choose a default From number in Settings."
        )
    directory = open_directory(context)
    try:
        return _send_with_directory(args, text, context, sender, directory, out, err)
    finally:
        directory.close()


def _send_with_directory(
    args: argparse.Namespace,
    text: str,
    context: Context,
    sender: str,
    directory: DirectoryStore,
    out: TextOut,
    err: IO[str],
) -> int:
    """`bwdesk send` once the do-not-text list, the templates and the contacts are at hand (docs/design.md §17)."""
    from bwdesk import cli_directory_send
    from bwdesk.core import message, sending

    account = context.account()
    template = cli_directory_send.chosen_template(args, context, directory)
    if template is not None:
        text = template.text
    # Files are checked before anything else touches the network: a bad one stops the send with its name.
    media = _unique([*(template.media if template else ()), *args.media], "media", err)
    files = _check_attachments(_unique(args.attach, "attach", err))
    total = len(media) + len(files)
    if total > message.MAX_MEDIA:
        raise UsageError(
            f"media: at most {message.MAX_MEDIA} media can go in one message, --media links and --attach files "
            f"together; this one has {total}. Nothing was sent."
        )
    client = context.client()
    try:
        draft = message.Draft(
            sender=sender,
            # `--to "a, b"` is two recipients, as in the window (numbers themselves contain spaces).
            recipients=tuple(
                part.strip() for value in args.to for part in re.split(r"[,;\n]", value) if part.strip()
            ),
            text=text,
            # Each file's link is known before it is uploaded (its name comes from its contents), so the
            # whole message is checked — and the duplicate guard asked — before anything is uploaded.
            media=(*media, *(client.media_url(f.attachment.name) for f in files)),
            tag=args.tag or (template.tag if template else ""),
            mode=message.Mode.GROUP if args.group else message.Mode.SEPARATE,
            region=account.region,
        )
        problems = message.validate(draft)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise UsageError("; ".join(_problem_text(p) for p in errors) + ". Nothing was sent.")
        for warning in problems:
            print(f"bwdesk: warning: {_problem_text(warning)}", file=err)
        recipients = message.recipients_e164(draft)
        cli_directory_send.refuse_opted_out(directory, recipients, err)
        drafts = [draft]
        if template is not None:  # filled per recipient (or once for a group), each checked as it will go
            values = cli_directory_send.explicit_values(args, template, err)
            drafts = cli_directory_send.filled_drafts(draft, template, values, directory)
            errors = [p for d in drafts for p in message.validate(d) if p.severity == "error"]
            if errors:
                raise UsageError("; ".join(dict.fromkeys(map(_problem_text, errors))) + ". Nothing was sent.")
        if not args.yes:
            _refuse_unconfirmed_size(drafts, context.settings.confirm_segments_above)
        store = _open_history(context, err)
        try:
            if not args.send_again:
                posts = [post for d in drafts for post in sending.plan(d, account.application_id)]
                check = sending.find_possible_duplicates(store, posts)
                _refuse_likely_duplicates(check, recipients)
                if check.team_problem is not None:
                    print(f"bwdesk: warning: {check.team_problem} {check.team_not_asked}", file=err)
            uploaded = _upload(client, files, err)
            if uploaded is None:
                return EXIT_UPLOAD_FAILED
            drafts = [replace(d, media=(*media, *uploaded)) for d in drafts]
            return _send_and_report(drafts, account.application_id, client, store, directory, args, out, err)
        finally:
            _close_history(store, err)
    finally:
        client.close()


#: How long `bwdesk send` waits at the end for its rows to reach the team database (while it answers).
TEAM_FLUSH_SECONDS = 5.0


def _open_history(context: Any, err: IO[str]) -> HistoryStore:
    """The profile's history (the team store when one is set up); why the team is not used goes to `err`."""
    store: HistoryStore = context.history()
    if context.history_notice:
        print(f"bwdesk: warning: {context.history_notice}", file=err)
    return store


def _close_history(store: HistoryStore, err: IO[str]) -> None:
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


def _send_and_report(
    drafts: Sequence[Draft],
    application_id: str,
    client: BandwidthClient,
    store: HistoryStore,
    directory: OptOutList,
    args: argparse.Namespace,
    out: TextOut,
    err: IO[str],
) -> int:
    from bwdesk.cli_directory_send import tell_news
    from bwdesk.core import sending
    from bwdesk.core.directory.optout import OptOutRecorder
    from bwdesk.core.message import message_count

    recorder = OptOutRecorder(directory)  # an answer saying 4482 puts the number on the list, and says so
    sent: list[sending.SentPost] = []

    def report(post: sending.SentPost) -> None:
        sent.append(post)
        if not args.json:
            print(_result_line(post), file=out, flush=True)
        if post.history_problem:
            print(f"bwdesk: warning: {post.history_problem}", file=err, flush=True)

    try:
        for draft in drafts:  # one per recipient when a template was filled for each
            sending.send_draft(
                draft, application_id, client, store, on_sent=report, on_settled=recorder.after_send
            )
            trouble = sent[-1].result.trouble if sent else None
            if trouble is not None and trouble.stops_batch:
                break  # the account or the connection: the next recipients would be refused the same way
    except sending.NotRecorded as exc:
        # What went out is printed above; the rest was not sent because it could not be recorded first.
        print(f"bwdesk: {exc} The remaining messages were not sent either.", file=err)
        status = EXIT_NOT_CONFIRMED
    else:
        status = exit_status(post.result for post in sent)
        _say_what_stopped(sent, sum(message_count(d) for d in drafts), err)
    tell_news(recorder, err)
    if args.json:
        json.dump([_post_json(store, post) for post in sent], out, ensure_ascii=False)
        out.write("\n")
    return status


def _say_what_stopped(sent: Sequence[Any], planned: int, err: IO[str]) -> None:
    """Trouble with the account or the connection stopped the batch: say why, and how many were not sent."""
    left = planned - len(sent)
    trouble = sent[-1].result.trouble if sent else None
    if left > 0 and trouble is not None:
        from bwdesk.core.status_words import describe_trouble

        print(
            f"bwdesk: sending stopped: {describe_trouble(trouble)}, and the other "
            f"{left} message{'s' if left != 1 else ''} would fail the same way; "
            f"{'they were' if left != 1 else 'it was'} not sent.",
            file=err,
        )


# --- send --attach -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _File:
    """A checked --attach file and the bytes to upload (read once, so what was checked is what goes)."""

    attachment: Attachment
    data: bytes


def _unique(values: Sequence[str], flag: str, err: IO[str]) -> list[str]:
    """The values of --`flag` once each, in order; a repeat is said (as the window's "Already in the list").

    Links are the same when their text is; files when their paths lead to the same place."""
    from pathlib import Path

    seen: dict[str, str] = {}
    for value in values:
        value = value.strip() if flag == "media" else value
        if not value:
            continue
        key = value if flag == "media" else os.path.normcase(str(Path(value).resolve()))
        if key in seen:
            print(f"bwdesk: warning: {flag}: {value} is given twice; it goes in the message once", file=err)
            continue
        seen[key] = value
    return list(seen.values())


def _check_attachments(paths: Sequence[str]) -> list[_File]:
    """Check every --attach file as the window does; all problems at once, each naming its file (exit 2)."""
    if not paths:
        return []
    import hashlib

    from bwdesk.core.attachments import AttachmentError, check_attachment, media_name

    files: list[_File] = []
    problems: list[str] = []
    for path in paths:
        try:
            attachment = check_attachment(path)
            data = attachment.read_data()
        except AttachmentError as exc:
            problems.append(str(exc))
            continue
        # Named after its contents: the same file in the same command gives the same link, so running a
        # command again is caught by the duplicate guard, and uploading again replaces the same bytes.
        unique = hashlib.sha256(data).hexdigest()[:16]
        files.append(_File(replace(attachment, name=media_name(attachment.file_name, unique)), data))
    if len(problems) == 1:
        raise UsageError(f"attach: {problems[0]}. Nothing was sent.")
    if problems:
        listed = "".join(f"\n  {problem}" for problem in problems)
        raise UsageError(f"attach: {len(problems)} files cannot be sent:{listed}\nNothing was sent.")
    return files


def _upload(client: BandwidthClient, files: Sequence[_File], err: IO[str]) -> list[str] | None:
    """Upload each file to the media store; its link, in order. None (said on `err`) when one failed."""
    links: list[str] = []
    for file in files:
        try:
            links.append(client.upload_media(file.attachment.name, file.data, file.attachment.content_type))
        except ApiRequestError as exc:
            print(
                f"bwdesk: attach: {file.attachment.file_name} could not be uploaded: {_api_problem(exc)} Nothing "
                "was sent; running the same command again is safe.",
                file=err,
            )
            return None
        log.info("attached %s as %s", file.attachment.file_name, file.attachment.name)
    return links


def _api_problem(exc: ApiRequestError) -> str:
    """An API call's failure in words, with what to check for account or connection trouble."""
    from bwdesk.core.errors import trouble_of

    reason = str(exc).strip().rstrip(".") or type(exc).__name__
    if exc.http_status is not None:
        reason = f"HTTP {exc.http_status}: {reason}"
    hint = _trouble_hint(trouble_of(exc))
    return f"{reason}. {hint}" if hint else f"{reason}."


def _trouble_hint(trouble: Trouble | None) -> str:
    """What to check when the trouble is the account or the connection (core's classification, which the
    window uses too), in the command line's terms: the variables and the saved settings."""
    if trouble is Trouble.SIGN_IN:
        return (
            "The credentials were not accepted: check BW_USERNAME and BW_PASSWORD (or BW_CLIENT_ID and "
            "BW_CLIENT_SECRET), or the ones saved in the window's Settings."
        )
    if trouble is Trouble.ACCESS:
        return (
            "These credentials may not send for this account: check BW_ACCOUNT_ID, and that the API "
            "user has the Messaging role."
        )
    if trouble is Trouble.CONNECTION:
        return (
            "Check the network connection, a proxy (HTTPS_PROXY), and the API base URL (BWDESK_API_BASE, "
            "or the window's Settings)."
        )
    return ""


def exit_status(results: Iterable[SendResult]) -> int:
    """0 all accepted; 4 if any failed or unknown; otherwise 3 if any rejected."""
    states = {r.state for r in results}
    if states & {SendState.FAILED, SendState.UNKNOWN, SendState.SENDING}:
        return EXIT_NOT_CONFIRMED
    if SendState.REJECTED in states:
        return EXIT_REJECTED
    return EXIT_OK


def _refuse_unconfirmed_size(drafts: Sequence[Draft], segment_limit: int) -> None:
    """Many or costly sends go only with --yes (the window asks the same question, core decides when).

    A group MMS is not asked about here: `--group` is itself the explicit choice, given on this command."""
    from bwdesk.core.send_size import Caution, cautions, describe_cautions

    found = [c for c in cautions(drafts, segment_limit) if c is not Caution.GROUP]
    if found:
        sentences = " ".join(describe_cautions(drafts, found, segment_limit))
        raise UsageError(f"to: {sentences} Add --yes to confirm. Nothing was sent.")


def _refuse_likely_duplicates(earlier: Sequence[PossibleDuplicate], recipients: Sequence[str]) -> None:
    """The CLI's "Send again…" confirmation (DESIGN §4): an identical message to someone it may have
    reached, or reached minutes ago, is only sent with --send-again. The refusal names who to leave out
    so that the rest of a batch can go on its own, who sent the earlier one when it was another agent, and
    that only this desk was checked when the team could not be asked."""
    if not earlier:
        return
    not_asked = getattr(earlier, "team_not_asked", "")
    who = list(dict.fromkeys(d.recipient for d in earlier))
    when = sent_at(earlier)
    if any(d.uncertain for d in earlier):
        what = (
            f"the same message to {', '.join(who)} got no answer from Bandwidth at {when}: it may already have "
            "been sent, and sending it again could make the customer receive it twice. Check first with "
            "`bwdesk history --refresh`"
        )
    else:
        what = (
            f"the same message was sent to {', '.join(who)} at {when} and Bandwidth accepted it; sending it "
            "again means the customer receives it twice"
        )
    others = [n for n in recipients if n not in who]
    leave_out = f"; leave {' and '.join(who)} out of --to to send to the others" if others else ""
    note = f" {not_asked}" if not_asked else ""
    raise UsageError(f"to: {what}{leave_out}; or add --send-again to send it anyway. Nothing was sent.{note}")


def _post_json(store: Any, post: Any) -> dict[str, Any]:
    """The DESIGN §3 object for one POST: its history row, or — if the history could not save the outcome —
    the same fields built from the result itself (one object per POST, whatever the history did)."""
    row = None if post.history_problem else store.get(post.row_id)
    if row is not None:
        return dict(row.to_json())
    result, payload = post.result, post.post.payload
    return {
        "id": post.row_id,
        "created": None,
        "updated": None,
        "from": payload["from"],
        "to": list(payload["to"]),
        "mode": post.post.mode.value,
        "text": payload.get("text") or None,
        "media": list(payload.get("media", [])),
        "tag": payload.get("tag") or None,
        "state": result.state.value,
        "message_id": result.message_id,
        "segments": result.segments,
        "http_status": result.http_status,
        "error": result.error.to_json() if result.error else None,
        "delivery_status": None,
        "error_code": None,
        "agent": getattr(store, "agent", None),
        "desk": getattr(store, "desk_id", None),
    }


def _read_text(args: argparse.Namespace) -> str:
    """The message text, its line breaks made one `\\n` each as the window makes them (a CRLF file from
    Windows is not refused for its CRs); any other control character is left for validation to name."""
    from bwdesk.core.message import normalise_line_breaks

    return normalise_line_breaks(_read_raw_text(args))


def _read_raw_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    if args.text_file is None:
        return ""
    try:
        if args.text_file == "-":
            data = sys.stdin.read()
        else:
            with open(args.text_file, encoding="utf-8-sig") as handle:
                data = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"text: cannot read --text-file {args.text_file}: {_os_reason(exc)}") from None
    data = data.removeprefix("\ufeff")  # a byte-order mark (Windows Notepad) is not part of the message
    if data.endswith("\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith("\n") else data


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def _problem_text(problem: Any) -> str:
    return f"{problem.field}: {problem.message}"


def _result_line(post: Any) -> str:
    result = post.result
    to = ", ".join(post.post.recipients)
    if result.state is SendState.ACCEPTED:
        segments = (
            f" ({result.segments} segment{'s' if result.segments != 1 else ''})" if result.segments else ""
        )
        return f"accepted  {to}  {result.message_id}{segments}"
    if result.state is SendState.REJECTED:
        lines = [f"rejected  {to}  {_error_summary(result)}"]
        if result.error is not None:
            lines.extend(f"    {f.field}: {f.description}" for f in result.error.field_errors)
        hint = _trouble_hint(result.trouble)
        if hint:
            lines.append(f"    {hint}")
        return "\n".join(lines)
    detail = (result.detail or "").strip().rstrip(".")
    described = (result.error.description if result.error else "").strip().rstrip(".")
    if result.error is not None and result.error.type:  # Bandwidth's own error: its words add to ours
        reason = detail if described in detail else "; ".join(p for p in (detail, described) if p)
    else:  # bwdesk's words twice over (a proxy's page, a broken answer): the fuller one says it all
        reason = max((detail, described), key=len)
    if result.state is SendState.FAILED:
        line = f"failed    {to}  {reason if reason.startswith('not sent') else 'not sent: ' + reason}"
        hint = _trouble_hint(result.trouble)
        return f"{line}\n    {hint}" if hint else line
    return (
        f"unknown   {to}  {reason}. It may have been sent: `bwdesk history --refresh` asks Bandwidth whether it "
        "has it; check that before sending again."
    )


def _error_summary(result: Any) -> str:
    error = result.error
    parts = [f"HTTP {result.http_status}" if result.http_status else ""]
    if error is not None:
        parts.append(f"{error.type}:" if error.type else "")
        parts.append(error.description)
    return " ".join(p for p in parts if p)


# --- history ---------------------------------------------------------------------------------------------


def cmd_history(args: argparse.Namespace, out: TextOut, err: IO[str]) -> int:
    from dataclasses import replace

    from bwdesk.core.account import load_context
    from bwdesk.core.history.search import HistoryQuery

    context = load_context(err=err)
    team = bool(args.team or args.agent is not None or args.mine)
    store = _open_history(context, err)
    try:
        if team and not hasattr(store, "search_page"):
            raise ConfigError(
                context.history_notice
                or "--team: no team history is set up. Set BWDESK_HISTORY_URL, or the team history URL in "
                "Settings (a postgresql:// URL without a password); without --team, this computer's "
                "messages are listed."
            )
        status = EXIT_OK
        if args.refresh:
            from bwdesk.cli_directory_send import refresh_filling_the_list

            client = context.client(for_sending=False)
            try:
                report = refresh_filling_the_list(context, store, client, err)
            finally:
                client.close()
            if not report.complete:
                # The list below may be stale; a script must be able to tell.
                status = EXIT_REJECTED if report.refused else EXIT_NOT_CONFIRMED
        query = replace(HistoryQuery.from_text(args.search or "", context.settings.region), status=args.state)
        if not team:
            rows = store.search(replace(query, this_desk=True), limit=args.limit)
        else:
            agent = args.agent.strip() if args.agent is not None else None
            if args.mine:
                agent = store.agent  # type: ignore[attr-defined]
            page = store.search_page(replace(query, agent=agent or None), limit=args.limit)  # type: ignore[attr-defined]
            rows = page.rows
            if page.problem is not None:
                # The list is this computer's part only: a script must be able to tell.
                print(f"bwdesk: warning: {page.problem} Listing this computer's messages only.", file=err)
                status = EXIT_NOT_CONFIRMED
        if args.json:
            json.dump([row.to_json() for row in rows], out, ensure_ascii=False)
            out.write("\n")
        else:
            _print_history_table(rows, out, args.search, args.state, team=team)
        return status
    finally:
        _close_history(store, err)


def _print_history_table(
    rows: Sequence[Any],
    out: TextOut,
    search: str | None = None,
    state: StatusFilter | None = None,
    *,
    team: bool = False,
) -> None:
    from bwdesk.core.status_words import describe_error_code, status_label

    if not rows:
        which = f" with status {state.value}" if state is not None else ""
        if search:
            print(f"No messages{which} match {search!r}.", file=out)
        else:
            print(f"No messages{which}." if which else "No messages in the history yet.", file=out)
        return
    for row in rows:
        text = _shown(row.text or "", 40)
        media = f" +{len(row.media)} media" if row.media else ""
        tag = f"  tag: {_shown(row.tag, 30)}" if row.tag else ""
        who = f"{_shown(row.agent or '', 16):<16}  " if team else ""
        print(
            f"{row.created_local()}  {who}{status_label(row, with_reason=False):<22} {row.sender:>14} → {', '.join(row.to):<14}  "
            f"{text}{media}{tag}  {row.message_id or ''}".rstrip(),
            file=out,
        )
        if row.error_code:
            print(f"{'':18}{describe_error_code(row.error_code)}", file=out)


def _shown(value: str, width: int) -> str:
    """One line of at most `width` characters, for the terminal: whitespace runs become one space and control
    characters (an ESC from a pasted terminal sequence) are shown as \\xNN, not obeyed by the terminal."""
    line = "".join(
        f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in " ".join(value.split())
    )
    return line[: width - 1] + "…" if len(line) > width else line


# --- sandbox ---------------------------------------------------------------------------------------------


def cmd_sandbox(args: argparse.Namespace, out: TextIO, err: IO[str]) -> int:
    from bwdesk.sandbox.runner import run_forever

    return run_forever(host=args.host, port=args.port, out=out)


if __name__ == "__main__":  # pragma: no cover
    os._exit(main())
