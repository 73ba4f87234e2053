"""What a send makes and bills, and when it asks first (many messages, costly, a group MMS): one rule for the window
and `bwdesk send` (docs/design.md §6.10)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bwdesk.core import phone
from bwdesk.core.message import (
    CONFIRM_SEPARATE_ABOVE,
    Draft,
    Mode,
    is_mms,
    message_count,
    recipients_e164,
    segments_per_message,
)

CONFIRM_SEGMENTS_ABOVE = 10  # default of the `confirm_segments_above` setting: billed segments beyond it ask

__all__ = ["CONFIRM_SEGMENTS_ABOVE", "Caution", "SendSize", "cautions", "describe_cautions", "send_size"]


class Caution(StrEnum):
    """Why a send asks before it goes (the window asks once naming them all; the CLI wants --yes)."""

    MANY = "many"  # more separate messages than CONFIRM_SEPARATE_ABOVE
    COSTLY = "costly"  # more billed segments in total than the limit
    GROUP = "group"  # a group MMS: every participant sees every number


@dataclass(frozen=True)
class SendSize:
    """What sending a draft makes and bills: its messages (POSTs), the segments each is billed (1 for an
    MMS; the most of any when a template filled each recipient's text apart), and, for a group MMS, who takes
    part."""

    messages: int
    segments_each: int
    mms: bool
    participants: tuple[str, ...] = ()  # E.164, for a group MMS only
    total: int | None = None  # when the messages differ in length; else messages × segments_each

    @property
    def total_segments(self) -> int:
        return self.messages * self.segments_each if self.total is None else self.total


def send_size(draft: Draft | Sequence[Draft]) -> SendSize:
    """The size of sending `draft` as `plan` would (a "group" of one is an ordinary message); of several
    drafts (a template filled per recipient), all of them together."""
    if isinstance(draft, Draft):
        numbers = recipients_e164(draft)
        group = draft.mode == Mode.GROUP and len(numbers) > 1
        return SendSize(
            messages=message_count(draft),
            segments_each=segments_per_message(draft),
            mms=is_mms(draft),
            participants=tuple(numbers) if group else (),
        )
    sizes = [send_size(one) for one in draft]
    if len(sizes) == 1:
        return sizes[0]
    return SendSize(
        messages=sum(s.messages for s in sizes),
        segments_each=max((s.segments_each for s in sizes), default=0),
        mms=any(s.mms for s in sizes),
        participants=tuple(n for s in sizes for n in s.participants),
        total=sum(s.total_segments for s in sizes),
    )


def cautions(
    draft: Draft | Sequence[Draft], segment_limit: int = CONFIRM_SEGMENTS_ABOVE
) -> tuple[Caution, ...]:
    """Why sending `draft` (or all of several drafts) should be confirmed first: more than
    `CONFIRM_SEPARATE_ABOVE` separate messages, more than `segment_limit` segments in total, a group MMS.
    Empty: it goes without a question."""
    size = send_size(draft)
    found: list[Caution] = []
    if not size.participants and size.messages > CONFIRM_SEPARATE_ABOVE:
        found.append(Caution.MANY)
    if size.total_segments > segment_limit:
        found.append(Caution.COSTLY)
    if size.participants:
        found.append(Caution.GROUP)
    return tuple(found)


def describe_cautions(
    draft: Draft | Sequence[Draft], found: Sequence[Caution], segment_limit: int = CONFIRM_SEGMENTS_ABOVE
) -> list[str]:
    """The cautions in sentences, one per concern: the cost (what is sent and billed, and which limit it
    passes) and the participants of a group. The window's question and the CLI's refusal both say these."""
    size = send_size(draft)
    sentences: list[str] = []
    if Caution.MANY in found or Caution.COSTLY in found:
        limits = []
        if Caution.MANY in found:
            limits.append(f"more than {CONFIRM_SEPARATE_ABOVE} separate messages")
        if Caution.COSTLY in found:
            limits.append(f"more than the limit of {_plural(segment_limit, 'segment')} (Settings → Sending)")
        sentences.append(f"{_describe_size(size)}. That is {' and '.join(limits)}.")
    if Caution.GROUP in found:
        # Each number kept on one line (no break inside "(919) 555-0123"), the list wrapping between them.
        region = draft.region if isinstance(draft, Draft) else next((d.region for d in draft), None)
        who = ", ".join(phone.display_number(n, region).replace(" ", "\u00a0") for n in size.participants)
        sentences.append(
            f"This is one group MMS to {len(size.participants)} numbers: everyone in it sees every number, "
            f"and replies go to the whole group: {who}."
        )
    return sentences


def _describe_size(size: SendSize) -> str:
    """ "This sends 6 messages of 3 segments each: 18 segments in total" (an MMS counts as 1 segment)."""
    total = _plural(size.total_segments, "segment")
    if size.mms:
        kind = "MMS message" if size.messages == 1 else "MMS messages, each counted as 1 segment"
        return f"This sends {size.messages} {kind}: {total} in total"
    if size.messages == 1:
        return f"This sends 1 message of {total}"
    each = _plural(size.segments_each, "segment")
    if size.total_segments != size.messages * size.segments_each:  # filled apart: the lengths differ
        return f"This sends {size.messages} messages of up to {each} each: {total} in total"
    return f"This sends {size.messages} messages of {each} each: {total} in total"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
