"""Run the benchmarks (slow; never part of the test command) and print their medians as JSON.

    python3 dev.py bench                 every bench/bench_*.py
    python3 dev.py bench segments client only those

Each bench module has `main() -> dict` and prints its own details; results are summarised in
bench/RESULTS.md by hand, with the machine and the date, because a number without its context misleads.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    sys.path.insert(0, str(HERE))
    available = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    chosen = names or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr
        )
        return 2
    results: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.platform()}; {platform.processor() or platform.machine()}; Python {platform.python_version()}",
    }
    for name in chosen:
        print(f"\n### {name}", flush=True)
        module = importlib.import_module(f"bench_{name}")
        results[name] = module.main()
    print("\n" + json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
