"""The house rules about layers, checked in a fresh interpreter so nothing else has imported Qt yet."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys, pkgutil, importlib, bwdesk.core
for info in pkgutil.iter_modules(bwdesk.core.__path__, "bwdesk.core."):
    importlib.import_module(info.name)
leaked = sorted(m for m in sys.modules if m == "PySide6" or m.startswith(("PySide6.", "shiboken6")))
print(",".join(leaked))
"""


def test_importing_every_core_module_does_not_import_qt() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


WINDOW_IMPORTS = """
import sys
import bwdesk.ui.app
heavy = [m for m in ("requests", "urllib3", "truststore", "keyring", "psycopg", "psycopg_binary") if m in sys.modules]
print(",".join(heavy))
"""


def test_opening_the_window_does_not_wait_for_the_network_stack() -> None:
    """requests/keyring (and psycopg, the team history's driver) load in the background services, never on
    the way to the first shown window."""
    result = subprocess.run(
        [sys.executable, "-c", WINDOW_IMPORTS],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
