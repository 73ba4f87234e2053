#!/usr/bin/env python3
"""One entry point for people working on bwdesk: it sets itself up, then runs what you asked for.

    python3 dev.py bwdesk --sandbox     run bwdesk (any bwdesk arguments) from the project's virtual environment
    python3 dev.py test [pytest args]   run the whole test suite
    python3 dev.py lint                 ruff (lint + format check) and mypy (strict) on all of bwdesk/
    python3 dev.py bench [name ...]     run the benchmarks in bench/ (slow; not part of the tests)
    python3 dev.py setup                only create/update the virtual environment

The virtual environment lives in .venv and is (re)installed whenever pyproject.toml changes, so the
commands work the same on a fresh clone and on a years-old checkout. Only the standard library is used
here, because nothing else exists yet when this runs for the first time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MIN_PYTHON = (3, 11)

# Which extras each command needs; "bwdesk" alone installs only what the app itself needs.
EXTRAS = {
    "bwdesk": (),
    "test": ("test",),
    "lint": ("test", "dev"),
    "bench": ("test",),
    "setup": ("test", "dev"),
}


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def ensure_venv(extras: tuple[str, ...]) -> Path:
    """Create .venv if needed and install the project (editable) with `extras` when anything changed."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(
            f"dev.py: bwdesk needs Python {'.'.join(map(str, MIN_PYTHON))} or newer; this is {sys.version.split()[0]}."
        )
    python = venv_python()
    if not python.exists():
        say(f"creating a virtual environment in {VENV.name}/ …")
        try:
            venv.EnvBuilder(with_pip=True, upgrade_deps=False).create(VENV)
        except (subprocess.CalledProcessError, OSError) as exc:
            sys.exit(
                "dev.py: could not create a virtual environment "
                f"({exc}).\nOn Debian or Ubuntu install the venv module first: sudo apt install python3-venv"
            )
    stamp = VENV / ".bwdesk-installed"
    wanted = _fingerprint(extras)
    done = set(stamp.read_text().split()) if stamp.exists() else set()
    if wanted not in done:
        spec = f".[{','.join(extras)}]" if extras else "."
        say(f"installing bwdesk and its packages ({spec}) into {VENV.name}/ …")
        for step in (
            ["install", "--upgrade", "pip"],
            ["install", "--disable-pip-version-check", "-e", spec],
        ):
            # pip's and setuptools' chatter is only shown when something went wrong.
            result = subprocess.run(
                [str(python), "-m", "pip", "--quiet", *step], cwd=ROOT, capture_output=True, text=True
            )
            if result.returncode != 0:
                sys.stderr.write(result.stdout + result.stderr)
                sys.exit(f"dev.py: installing failed (pip {' '.join(step)}); the output above says why.")
        # A changed pyproject invalidates every earlier fingerprint.
        keep = {line for line in done if line.split(":", 1)[0] == wanted.split(":", 1)[0]}
        stamp.write_text("\n".join(sorted(keep | {wanted})) + "\n")
    return python


def _fingerprint(extras: tuple[str, ...]) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return f"{digest}:{sys.version_info[0]}.{sys.version_info[1]}:{'+'.join(extras) or 'base'}"


def run(python: Path, *args: str) -> int:
    return subprocess.call([str(python), *args], cwd=ROOT)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in EXTRAS:
        print(__doc__)
        say(f"unknown command {command!r}")
        return 2
    python = ensure_venv(EXTRAS[command])
    if command == "bwdesk":
        if os.name == "posix":
            # Become bwdesk: Ctrl+C, kill and the exit status then reach it directly, with no orphan left.
            os.chdir(ROOT)
            os.execv(str(python), [str(python), "-m", "bwdesk", *rest])
        return run(python, "-m", "bwdesk", *rest)
    if command == "test":
        return run(python, "-m", "pytest", *rest)
    if command == "lint":
        status = run(python, "-m", "ruff", "check", ".")
        status |= run(python, "-m", "ruff", "format", "--check", ".")
        status |= run(python, "-m", "mypy", "bwdesk")
        return status
    if command == "bench":
        return run(python, "bench/run_all.py", *rest)
    return 0  # setup


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
