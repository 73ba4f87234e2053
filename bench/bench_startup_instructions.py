"""Start-up in instructions: what the `startup` bench's ratio is on a quiet machine, measured on a busy one.

Each probe of `bench_startup.py` (offscreen, bwdesk on an empty history, and the bare window) runs once under
`valgrind --tool=callgrind` until the typed key is in To; the instructions executed (every thread) do not depend
on what else the machine is doing, so their ratio is the start-up ratio's load-free counterpart. Needs valgrind.
"""

from __future__ import annotations

import os
import re
import shutil
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


def instructions(variant: str, home: Path | None) -> int:
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
    return sum(int(n) for n in found)


def main() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    home = _profile(None)
    for variant in ("bare", "bwdesk"):
        warm_up(variant, None if variant == "bare" else home)
    bare = instructions("bare", None)
    bwdesk = instructions("bwdesk", home)
    print(f"bare instructions to typed: {bare / 1e6:.0f}M")
    print(f"bwdesk instructions to typed: {bwdesk / 1e6:.0f}M")
    print(f"typeable ratio in instructions, offscreen (target <= 1.4): {bwdesk / bare:.2f}")


if __name__ == "__main__":
    main()
