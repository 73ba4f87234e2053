"""Search parity, the groundwork: words written by bwdesk, matched by PostgreSQL as SQLite's FTS5 matches them.

The local history's FTS5 index (tokenizer `unicode61 remove_diacritics 2`) and the team database's `search`
column must find the same rows for the same typed words (docs/design.md §16.6). Here both stores get the same
generated texts (accents, ligatures, other scripts, emoji, e-mail addresses, URLs, hyphens, numbers) and the
same queries (whole words, prefixes, phrases); the local side uses the history's own query builder.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest
from pgserver import AGENT_USER

from bwdesk.core.history.search import fts_query
from bwdesk.core.team.terms import TOKENIZER, search_terms, tokens, tsquery

PIECES = [
    "Café", "crème", "naïve", "Straße", "STRASSE", "Ærø", "œuvre", "ﬁle", "İstanbul", "Ελληνικά", "ΆΛΦΑ",
    "Привет", "中文", "日本語", "한국어", "עברית", "العربية", "😀", "👍🏽", "e-mail", "a@b.com", "example.com/x",
    "foo-bar", "3.14", "4242", "TICKET-4242", "v1.2.3", "don't", "l'été", "½", "²", "Ⅻ", "x\u0301y", "ǅemal",
    "tech", "technician", "TECHNICAL", "on", "the", "way", "(919) 555-0123", "#42", "$5", "…", "—", "|", "\\",
]  # fmt: skip


def texts(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        text = " ".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))
        tag = rng.choice(["", "", rng.choice(PIECES), f"{rng.choice(PIECES)}-{rng.randint(1, 999)}"])
        rows.append((text, tag))
    return rows


def queries(rows: list[tuple[str, str]], seed: int) -> list[str]:
    """What people type: a word, a word's start with `*`, a quoted phrase, two words."""
    rng = random.Random(seed)
    typed: list[str] = []
    for text, tag in rows:
        words = (text + " " + tag).split()
        if not words:
            continue
        word = rng.choice(words)
        typed.append(word)
        typed.append(word.upper())
        if len(word) > 3:
            typed.append(word[: rng.randint(2, len(word) - 1)] + "*")
        if len(words) > 1:
            i = rng.randrange(len(words) - 1)
            typed.append(f'"{words[i]} {words[i + 1]}"')
            typed.append(f"{words[i]} {rng.choice(words)}")
    return typed


def test_tokens_are_fts5s_own_words() -> None:
    assert tokens("Café crème — example.com/x foo-bar İstanbul") == [
        "cafe", "creme", "example", "com", "x", "foo", "bar", "istanbul",
    ]  # fmt: skip
    assert tokens("😀 … —") == []
    assert search_terms("Your technician", "TICKET-4242") == "your technician | ticket 4242"
    assert search_terms("", "") == "|"


@pytest.mark.parametrize("seed", [1, 2])
def test_the_same_words_find_the_same_rows_in_sqlite_and_postgresql(
    pg_server: Any, team_database: str, seed: int
) -> None:
    rows = texts(seed, 150)
    local = sqlite3.connect(":memory:")
    local.execute(f"CREATE VIRTUAL TABLE history_fts USING fts5(text, tag, tokenize='{TOKENIZER}')")
    local.executemany("INSERT INTO history_fts (rowid, text, tag) VALUES (?, ?, ?)", [
        (i, text, tag) for i, (text, tag) in enumerate(rows, 1)
    ])  # fmt: skip
    with pg_server.connect(team_database, user=AGENT_USER) as conn:
        conn.execute(
            "INSERT INTO bwdesk.desks (desk_id, agent) VALUES ('00000000-0000-4000-8000-000000000001', 'A')"
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO bwdesk.messages (row_uid, desk_id, local_id, revision, agent, created, updated, sender, "
                "recipients, mode, text, tag, state, search_terms) VALUES (gen_random_uuid(), "
                "'00000000-0000-4000-8000-000000000001', %s, 1, 'A', now(), now(), '+19195550100', "
                "ARRAY['+19195550123'], 'separate', %s, %s, 'accepted', %s)",
                [(i, text, tag, search_terms(text, tag)) for i, (text, tag) in enumerate(rows, 1)],
            )
        compared = 0
        for typed in queries(rows, seed):
            match = fts_query(typed)
            if match is None:
                continue
            team = tsquery(match)  # None: a term with no word in it, which matches nothing
            found_locally = {
                r[0]
                for r in local.execute("SELECT rowid FROM history_fts WHERE history_fts MATCH ?", (match,))
            }
            found_in_team = (
                {
                    r[0]
                    for r in conn.execute(
                        "SELECT local_id FROM bwdesk.messages WHERE search @@ %s::tsquery", (team,)
                    )
                }
                if team is not None
                else set()
            )
            assert found_in_team == found_locally, (typed, match, team)
            compared += 1
    assert compared > 400
