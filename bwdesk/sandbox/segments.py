"""The sandbox's own SMS segment counter, written apart from the client's so that each can catch the other
(docs/design.md §11.2)."""

from __future__ import annotations

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _pack(costs: list[int], single: int, part: int) -> int:
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return segments


def sms_segments(text: str) -> int:
    """How many SMS segments `text` takes (at least 1, as Bandwidth reports for any SMS)."""
    if is_gsm7(text):
        return _pack([2 if c in GSM7_EXTENSION else 1 for c in text], GSM7_SINGLE, GSM7_PART)
    return _pack([2 if ord(c) > 0xFFFF else 1 for c in text], UCS2_SINGLE, UCS2_PART)
