"""The house rules about layers.

Statically, over every module (imports at the top, inside functions and under TYPE_CHECKING alike): core never
knows Qt, the CLI or the sandbox; the sandbox is a stand-alone fake that shares no code with what it checks; the
window asks core for numbers, HTTP and SQL. At run time, in fresh interpreters: importing core loads no Qt, and
the window's first paint does not wait for the network stack or SQLite.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import bwdesk

PACKAGE = Path(bwdesk.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_bwdesk_module(name: str) -> bool:
    if not is_under(name, ("bwdesk",)):
        return False
    relative = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, as absolute names: `from a.b import c` gives `a.b`, and `a.b.c` when c is
    a bwdesk module. `importlib.import_module("x")` with a literal name counts too."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(
                f"{base}.{alias.name}" for alias in node.names if is_bwdesk_module(f"{base}.{alias.name}")
            )
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def is_under(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def modules_in(folder: str) -> list[Path]:
    found = sorted((PACKAGE / folder).rglob("*.py"))
    assert found, folder
    return found


def offences(folder: str, forbidden: Iterable[str]) -> list[str]:
    forbidden = tuple(forbidden)
    return [
        f"{module_name(path)} imports {name}"
        for path in modules_in(folder)
        for name in sorted(imported_modules(path))
        if is_under(name, forbidden)
    ]


def printed_by_a_fresh_interpreter(script: str, *args: str) -> str:
    """What `script` prints in a new Python process (offscreen Qt): what it loads, before anything else has."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_import_finder_sees_imports_inside_functions() -> None:
    """The rules below are only as good as this: a lazy import inside a function must count."""
    app = imported_modules(PACKAGE / "ui" / "app.py")
    assert "bwdesk.sandbox" in app  # imported inside _run_sandbox only
    assert "bwdesk.core.paths" in app  # `from bwdesk.core import paths`: the module, not just its package
    sandbox = imported_modules(PACKAGE / "sandbox" / "__init__.py")
    assert "bwdesk.sandbox.server" in sandbox


def test_core_imports_no_qt_no_cli_and_no_sandbox() -> None:
    assert (
        offences(
            "core",
            (
                "PySide6",
                "shiboken6",
                "bwdesk.ui",
                "bwdesk.cli",
                "bwdesk.selftest",
                "bwdesk.sandbox",
                "bwdesk.sandbox_profile",
            ),
        )
        == []
    )


def test_the_sandbox_shares_no_code_with_the_rest_of_bwdesk() -> None:
    """The sandbox checks requests by its own reading of Bandwidth's rules: if it used core's, a mistake in
    core would be accepted by the very fake meant to catch it."""
    outside = [
        f"{module_name(path)} imports {name}"
        for path in modules_in("sandbox")
        for name in sorted(imported_modules(path))
        if is_under(name, ("bwdesk",)) and name != "bwdesk" and not is_under(name, ("bwdesk.sandbox",))
    ]
    assert outside == []


def test_the_window_asks_core_for_numbers_http_and_sql() -> None:
    assert offences("ui", ("phonenumbers", "requests", "urllib3", "sqlite3", "psycopg")) == []


CHECK = """
import sys, pkgutil, importlib, bwdesk.core
for info in pkgutil.walk_packages(bwdesk.core.__path__, "bwdesk.core."):
    importlib.import_module(info.name)
leaked = sorted(m for m in sys.modules if m == "PySide6" or m.startswith(("PySide6.", "shiboken6")))
print(",".join(leaked))
"""


def test_importing_every_core_module_does_not_import_qt() -> None:
    assert printed_by_a_fresh_interpreter(CHECK) == ""


WINDOW_IMPORTS = """
import sys
import bwdesk.ui.app
heavy = [m for m in ("requests", "urllib3", "truststore", "keyring", "psycopg", "psycopg_binary") if m in sys.modules]
print(",".join(heavy))
"""


def test_opening_the_window_does_not_wait_for_the_network_stack() -> None:
    """requests/keyring (and psycopg, the team history's driver) load in the background services, never on
    the way to the first shown window."""
    assert printed_by_a_fresh_interpreter(WINDOW_IMPORTS) == ""


WINDOW_SQLITE = """
import sys
import bwdesk.ui.app
import bwdesk.ui.history.view
print(",".join(m for m in ("sqlite3", "_sqlite3") if m in sys.modules))
"""


def test_opening_the_window_does_not_load_sqlite() -> None:
    """The history is opened by the background services; the window only knows the store's interface."""
    assert printed_by_a_fresh_interpreter(WINDOW_SQLITE) == ""


WINDOW_DELIVERY = """
import sys
import bwdesk.ui.app
print("bwdesk.core.delivery" in sys.modules)
"""


