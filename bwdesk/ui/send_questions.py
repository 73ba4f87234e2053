"""What the window asks before a send, in words: a likely duplicate, many or costly messages, a group MMS. The
send session asks once per send, all its reasons in one question (the first, most serious, titles it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bwdesk.core.message import Draft
from bwdesk.core.phone import display_number
from bwdesk.core.send_size import Caution, cautions, describe_cautions, send_size
from bwdesk.core.sending import PlannedPost, PossibleDuplicate, sent_at


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
