"""A message's words exactly as the local history's FTS5 index splits them, asked of FTS5 itself, and their tsquery:
what keeps team search equal to local search (docs/design.md §16.6)."""

from __future__ import annotations

import sqlite3

from bwdesk.core.per_thread import PerThread

TOKENIZER = "unicode61 remove_diacritics 2"  # the local history's (core.history): keep them the same

COLUMN_BREAK = "|"


def _make_connection() -> sqlite3.Connection:
    # Used by its own thread only; closed by another once that thread has ended (core/per_thread.py).
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.execute(f"CREATE VIRTUAL TABLE words USING fts5(x, tokenize='{TOKENIZER}')")
    conn.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab(words, 'instance')")
    return conn


_connections: PerThread[sqlite3.Connection] = PerThread(_make_connection, sqlite3.Connection.close)


def _connection() -> sqlite3.Connection:
    """This thread's in-memory FTS5 table and its vocabulary (SQLite connections are not shared across threads)."""
    return _connections.get()[0]


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


def search_terms_many(rows: list[tuple[str, str]]) -> list[str]:
    """`search_terms` of many (text, tag) pairs at once: one pass through the tokeniser (the copier's batches)."""
    if not rows:
        return []
    conn = _connection()
    words: dict[int, list[str]] = {}
    with conn:
        conn.executemany(
            "INSERT INTO words (rowid, x) VALUES (?, ?)",
            [(i + 1, part) for i, part in enumerate(p for row in rows for p in row) if part],
        )
        try:
            for doc, term in conn.execute("SELECT doc, term FROM vocab ORDER BY doc, offset"):
                words.setdefault(int(doc), []).append(str(term))
        finally:
            conn.execute("DELETE FROM words")
    return [
        " ".join([*words.get(2 * i + 1, ()), COLUMN_BREAK, *words.get(2 * i + 2, ())])
        for i in range(len(rows))
    ]


def fts_terms(match: str) -> list[tuple[str, bool]]:
    """The quoted strings of an FTS5 query made by `history.search` (`"a b" "c"*`), each with whether it is a
    prefix; a doubled quote inside a string is one quote."""
    terms: list[tuple[str, bool]] = []
    i = 0
    while i < len(match):
        if match[i] != '"':
            i += 1
            continue
        j, chars = i + 1, []
        while j < len(match):
            if match[j] == '"' and match[j + 1 : j + 2] == '"':
                chars.append('"')
                j += 2
            elif match[j] == '"':
                break
            else:
                chars.append(match[j])
                j += 1
        prefix = match[j + 1 : j + 2] == "*"
        terms.append(("".join(chars), prefix))
        i = j + 1 + prefix
    return terms


def lexeme(word: str) -> str:
    """One word as a tsquery lexeme, quoted as `bwdesk.terms_vector` quotes it."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery(match: str) -> str | None:
    """The PostgreSQL twin of an FTS5 query made by `history.search`: each quoted string a phrase of its words
    (`<->`), the last one a prefix when the string was (`:*`), all of them AND-ed. None when a string has no
    word at all: FTS5 then matches nothing, and so must the team database."""
    parts = []
    for quoted, prefix in fts_terms(match):
        words = tokens(quoted)
        if not words:
            return None
        lexemes = [lexeme(word) for word in words]
        if prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts) if parts else None


__all__ = [
    "COLUMN_BREAK",
    "TOKENIZER",
    "fts_terms",
    "lexeme",
    "search_terms",
    "search_terms_many",
    "tokens",
    "tsquery",
]
