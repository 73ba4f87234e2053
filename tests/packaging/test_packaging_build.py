"""The build recipes: PyInstaller spec, Windows installer script, shell scripts and CI workflows.

These read and compile the recipes without freezing anything (a full build is packaging/smoke-deb.sh's job).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
import yaml

import bwdesk

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "bwdesk.spec"
NSI = ROOT / "packaging" / "windows" / "bwdesk.nsi"
SCRIPTS = sorted((ROOT / "packaging").rglob("*.sh"))


def spec_constant(name: str) -> object:
    """A literal assigned at the top level of the spec (the spec only runs inside PyInstaller)."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned in {SPEC.name}")


def load_viversion() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "viversion", ROOT / "packaging" / "windows" / "viversion.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def qt_modules_bwdesk_imports() -> set[str]:
    found = set()
    for path in (ROOT / "bwdesk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found.update(n for n in names if re.fullmatch(r"PySide6\.Qt\w+", n))
    return found


# --- PyInstaller spec ---------------------------------------------------------------------------------


def test_spec_bundles_keyring_backends_and_phone_metadata() -> None:
    text = SPEC.read_text(encoding="utf-8")
    for needed in (
        'collect_submodules("keyring.backends")',
        'copy_metadata("keyring")',  # keyring discovers backends through entry points
        'collect_submodules("phonenumbers.data")',  # region metadata is imported lazily
        'collect_submodules("secretstorage"',
        'collect_submodules("jeepney"',
        'collect_submodules("win32ctypes")',
        'collect_submodules("bwdesk")',
        'collect_data_files("bwdesk"',
    ):
        assert needed in text, f"{SPEC.name} no longer has {needed}"


def test_spec_excludes_no_qt_module_that_bwdesk_imports() -> None:
    """Importing a new Qt module in bwdesk must come with taking it off the spec's exclusion list."""
    excludes = set(spec_constant("EXCLUDES"))  # type: ignore[arg-type]
    used = qt_modules_bwdesk_imports()
    assert {"PySide6.QtWidgets", "PySide6.QtGui", "PySide6.QtCore"} & used
    assert not used & excludes, (
        f"bwdesk imports Qt modules the frozen app leaves out: {sorted(used & excludes)}"
    )


def test_spec_keeps_the_platforms_and_image_formats_bwdesk_needs() -> None:
    keep = spec_constant("KEEP_PLUGINS")
    assert isinstance(keep, dict)
    platforms = re.compile(rf"(lib)?{keep['platforms']}\.(so|dll|dylib)$")
    for plugin in ("libqxcb.so", "libqwayland.so", "libqoffscreen.so", "qwindows.dll", "libqcocoa.dylib"):
        assert platforms.match(plugin), plugin
    assert not platforms.match("libqeglfs.so")
    formats = re.compile(rf"(lib)?{keep['imageformats']}\.(so|dll|dylib)$")
    assert formats.match("libqsvg.so") and formats.match("qico.dll")
    assert "platforminputcontexts" in keep and keep["iconengines"] == "qsvgicon"


def test_spec_reads_the_package_version() -> None:
    text = SPEC.read_text(encoding="utf-8")
    pattern = re.search(r"re\.search\(r'(.+?)', text, re\.MULTILINE\)", text)
    assert pattern, "the spec no longer reads __version__ with a regular expression"
    init = (ROOT / "bwdesk" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(pattern.group(1), init, re.MULTILINE)
    assert match and match.group(1) == bwdesk.__version__
    assert bwdesk.__version__ not in re.sub(r"#.*", "", text)


# --- Windows installer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.1.0", "0.1.0.0"),
        ("1.2", "1.2.0.0"),
        ("1.2rc1", "1.2.0.0"),
        ("2.0.0.dev3", "2.0.0.0"),
        ("1.2.3.4.5", "1.2.3.4"),
    ],
)
def test_windows_version_numbers(version: str, expected: str) -> None:
    assert load_viversion().four_numbers(version) == expected


def test_windows_version_numbers_reject_nonsense() -> None:
    with pytest.raises(SystemExit, match="release number"):
        load_viversion().four_numbers("latest")


def test_nsis_script_is_per_user_and_takes_its_version_from_outside() -> None:
    text = NSI.read_text(encoding="utf-8")
    assert "RequestExecutionLevel user" in text
    assert 'InstallDir "$LOCALAPPDATA\\Programs\\${APP}"' in text
    assert 'UNINSTALL_KEY "Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\${APP}"' in text
    assert re.search(r"WriteRegStr HKCU \"\$\{UNINSTALL_KEY\}\" \"UninstallString\"", text)
    assert "HKLM" not in text, "a per-user installer must not write machine-wide keys"
    assert 'VIProductVersion "${VIVERSION}"' in text
    assert re.search(r"CreateShortcut \"\$SMPROGRAMS\\", text)
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(";"))
    assert not re.search(r"\b\d+\.\d+\.\d+\b", code), "no version may be written into the script"


