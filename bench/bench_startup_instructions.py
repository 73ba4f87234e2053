"""Start-up in instructions: what the `startup` bench's ratio is on a quiet machine, measured on a busy one.

Each probe of `bench_startup.py` (offscreen, bwdesk on an empty history, and the bare window) runs under
`valgrind --tool=callgrind` until the typed key is in To, ROUNDS times; the instructions executed do not depend on
what else the machine is doing. Two counts: the GUI thread's (the same from run to run) and every thread's (the
services' worker gets further or less far before the key, as valgrind schedules it: ±40M). Needs valgrind.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import PROBE, _profile  # the same profile and probe as the timed bench


def warm_up(variant: str, home: Path | None) -> None:
    """One start run to the end, as an agent's earlier use of bwdesk: bytecode written, files in the page cache, the
    profile's start-up memo of the From numbers written (`core.phone`, docs/design.md §3.1)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if home is not None:
        env |= {"BWDESK_HOME": str(home), "BW_USERNAME": "bench", "BW_PASSWORD": "bench-password"}
        env["BWDESK_API_BASE"] = "http://127.0.0.1:9/api/v2"
    done = subprocess.run(
        [sys.executable, str(PROBE), "--probe", variant], env=env, capture_output=True, text=True, timeout=300
    )
    if "typed" not in done.stdout:
        raise RuntimeError(f"{variant}: the warm-up run failed\n{done.stdout}\n{done.stderr[-2000:]}")


#: Runs of each variant; the medians are reported.
ROUNDS = 3


def instructions(variant: str, home: Path | None) -> tuple[int, int]:
    """(the GUI thread's, every thread's) instructions from the start to the typed key."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BWDESK_PROBE_EXIT_AT_TYPED": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if home is not None:
        env |= {"BWDESK_HOME": str(home), "BW_USERNAME": "bench", "BW_PASSWORD": "bench-password"}
        env["BWDESK_API_BASE"] = "http://127.0.0.1:9/api/v2"
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--separate-threads=yes",
                f"--callgrind-out-file={out}/cg.%p",
                sys.executable,
                str(PROBE),
                "--probe",
                variant,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        found = re.findall(r"Collected : (\d+)", done.stderr)
        if "typed" not in done.stdout or not found:
            raise RuntimeError(f"{variant}: no count\n{done.stdout}\n{done.stderr[-2000:]}")
        main_thread = [f for f in Path(out).iterdir() if f.name.endswith("-01")]
        gui = _total(main_thread[0]) if len(main_thread) == 1 else 0
    return gui, sum(int(n) for n in found)


def _total(profile: Path) -> int:
    for line in profile.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no total in {profile}")


def main() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    home = _profile(None)
    for variant in ("bare", "bwdesk"):
        warm_up(variant, None if variant == "bare" else home)
    counts = {
        variant: [instructions(variant, None if variant == "bare" else home)]
        for variant in ("bare", "bwdesk")
    }
    for _ in range(ROUNDS - 1):
        for variant in counts:
            counts[variant].append(instructions(variant, None if variant == "bare" else home))
    for index, what in ((0, "GUI thread"), (1, "every thread")):
        bare = statistics.median(c[index] for c in counts["bare"])
        bwdesk = statistics.median(c[index] for c in counts["bwdesk"])
        runs = ", ".join(f"{c[index] / 1e6:.0f}M" for c in counts["bwdesk"])
        print(f"{what}: bare {bare / 1e6:.0f}M, bwdesk {bwdesk / 1e6:.0f}M ({runs})")
        print(f"typeable ratio in instructions, {what}, offscreen (target <= 1.4): {bwdesk / bare:.2f}")


if __name__ == "__main__":
    main()
