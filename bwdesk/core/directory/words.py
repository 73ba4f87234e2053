"""How names are matched as they are typed (case- and accent-insensitive, from the start of a word): one way for
contacts, templates and autocomplete, so it lives in one place (docs/design.md §17.5)."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Iterator

# Apostrophes join a word ("O'Brien" is one word, "obrien"); anything else that is not a letter or a digit
# separates words ("Anne-Marie" is "anne" and "marie").
_APOSTROPHES = re.compile("['\u2019\u02bc`]")
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """`text` without case, accents or apostrophes, compatibility characters made plain ("Ｚｏë" → "zoe")."""
    text = _APOSTROPHES.sub("", text)
    if text.isascii():  # most names: nothing to decompose (and indexing 100,000 of them is 3× faster)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    return split_folded(fold(text))


def split_folded(folded: str) -> list[str]:
    """The words of an already folded text."""
    return _WORD.findall(folded)


def word_starts(text: str) -> str:
    """The folded words of `text` as one string, each after a space: `" " + q in word_starts(t)` is whether some
    word of `t` starts with `q`, answered at C speed (matching per keystroke runs over many names)."""
    found = words(text)
    return " " + " ".join(found) if found else ""


def needles(query: str) -> list[str]:
    """What to look for in `word_starts` strings: each folded word of `query` after a space."""
    return [f" {word}" for word in words(query)]


class Lines:
    """Many short strings kept as one, so that those containing a substring are found at C speed (one `find`
    per match) instead of by a Python loop over all of them. The strings must not contain line breaks."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._starts = [0]
        parts = []
        for line in lines:
            parts.append(line)
            self._starts.append(self._starts[-1] + len(line) + 1)
        self._blob = "\n".join(parts) + "\n"

    def __getitem__(self, index: int) -> str:
        return self._blob[self._starts[index] : self._starts[index + 1] - 1]

    def containing(self, needle: str) -> Iterator[int]:
        """The indexes of the strings that contain `needle`, in order, each once."""
        position = self._blob.find(needle)
        while position >= 0:
            line = bisect.bisect_right(self._starts, position) - 1
            yield line
            position = self._blob.find(needle, self._starts[line + 1])
