"""Segment counting of a full-length (2048-character) message: `sms_text.analyze()` per call.

    python bench/bench_segments.py            (or: python3 dev.py bench segments)

Target (issue 2): ≤ 0.5 ms per call, median, for each text. The composer recounts on every keystroke, so
this is the time a keypress spends on the counter. Three texts: plain GSM-7 (with a few extension
characters, so escape pairs are handled), UCS-2 (Cyrillic), and a mixed support message (curly quotes,
dashes, an ellipsis, emoji with a skin tone and a flag: UCS-2 with surrogate pairs and grapheme clusters
at part boundaries). Each call is timed in batches; the median batch is reported per call.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bwdesk.core.sms_text import MAX_TEXT_LENGTH, analyze, text_length  # noqa: E402

REPEATS = 15  # batches
CALLS_PER_REPEAT = 200
TARGET_MS = 0.5


def _fill(pattern: str) -> str:
    """`pattern` repeated and cut to exactly 2048 code points."""
    return (pattern * (MAX_TEXT_LENGTH // len(pattern) + 1))[:MAX_TEXT_LENGTH]


TEXTS = {
    "gsm": _fill("Your technician is on the way [ticket A-42], ETA 10-15 min; total 10€ ~ thanks! "),
    "ucs2": _fill("Ваш техник уже в пути, заявка 4242. Спасибо, что выбрали нас! "),
    "mixed": _fill("Hi “Ann” — your part ships today 📦 👍🏽 🇺🇸 it’s on the way… "),
}


def _median_ms_per_call(call: Callable[[], object]) -> float:
    call()  # warm up (first UCS-2 call builds the cluster table)
    batches = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(CALLS_PER_REPEAT):
            call()
        batches.append((time.perf_counter() - start) / CALLS_PER_REPEAT)
    return statistics.median(batches) * 1000


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def main() -> dict[str, Any]:
    info = machine()
    print(f"machine: {info['platform']}; {info['processor']}; {info['cpus']} CPUs; {info['python']}")
    results: dict[str, Any] = {"target_ms": TARGET_MS, "machine": info}
    for name, text in TEXTS.items():
        result = analyze(text)
        ms = _median_ms_per_call(partial(analyze, text))
        verdict = "ok" if ms <= TARGET_MS else "OVER TARGET"
        print(
            f"{name:6} {len(text)} code points, length {text_length(text)}, {result.encoding}, "
            f"{result.segments} segments: median {ms:.4f} ms per call ({verdict})",
            flush=True,
        )
        results[f"{name}_median_ms"] = round(ms, 4)
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
