"""How names are matched as they are typed: case- and accent-insensitive, from the start of a word.

"ann" finds "Ann Lee", "Anne-Marie Dupont" and "Lee, Ann"; "zoe" finds "Zoë"; "obr" finds "O'Brien". Contacts,
templates and (in the window) recipients' autocomplete all match this way, so it lives in one place.
"""

from __future__ import annotations

import re
import unicodedata

# Apostrophes join a word ("O'Brien" is one word, "obrien"); anything else that is not a letter or a digit
# separates words ("Anne-Marie" is "anne" and "marie").
_APOSTROPHES = re.compile("['\u2019\u02bc`]")
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """`text` without case, accents or apostrophes, compatibility characters made plain ("Ｚｏë" → "zoe")."""
    decomposed = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    return _WORD.findall(fold(text))


def matches_words(query_words: list[str], text_words: list[str]) -> bool:
    """True when every query word starts some word of the text (each may start the same word)."""
    return all(any(word.startswith(q) for word in text_words) for q in query_words)
