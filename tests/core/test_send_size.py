"""What a send makes and bills, and when it asks first (docs/design.md §6.10): the total is segments per message
times messages (an MMS counts 1), a group names everyone, many and costly are one sentence."""

from __future__ import annotations

from bwdesk.core.message import Draft, Mode
from bwdesk.core.send_size import CONFIRM_SEGMENTS_ABOVE, Caution, cautions, describe_cautions, send_size

SENDER = "+19195550100"


# --- sends that ask first ----------------------------------------------------------------------------------


def several(count: int) -> tuple[str, ...]:
    return tuple(f"919555{n:04d}" for n in range(200, 200 + count))


def test_the_total_is_segments_per_message_times_messages_and_an_mms_counts_one_each() -> None:
    long_text = "x" * 400  # 3 GSM-7 segments
    size = send_size(Draft(SENDER, several(6), long_text, region="US"))
    assert (size.messages, size.segments_each, size.total_segments) == (6, 3, 18)
    mms = send_size(Draft(SENDER, several(6), long_text, media=("https://example.com/a.png",), region="US"))
    assert (mms.messages, mms.segments_each, mms.total_segments, mms.mms) == (6, 1, 6, True)
    group = send_size(Draft(SENDER, several(3), long_text, mode=Mode.GROUP, region="US"))
    assert (group.messages, group.total_segments) == (1, 1)
    assert group.participants == ("+19195550200", "+19195550201", "+19195550202")
    # A "group" of one is an ordinary message: nobody else to see, and its text is billed as SMS.
    alone = send_size(Draft(SENDER, several(1), long_text, mode=Mode.GROUP, region="US"))
    assert (alone.participants, alone.total_segments) == ((), 3)


def test_a_send_over_the_segment_limit_asks_naming_the_cost() -> None:
    assert CONFIRM_SEGMENTS_ABOVE == 10
    costly = Draft(SENDER, several(6), "x" * 400, region="US")
    assert cautions(costly) == (Caution.COSTLY,)
    assert describe_cautions(costly, cautions(costly)) == [
        "This sends 6 messages of 3 segments each: 18 segments in total. "
        "That is more than the limit of 10 segments (Settings → Sending)."
    ]
    assert cautions(costly, segment_limit=18) == ()  # at the limit: no question
    assert cautions(Draft(SENDER, several(10), "hi", region="US")) == ()
    assert cautions(Draft(SENDER, several(1), "x" * 2000, region="US")) == (Caution.COSTLY,)


def test_many_and_costly_are_one_sentence_and_a_group_names_everyone() -> None:
    many = Draft(SENDER, several(21), "hi", region="US")
    assert cautions(many) == (Caution.MANY, Caution.COSTLY)
    (sentence,) = describe_cautions(many, cautions(many))
    assert sentence.startswith("This sends 21 messages of 1 segment each: 21 segments in total.")
    assert "more than 20 separate messages and more than the limit of 10 segments" in sentence
    group = Draft(SENDER, several(3), "hi", mode=Mode.GROUP, region="US")
    assert cautions(group) == (Caution.GROUP,)
    (said,) = describe_cautions(group, cautions(group))
    assert "everyone in it sees every number" in said
    assert "(919)\u00a0555-0200, (919)\u00a0555-0201, (919)\u00a0555-0202" in said  # never broken inside
