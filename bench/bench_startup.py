"""Start-up: from starting the process to a composer the agent can type into, bwdesk vs a bare PySide6 window.

Targets: a typeable bwdesk ≤ 1.4× a typeable bare PySide6 window holding the same kinds of widgets, in a real X
server (Xvfb, the xcb platform) and offscreen; opening on a 1,000,000-row history ≤ 1.5× opening on an empty
one, with ≤ 60 MB more memory.

"Typeable" is the window painted, the focus in To and a typed key arrived there: the time from spawning the
process until the key's character is in the To field (`bare_window.py` puts its focus in its first line edit,
its To field, the same way). Under Xvfb the key comes from outside: a driver process (`--type-when-mapped`)
watches the X server for the window to be mapped, gives it the input focus as a window manager would, and types
the key with the XTEST extension at once; the app reads it from the X server like any key. Offscreen there is no
X server, so the probe puts the key press in the window's event queue right after `show()`, where the X server's
key would wait for the event loop. "Shown" is the first paint (the earlier measure, kept). The bare window and
bwdesk are typed into by the same code, so the ratio compares like with like.

"bare+code" is a floor: the bare window, shown after importing the modules bwdesk's window is made of and
reading its settings (one From number, as an agent's profile has), so its ratio to "bare" is what loading
that code costs before a single bwdesk widget exists. "Ready" also waits for the history's first page to be
in the table (the background work).

Each measurement is a fresh process (`python bench/startup_probe.py --probe VARIANT`), timed by this script
from spawning it to reading the line it prints (so interpreter start-up and imports count, as a user feels
them). Variants run interleaved, several rounds; medians and the worst are kept.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROBE = HERE / "startup_probe.py"
ROUNDS = 15


# --- the measuring side ----------------------------------------------------------------------------------


def _profile(history: Path | None) -> Path:
    home = Path(tempfile.mkdtemp(prefix="bwdesk-bench-"))
    settings = {
        "version": 1,
        "account_id": "9900000",
        "application_id": "bench-app",
        "from_numbers": [{"number": "+19195550100", "label": "Support"}],  # as an agent's profile has
    }
    (home / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    if history is not None:
        os.symlink(history, home / "history.sqlite3")
    return home


class Desktop:
    """What an agent's desktop session gives a program: an X server (one Xvfb for the whole run) and a session
    bus (without one, Qt's xcb platform forks `dbus-launch --autolaunch` at start-up, as no desktop makes it)."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.processes = [
            subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                pass_fds=(write_end,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            self.env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": f":{pipe.readline().strip()}"}
        if shutil.which("dbus-daemon"):
            bus = subprocess.Popen(
                ["dbus-daemon", "--session", "--nofork", "--print-address"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert bus.stdout is not None
            self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
            self.processes.append(bus)

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=10)


def _measure(variant: str, home: Path | None, desktop: Desktop | None = None) -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    if desktop is not None:
        env |= desktop.env
    # Installed bwdesk always has bytecode (pip compiles on install, PyInstaller bundles it); a checkout
    # writes it on first run unless told not to, as some machines are. Measure as users run it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if home is not None:
        env |= {"BWDESK_HOME": str(home), "BW_USERNAME": "bench", "BW_PASSWORD": "bench-password"}
        env["BWDESK_API_BASE"] = "http://127.0.0.1:9/api/v2"  # never contacted at start-up
    typist = None
    if desktop is not None:
        typist = subprocess.Popen(
            [sys.executable, str(PROBE), "--type-when-mapped"], env=env, stdout=subprocess.PIPE, text=True
        )
        assert typist.stdout is not None
        assert typist.stdout.readline().strip() == "listening", "the typist could not watch the X server"
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(PROBE), "--probe", variant], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    result: dict[str, float] = {}
    for line in process.stdout:
        word, _, value = line.strip().partition(" ")
        if word in ("shown", "typed", "ready"):
            result[word] = (time.perf_counter() - start) * 1000
        elif word in ("rows", "rss", "cpu"):
            result[word] = float(value)
        elif word == "timeout":
            raise RuntimeError(f"{variant}: the typed key never reached the To field")
    process.wait(timeout=60)
    if typist is not None:
        typist.wait(timeout=10)
    if home is not None:
        (home / "draft.json").unlink(missing_ok=True)
    return result


def main() -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import bench_history

    big = bench_history.CACHE
    if not big.exists():
        print("building the 1,000,000-row history (once; cached under bench/out/)…", flush=True)
        big.parent.mkdir(exist_ok=True)
        bench_history.build(big)
    homes = {"empty": _profile(None), "1M": _profile(big)}
    desktop = Desktop() if shutil.which("Xvfb") else None
    if desktop is None:
        print("Xvfb is not installed: only the offscreen figures (Debian: apt install xvfb)", flush=True)
    runs: dict[str, tuple[str, Path | None, Desktop | None]] = {
        "bare": ("bare", None, None),
        "bare+code": ("bare+code", homes["empty"], None),
        "bwdesk-empty": ("bwdesk", homes["empty"], None),
        "bwdesk-1M": ("bwdesk", homes["1M"], None),
    }
    if desktop is not None:
        runs |= {
            "xcb bare": ("bare", None, desktop),
            "xcb bwdesk-empty": ("bwdesk", homes["empty"], desktop),
        }
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    try:
        for variant, home, where in runs.values():
            _measure(variant, home, where)  # warm the page cache (and bytecode) for everyone
        for _ in range(ROUNDS):
            for name, (variant, home, where) in runs.items():
                samples[name].append(_measure(variant, home, where))
    finally:
        if desktop is not None:
            desktop.close()
        for home in homes.values():
            shutil.rmtree(home, ignore_errors=True)

    def median(name: str, key: str) -> float:
        return round(statistics.median(s[key] for s in samples[name]), 1)

    def worst(name: str, key: str) -> float:
        return round(max(s[key] for s in samples[name]), 1)

    def best(name: str, key: str) -> float:
        return round(min(s[key] for s in samples[name]), 1)

    result: dict[str, Any] = {
        "machine": f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}",
        "rounds": ROUNDS,
    }
    for name in samples:
        for key in ("shown", "typed", "ready"):
            if key in samples[name][0]:
                result[f"{name} {key} ms"] = median(name, key)
        result[f"{name} typed ms, worst"] = worst(name, "typed")
        result[f"{name} typed ms, best"] = best(name, "typed")
        result[f"{name} CPU ms to typed"] = median(name, "cpu")
    for name in ("bwdesk-empty", "bwdesk-1M"):
        result[f"{name} rss MB"] = median(name, "rss")
        result[f"{name} rows loaded"] = median(name, "rows")

    def ratio(top: str, bottom: str) -> float:
        return round(result[top] / result[bottom], 2)

    # On a busy machine the medians are slowed by the same waits on both sides, which narrows their ratio: the
    # least-disturbed rounds and the CPU time are printed beside them.
    for where, prefix in (("xcb", "xcb "), ("offscreen", "")):
        if f"{prefix}bare typed ms" not in result:
            continue
        bare, bwdesk = f"{prefix}bare", f"{prefix}bwdesk-empty"
        result[f"typeable ratio bwdesk/bare, {where} (target <= 1.4)"] = ratio(
            f"{bwdesk} typed ms", f"{bare} typed ms"
        )
        result[f"typeable ratio, {where}, best rounds"] = ratio(
            f"{bwdesk} typed ms, best", f"{bare} typed ms, best"
        )
        result[f"typeable ratio, {where}, CPU time"] = ratio(
            f"{bwdesk} CPU ms to typed", f"{bare} CPU ms to typed"
        )
    if desktop is not None:
        result["first paint ratio bwdesk/bare, xcb"] = ratio("xcb bwdesk-empty shown ms", "xcb bare shown ms")
    result["first paint ratio bwdesk/bare, offscreen"] = ratio("bwdesk-empty shown ms", "bare shown ms")
    result["first paint ratio bare+code/bare (the floor)"] = ratio("bare+code shown ms", "bare shown ms")
    result["ready ratio 1M/empty (target <= 1.5)"] = ratio("bwdesk-1M ready ms", "bwdesk-empty ready ms")
    result["rss growth 1M vs empty MB (target <= 60)"] = round(
        result["bwdesk-1M rss MB"] - result["bwdesk-empty rss MB"], 1
    )
    for key, value in result.items():
        print(f"{key}: {value}")
    return result


if __name__ == "__main__":
    main()