def test_the_window_leaves_delivery_status_lookups_to_the_services() -> None:
    """core.delivery loads with the services, after the first paint: the window's modules only name its types."""
    assert printed_by_a_fresh_interpreter(WINDOW_DELIVERY) == "False"


WINDOW_ORDER = """
import sys
import bwdesk.ui.app
loaded = list(sys.modules)  # in the order their imports began
qt = loaded.index("PySide6")
print(",".join(m for m in loaded[qt:] if m.startswith(("bwdesk.core", "phonenumbers", "platformdirs"))))
"""


def test_the_window_loads_its_qt_free_core_before_pyside6() -> None:
    """PySide6's import hook reads the source of every module imported after PySide6 (≈ 60M instructions for the
    core the window needs): `bwdesk.ui` loads the core the first frame needs first (docs/design.md §3.1); what is
    made after the first paint loads its core then."""
    assert printed_by_a_fresh_interpreter(WINDOW_ORDER) == ""


#: Modules the typeable window does not need, loaded later (or never) instead of on the way to the first paint
#: (docs/design.md §3.1): each one here cost start-up instructions when it was loaded before it.
DEFERRED_PAST_FIRST_PAINT = (
    "bwdesk.core.directory.csvio",  # the list's and the contacts' import and export: only when asked for
    "bwdesk.core.directory.sqlite_store",  # the directory itself opens with the services, on a worker
    "bwdesk.core.team.directory",
    # The window's templates and directory parts are made once the services have opened (or at first use), and
    # the composer judges a draft without a variable without the template engine.
    "bwdesk.core.directory.choice",
    "bwdesk.core.directory.contacts",
    "bwdesk.core.directory.filling",
    "bwdesk.core.directory.optout",
    "bwdesk.core.directory.store",
    "bwdesk.core.directory.template_book",
    "bwdesk.core.directory.templates",
    "bwdesk.ui.directory.parts",
    "bwdesk.ui.directory.marks",
    "bwdesk.ui.templates.controller",
    "bwdesk.ui.templates.popup",
    # The history pane, the send session, the media previews and the team watch are made a moment after the
    # first paint (`MainWindow._make_rest`), with the history's queries and the send path they load.
    "bwdesk.core.history.search",
    "bwdesk.core.sending",
    "bwdesk.core.team.state",
    "bwdesk.ui.history.actions",
    "bwdesk.ui.history.model",
    "bwdesk.ui.history.view",
    "bwdesk.ui.media_preview",
    "bwdesk.ui.send_questions",
    "bwdesk.ui.send_session",
    "bwdesk.ui.team_status",
)

WINDOW_DEFERRED = f"""
import sys
import bwdesk.cli
import bwdesk.ui.app
print(",".join(m for m in {DEFERRED_PAST_FIRST_PAINT!r} if m in sys.modules))
"""


def test_what_the_typeable_window_does_not_need_is_not_loaded_before_its_first_paint() -> None:
    assert printed_by_a_fresh_interpreter(WINDOW_DEFERRED) == ""


#: Enums only `QStyle` has: PySide6 builds them all (~600 members, ≈ 15 ms) when Python first meets a QStyle.
QSTYLE_ONLY_ENUMS = ("PixelMetric", "PrimitiveElement", "ControlElement", "StandardPixmap", "SubElement")

FIRST_FRAME = f"""
import enum, os, sys
made = []
create = enum.EnumType._create_
def noting(cls, class_name, names, *args, **kwargs):
    made.append(class_name)
    return create(cls, class_name, names, *args, **kwargs)
enum.EnumType._create_ = noting
os.environ["BWDESK_HOME"] = sys.argv[1]
import bwdesk.cli
from bwdesk.core.account import load_context
from bwdesk.ui.main_window import MainWindow
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication
app = QApplication([])
window = MainWindow(load_context())
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            app.exit()
        return False
first_paint = FirstPaint()
window.installEventFilter(first_paint)
window.show()
app.exec()
loaded = [m for m in {DEFERRED_PAST_FIRST_PAINT!r} if m in sys.modules]
qstyle = [e for e in made if e in {QSTYLE_ONLY_ENUMS!r}]
print(",".join(loaded + qstyle))
sys.stdout.flush()
os._exit(0)
"""


def test_the_first_frame_is_painted_without_what_comes_after_it(tmp_path: Path) -> None:
    """At the first paint of the real window, nothing deferred has loaded yet, and no Python code has met a
    QStyle (docs/design.md §3.1): the deferred parts are made after it, not merely imported later."""
    assert printed_by_a_fresh_interpreter(FIRST_FRAME, str(tmp_path)) == ""
