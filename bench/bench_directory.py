"""The directory's answers per keystroke and per send: the do-not-text check, the template popup, autocomplete.

    python bench/bench_directory.py            (or: python3 dev.py bench directory)

Targets (issue 12):
- a do-not-text list of 1,000,000 numbers checks 20 recipients in ≤ 5 ms (`opted_out`, what every send and every
  change of the recipients asks), on a warm connection and on the first call of a freshly opened store;
- the template popup filters 1,000 templates in ≤ 10 ms per keystroke (`TemplateBook.matching`);
- autocomplete over 100,000 contacts answers in ≤ 10 ms per keystroke (`ContactIndex.match`), names and digits.

Each keystroke of a typed query is timed on its own (the median of RUNS calls); the result is the slowest
keystroke. The reference for the do-not-text check is the same check on an empty list, measured interleaved:
the ratio says what the million numbers cost. The list's file is generated once into bench/out/ (about a
minute), so reruns only measure.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bwdesk.core.directory.contacts import Contact, ContactIndex  # noqa: E402
from bwdesk.core.directory.optout import Reason  # noqa: E402
from bwdesk.core.directory.sqlite_schema import SCHEMA_MAJOR, SCHEMA_MINOR  # noqa: E402
from bwdesk.core.directory.sqlite_store import SqliteDirectoryStore  # noqa: E402
from bwdesk.core.directory.store import NewOptOut  # noqa: E402
from bwdesk.core.directory.template_book import Template, TemplateBook  # noqa: E402

NUMBERS = 1_000_000
TEMPLATES = 1_000
CONTACTS = 100_000
GENERATOR = 1  # bump when the generated data changes, so a stale cache is rebuilt
CACHE = HERE / "out" / f"optouts-{NUMBERS}-g{GENERATOR}-d{SCHEMA_MAJOR}.{SCHEMA_MINOR}.sqlite3"
RUNS = 25
TARGETS_MS = {"optout": 5.0, "templates": 10.0, "contacts": 10.0}

_FIRST = (
    "Ann Anne Anna Annika Aaron Abdul Ada Adam Adrian Aisha Alan Alba Alex Alice Amir Amy Ana Andrea Andrew Ángel "
    "Anton Arjun Ava Ben Bianca Bob Brian Camille Carla Carlos Chen Chloé Chris Clara Dan Daniel David Dmitri "
    "Elena Eli Emma Eric Eva Fatima François Grace Hana Hugo Ian Ingrid Isabel Jack James Jan Jean Jin Joanne "
    "John José Julia Kai Karen Kenji Lara Lea Lee Léon Liam Lina Lucas Luis Maria Mark Marta Mei Mia Mohammed "
    "Nadia Noah Olga Omar Paul Priya Raj Rosa Sam Sara Søren Sofia Tom Uma Victor Wei Yara Yusuf Zoë Zoe"
)
_LAST = (
    "Lee Li Smith Jones Brown García Martínez Müller Schmidt Rossi Russo Dupont Durand Nguyen Tran Kim Park "
    "Chen Wang Zhang Kumar Singh Patel Shah Khan Ali Ahmed Hassan Cohen Levi O'Brien O'Neil McDonald Murphy "
    "Kelly Walsh Anderson Andersen Johansson Nilsson Novak Kowalski Nowak Ivanov Petrov Silva Santos Costa "
    "Pereira Rodrigues Fernandes Lopez Gonzalez Hernández Perez Sanchez Ramirez Torres Flores Rivera Gomez "
    "Díaz Reyes Morales Cruz Ortiz Gutierrez Chavez Ramos Ruiz Alvarez Mendoza Castillo Jimenez Moreno Romero "
    "Herrera Medina Aguilar Vargas Annan Adams Baker Clark Evans Green Hall Harris Hill King Lewis Lopez Martin "
    "Moore Nelson Parker Roberts Scott Taylor Thomas Turner Walker White Wilson Wright Young Zimmermann"
)
_WORDS = (
    "technician on the way refund issued order shipped delay weather appointment confirmed rescheduled "
    "cancelled ticket update outage restored password reset invoice payment received warranty estimate "
    "pickup ready survey feedback follow up welcome back closed today holiday hours parts backorder photo "
    "installation repair visit window running late arrived done thanks"
)

FIRST, LAST, WORDS = _FIRST.split(), _LAST.split(), _WORDS.split()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def median_ms(call: Callable[[], object], runs: int = RUNS) -> float:
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def keystrokes(query: str) -> list[str]:
    return [query[:i] for i in range(1, len(query) + 1)]


# --- the do-not-text list ------------------------------------------------------------------------------------


def listed_number(i: int) -> str:
    """The i-th number on the generated list: spread over many area codes, as real opt-outs are."""
    area = 201 + (i * 7919) % 780
    return f"+1{area}{i:07d}"  # the seven digits start with 0; the unlisted numbers below start with 9


def build_list() -> Path:
    if CACHE.exists():
        return CACHE
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    partial = CACHE.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    with SqliteDirectoryStore.open(partial, "bench") as store:
        reasons = (Reason.OPTED_OUT, Reason.BLOCKLISTED, Reason.BY_HAND, Reason.IMPORTED)
        store.add_opt_outs(
            NewOptOut(listed_number(i), reasons[i % 4], 4775 if i % 4 == 0 else None, "")
            for i in range(NUMBERS)
        )
    os.replace(partial, CACHE)
    print(f"built {CACHE.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return CACHE


def bench_optout() -> dict[str, Any]:
    path = build_list()
    rng = random.Random(12)
    # 20 recipients: 3 on the list, 17 not (unlisted numbers in the same ranges).
    batches = [
        [listed_number(rng.randrange(NUMBERS)) for _ in range(3)]
        + [f"+1{rng.randrange(201, 981)}9{rng.randrange(10**6):06d}" for _ in range(17)]
        for _ in range(RUNS)
    ]
    with tempfile.TemporaryDirectory() as folder, SqliteDirectoryStore.open(path, "bench") as big:
        empty = SqliteDirectoryStore.open(Path(folder) / "empty.sqlite3", "bench")
        try:
            big_ms, empty_ms = [], []
            for batch in batches * 4:  # interleaved, so both sides see the same machine
                start = time.perf_counter()
                found = big.opted_out(batch)
                big_ms.append((time.perf_counter() - start) * 1000)
                assert len(found) == 3, found
                start = time.perf_counter()
                empty.opted_out(batch)
                empty_ms.append((time.perf_counter() - start) * 1000)
        finally:
            empty.close()
    firsts, opens = [], []
    for batch in batches[:7]:  # a store just opened: what a `bwdesk send` pays
        start = time.perf_counter()
        with SqliteDirectoryStore.open(path, "bench") as fresh:
            opened = time.perf_counter()
            fresh.opted_out(batch)
            firsts.append((time.perf_counter() - opened) * 1000)
        opens.append((opened - start) * 1000)
    result = {
        "numbers": NUMBERS,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "check_20_ms": round(statistics.median(big_ms), 3),
        "check_20_empty_ms": round(statistics.median(empty_ms), 3),
        "ratio_to_empty": round(statistics.median(big_ms) / statistics.median(empty_ms), 2),
        "first_check_after_open_ms": round(statistics.median(firsts), 3),
        "open_ms": round(statistics.median(opens), 3),
    }
    worst = max(result["check_20_ms"], result["first_check_after_open_ms"])
    print(
        f"do-not-text list of {NUMBERS:,} ({result['file_mb']} MB): 20 recipients checked in "
        f"{result['check_20_ms']} ms (empty list {result['check_20_empty_ms']} ms, {result['ratio_to_empty']}×); "
        f"first check after opening {result['first_check_after_open_ms']} ms (opening {result['open_ms']} ms) "
        f"({'ok' if worst <= TARGETS_MS['optout'] else 'OVER TARGET'})",
        flush=True,
    )
    return result


# --- templates and contacts ------------------------------------------------------------------------------------


def generated_templates() -> list[Template]:
    rng = random.Random(3)
    names: set[str] = {"Technician on the way"}
    while len(names) < TEMPLATES:
        names.add(" ".join(rng.sample(WORDS, rng.randint(2, 4))).capitalize())
    return [
        Template(
            name,
            f"Hi {{first_name|there}}, {name.lower()}.",
            tag=rng.choice(["", "billing", "field", "parts"]),
        )
        for name in sorted(names)
    ]


def bench_templates() -> dict[str, Any]:
    templates = generated_templates()
    start = time.perf_counter()
    book = TemplateBook(templates)
    build_ms = (time.perf_counter() - start) * 1000
    per_query = {}
    for query in ("technician on the way", "refund", "bill", "zzz"):
        per_query[query] = max(
            median_ms(lambda typed=typed: book.matching(typed)) for typed in keystrokes(query)
        )
    worst = max(per_query.values())
    print(
        f"template popup over {TEMPLATES:,}: slowest keystroke {worst:.3f} ms "
        f"({', '.join(f'{q!r} {ms:.3f}' for q, ms in per_query.items())}); book built in {build_ms:.1f} ms "
        f"({'ok' if worst <= TARGETS_MS['templates'] else 'OVER TARGET'})",
        flush=True,
    )
    return {
        "templates": TEMPLATES,
        "slowest_keystroke_ms": round(worst, 3),
        "build_ms": round(build_ms, 2),
        "per_query_ms": per_query,
    }


def generated_contacts() -> list[Contact]:
    rng = random.Random(5)
    contacts = []
    for _ in range(CONTACTS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        number = f"+1{rng.choice((919, 919, 919, 984, 312, 212))}{rng.randrange(10**7):07d}"
        contacts.append(Contact(number, f"{first} {last}", {"first_name": first}))
    contacts.append(Contact("+19195550123", "Ann Lee", {"first_name": "Ann"}))
    return contacts


def bench_contacts() -> dict[str, Any]:
    contacts = generated_contacts()
    start = time.perf_counter()
    index = ContactIndex(contacts)
    build_ms = (time.perf_counter() - start) * 1000
    per_query = {}
    for query in ("ann lee", "a", "zoe", "o'b", "sø", "919-555-0123", "0123"):
        per_query[query] = max(
            median_ms(lambda typed=typed: index.match(typed)) for typed in keystrokes(query)
        )
    worst = max(per_query.values())
    print(
        f"autocomplete over {CONTACTS:,} contacts: slowest keystroke {worst:.3f} ms "
        f"({', '.join(f'{q!r} {ms:.3f}' for q, ms in per_query.items())}); index built in {build_ms:.0f} ms "
        f"({'ok' if worst <= TARGETS_MS['contacts'] else 'OVER TARGET'})",
        flush=True,
    )
    return {
        "contacts": CONTACTS,
        "slowest_keystroke_ms": round(worst, 3),
        "build_ms": round(build_ms, 1),
        "per_query_ms": per_query,
    }


def main() -> dict[str, Any]:
    info = machine()
    print(
        f"machine: {info['platform']}; {info['processor']}; {info['cpus']} CPUs; {info['python']}", flush=True
    )
    return {
        "machine": info,
        "targets_ms": TARGETS_MS,
        "optout": bench_optout(),
        "templates": bench_templates(),
        "contacts": bench_contacts(),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, default=str))
