"""The words of a message exactly as the local history's full-text index sees them.

The team database cannot be trusted to split words as SQLite's FTS5 `unicode61 remove_diacritics 2`
tokeniser does (docs/design.md §16.6), so bwdesk asks that tokeniser itself: an in-memory FTS5 table
with the same tokenizer, and its `fts5vocab` instance table, give each word as FTS5 indexed it (folded,
without diacritics) in order. `search_terms` is what the `search_terms` column of a team row holds; a
query built from `tokens` of what a person typed then matches the same rows on both stores.

One in-memory database per thread (SQLite connections are not shared across threads).
"""

from __future__ import annotations

import sqlite3
import threading

TOKENIZER = "unicode61 remove_diacritics 2"  # the local history's (core.history): keep them the same
COLUMN_BREAK = "|"

_local = threading.local()


def _connection() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:", check_same_thread=True)
        conn.execute(f"CREATE VIRTUAL TABLE words USING fts5(x, tokenize='{TOKENIZER}')")
        conn.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab(words, 'instance')")
        _local.conn = conn
    return conn


def tokens(text: str) -> list[str]:
    """The words of `text` in order, as the local full-text index stores them."""
    if not text:
        return []
    conn = _connection()
    with conn:
        conn.execute("INSERT INTO words (rowid, x) VALUES (1, ?)", (text,))
        try:
            rows = conn.execute("SELECT term FROM vocab WHERE doc = 1 ORDER BY offset").fetchall()
        finally:
            conn.execute("DELETE FROM words WHERE rowid = 1")
    return [str(row[0]) for row in rows]


def search_terms(text: str, tag: str) -> str:
    """What a team row's `search_terms` holds: the text's words, `|`, the tag's words."""
    return " ".join([*tokens(text), COLUMN_BREAK, *tokens(tag)])


__all__ = ["COLUMN_BREAK", "TOKENIZER", "search_terms", "tokens"]
