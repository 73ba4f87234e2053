"""What the window asks before a send, in words: a likely duplicate, many or costly messages, a group MMS. The
send session asks once per send, all its reasons in one question (the first, most serious, titles it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bwdesk.core.history.rows import HistoryRow
from bwdesk.core.message import Draft
from bwdesk.core.outcome import SendState
from bwdesk.core.phone import display_number
from bwdesk.core.send_size import Caution, cautions, describe_cautions, send_size
from bwdesk.core.sending import PlannedPost, PossibleDuplicate, sent_at
from bwdesk.core.status_words import describe_error_code, is_undelivered


@dataclass(frozen=True)
class Question:
    """One reason to ask before sending, as the question box would put it."""

    title: str
    text: str
    accept: str


def one_question(questions: Sequence[Question]) -> Question:
    """Every reason in one question (the first, most serious, gives the title and the button): a send is
    asked about once, never with several boxes in a row."""
    first = questions[0]
    return Question(first.title, "\n\n".join(q.text for q in questions), first.accept)


def caution_questions(draft: Draft | Sequence[Draft], segment_limit: int) -> list[Question]:
    """Many separate messages, more segments than the limit, or a group MMS (core's rule): the question.
    Several drafts (a template filled per recipient) are sized together."""
    found = cautions(draft, segment_limit)
    if not found:
        return []
    size = send_size(draft)
    if Caution.GROUP in found:
        title, accept = "Send one group message?", "Send to the group"
    elif Caution.MANY in found:
        title, accept = "Send many messages?", "Send them"
    else:
        title = f"Send {size.total_segments} segments?"
        accept = "Send them" if size.messages > 1 else "Send it"
    return [Question(title, " ".join(describe_cautions(draft, found, segment_limit)), accept)]


def duplicate_question(numbers: Sequence[str], earlier: Sequence[PossibleDuplicate] = ()) -> Question:
    """What may reach a customer twice; the words say whether the earlier one surely went out."""
    who = who_is(numbers)
    if earlier and not any(d.uncertain for d in earlier):
        text = (
            f"This same message was already sent to {who} a few minutes ago (at {sent_at(earlier)}) and "
            "Bandwidth accepted it. Sending it again means the customer receives it twice."
        )
    else:
        text = (
            f"The last attempt to send this message to {who} got no answer from Bandwidth: it may already "
            "have been sent. Sending again could make the customer receive it twice.\n\n"
            "Use “Check status” first if you are not sure."
        )
    if not_asked := getattr(earlier, "team_not_asked", ""):  # the team database did not answer in time
        text += f"\n\n{not_asked}"
    return Question("Send again? It may be a duplicate", text, "Send again anyway")


def draft_of(post: PlannedPost) -> Draft:
    """The message of one planned POST as a draft (to judge its size again before it is sent again)."""
    payload = post.payload
    return Draft(
        sender=str(payload["from"]),
        recipients=tuple(payload["to"]),
        text=str(payload.get("text", "")),
        media=tuple(payload.get("media", ())),
        mode=post.mode,
    )


def who_is(numbers: Sequence[str]) -> str:
    """The recipients as people read them, each once."""
    return ", ".join(display_number(n) for n in dict.fromkeys(numbers))


def opening(text: str, length: int = 40) -> str:
    """The start of a message on one line, to name it in a question or a title."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1].rstrip() + "…"


def send_again_question(row: HistoryRow) -> Question:
    """The history's "Send again…", in words that say what became of the earlier one: maybe sent, sent and
    delivered (a duplicate), not delivered (and why, so a send bound to fail the same way is not mistaken for a
    fix), or never sent; in a team, who sent it. The message is named in its own words, never to be taken for
    the one being written."""
    who = who_is(row.to)
    what = f"“{opening(row.text)}”" if row.text.strip() else f"{len(row.media)} media"
    by = f" by {row.agent}" if not row.own and row.agent else ""  # another desk's row (a team history)
    if row.state in (SendState.UNKNOWN, SendState.SENDING) and by:
        return Question(
            "Send again? It may be a duplicate",
            f"The message {what} sent{by} to {who} on {row.created_local()} got no answer from Bandwidth "
            "(or is still being sent): it may already have been sent. Sending again could make the customer "
            f"receive it twice. Only the desk that sent it can check its status: ask {row.agent}.",
            "Send again anyway",
        )
    if row.state in (SendState.UNKNOWN, SendState.SENDING):
        return duplicate_question(row.to)
    if row.state is SendState.ACCEPTED and is_undelivered(row.delivery_status):
        why = describe_error_code(row.error_code) if row.error_code else "the carrier gave no reason"
        return Question(
            "Send it again? It was not delivered",
            f"The message {what} sent{by} to {who} on {row.created_local()} was accepted by Bandwidth but not "
            f"delivered: {why}. Sending it again will most likely fail the same way unless that has changed.",
            "Send again",
        )
    if row.state is SendState.ACCEPTED:
        return Question(
            "Send it again?",
            f"The message {what} was sent{by} to {who} on {row.created_local()} (Bandwidth accepted it). "
            "Sending it again means the customer receives it twice.",
            "Send again",
        )
    return Question("Send again?", f"Send the message {what} again to {who}?", "Send again")
