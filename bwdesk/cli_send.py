"""`bwdesk send`: a message (or a template's, per recipient) checked, confirmed when costly, sent and reported
with the exit statuses scripts rely on (docs/design.md §4.2, §4.6)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any

from bwdesk.cli import (
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UPLOAD_FAILED,
    TextOut,
    UsageError,
    close_history,
    open_history,
    read_stdin_text,
)
from bwdesk.core.errors import ApiRequestError, ConfigError
from bwdesk.core.outcome import SendResult, SendState, Trouble
from bwdesk.core.sending import PossibleDuplicate, sent_at

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.attachments import Attachment
    from bwdesk.core.bandwidth import BandwidthClient
    from bwdesk.core.directory.store import DirectoryStore, OptOutList
    from bwdesk.core.history.store import HistoryStore
    from bwdesk.core.message import Draft

log = logging.getLogger("bwdesk.cli")


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
        store = open_history(context, err)
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
            close_history(store, err)
    finally:
        client.close()


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
        field = "to" if Caution.MANY in found else "text"  # too many recipients, or a costly text for them
        raise UsageError(f"{field}: {sentences} Add --yes to confirm. Nothing was sent.")


def _refuse_likely_duplicates(earlier: Sequence[PossibleDuplicate], recipients: Sequence[str]) -> None:
    """The CLI's "Send again…" confirmation (docs/design.md §6): an identical message to someone it may have
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
    """The JSON object for one POST (docs/design.md §4.7): its history row, or — if the history could not save the outcome —
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
            data = read_stdin_text()
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