@pytest.mark.skipif(shutil.which("makensis") is None, reason="nsis (makensis) is not installed")
def test_nsis_script_compiles_with_the_package_version(tmp_path: Path) -> None:
    payload = tmp_path / "payload"
    (payload / "_internal").mkdir(parents=True)
    for name in ("bwdesk.exe", "bwdesk-cli.exe", "_internal/base_library.zip"):
        (payload / name).write_bytes(b"stand-in")
    out = tmp_path / f"bwdesk-{bwdesk.__version__}-setup.exe"  # a bare "setup.exe" gets an NSIS warning
    version = bwdesk.__version__
    result = subprocess.run(
        [
            "makensis",
            "-V2",
            "-WX",
            f"-DVERSION={version}",
            f"-DVIVERSION={load_viversion().four_numbers(version)}",
            f"-DPAYLOAD={payload}",
            f"-DOUTFILE={out}",
            str(NSI),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = out.read_bytes()
    assert data[:2] == b"MZ"
    assert f"ProductVersion\0{version}".encode("utf-16-le") in data


@pytest.mark.skipif(shutil.which("makensis") is None, reason="nsis (makensis) is not installed")
def test_nsis_script_refuses_to_build_without_a_version(tmp_path: Path) -> None:
    result = subprocess.run(
        ["makensis", "-V1", f"-DPAYLOAD={tmp_path}", f"-DOUTFILE={tmp_path / 'x.exe'}", str(NSI)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "/DVERSION" in result.stdout + result.stderr


# --- shell scripts and workflows ----------------------------------------------------------------------


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shell_scripts_are_strict_and_parse(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_deb_depends_cover_qt_xcb_plugin_libraries() -> None:
    """build-deb.sh makes dpkg-shlibdeps find every library; the list must hold what libqxcb.so links to."""
    text = (ROOT / "packaging" / "build-deb.sh").read_text(encoding="utf-8")
    for deb in (
        "libxcb-cursor0",
        "libxcb-icccm4",
        "libxcb-keysyms1",
        "libxkbcommon-x11-0",
        "libegl1",
        "libgl1",
    ):
        assert re.search(rf"\b{re.escape(deb)}\b", text), deb
    assert "dpkg-shlibdeps" in text and "--root-owner-group" in text


def test_workflows_run_everywhere_and_smoke_test_every_installer() -> None:
    workflows = ROOT / ".github" / "workflows"
    tests = yaml.safe_load((workflows / "tests.yml").read_text(encoding="utf-8"))
    matrix = tests["jobs"]["test"]["strategy"]["matrix"]
    assert len(matrix["os"]) == 3 and matrix["python"] == ["3.11", "3.12"]
    release = yaml.safe_load((workflows / "release.yml").read_text(encoding="utf-8"))
    triggers = release[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["tags"] == ["v*"] and "workflow_dispatch" in triggers
    for job in ("linux", "windows", "macos"):
        steps = " ".join(str(step.get("run", "")) for step in release["jobs"][job]["steps"])
        assert "--self-test" in steps or "smoke-deb.sh" in steps, job
        assert any(
            "upload-artifact" in str(step.get("uses", "")) for step in release["jobs"][job]["steps"]
        ), job


def test_linux_build_uses_the_systems_libpq_and_the_deb_depends_on_it() -> None:
    """On Linux psycopg_binary (its own libpq and OpenSSL, 10 MB) stays out and libpq5 is a dependency;
    elsewhere there is no system libpq, so the binary package goes in."""
    spec = SPEC.read_text(encoding="utf-8")
    assert re.search(r"^PSYCOPG_BINARY = not IS_LINUX$", spec, re.MULTILINE)
    assert re.search(r'^if not PSYCOPG_BINARY:\n\s+EXCLUDES.append\("psycopg_binary"\)$', spec, re.MULTILINE)
    assert re.search(
        r'if PSYCOPG_BINARY:\n\s+HIDDEN_IMPORTS \+= collect_submodules\("psycopg_binary"\)', spec
    )
    system_libs = spec_constant("SYSTEM_LIBS")
    assert isinstance(system_libs, list) and r"libpq" in system_libs  # never a build host's copy
    build = (ROOT / "packaging" / "build-deb.sh").read_text(encoding="utf-8")
    assert re.search(
        r'for extra in [^;]*"libpq5 \(>= 10\)"; do', build
    )  # loaded by name, so not found by shlibdeps
    assert re.search(r"^\s+libpq5$", build, re.MULTILINE)  # installed on the build host for the self-test


def test_selftest_expects_the_libpq_the_spec_chose() -> None:
    """The frozen self-test fails a build whose psycopg uses another implementation than the spec's choice."""
    source = (ROOT / "bwdesk" / "selftest.py").read_text(encoding="utf-8")
    assert 'expected = "python" if sys.platform.startswith("linux") else "binary"' in source


def test_deb_smoke_test_uses_a_team_database_with_system_roots_from_the_installed_package() -> None:
    smoke = (ROOT / "packaging" / "smoke-deb.sh").read_text(encoding="utf-8")
    assert ".venv/bin/python packaging/smoke_team.py /usr/bin/bwdesk" in smoke
    assert "(python) with this computer's, libpq " in smoke
    team = (ROOT / "packaging" / "smoke_team.py").read_text(encoding="utf-8")
    assert 'sslmode="verify-full", sslrootcert="system"' in team
    assert '"team", "status", "--json"' in team and '"team", "init", "--grant"' in team
    assert 'problem != "tls-failed"' in team  # the real bundle must refuse the test's authority
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash packaging/smoke-deb.sh" in ci and re.search(r"^\s+postgresql$", ci, re.MULTILINE)
