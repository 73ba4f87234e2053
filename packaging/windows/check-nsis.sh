#!/usr/bin/env bash
# Compile the Windows installer script with Debian's makensis, using the Linux one-folder build as a stand-in
# payload. The real payload can only be built on Windows (the release workflow does that); this catches
# script errors, missing files and a wrong version resource on any Linux machine.
#
#   bash packaging/windows/check-nsis.sh [PAYLOAD_DIR]     (default: dist/bwdesk; built if missing)
#
# Writes build/nsis/bwdesk-<version>-setup.exe (a stand-in, not for distribution).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

die() { printf 'check-nsis: %s\n' "$*" >&2; exit 1; }

if ! command -v makensis >/dev/null; then
  [ "$(id -u)" = 0 ] || die "makensis is missing: sudo apt-get install --no-install-recommends nsis"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nsis >/dev/null
fi

PAYLOAD=$(realpath -m "${1:-dist/bwdesk}")
if [ ! -d "$PAYLOAD" ]; then
  [ "$PAYLOAD" = "$ROOT/dist/bwdesk" ] || die "no payload folder $PAYLOAD"
  echo "check-nsis: building the one-folder app for a stand-in payload" >&2
  python3 dev.py setup
  .venv/bin/python -c 'import PyInstaller' 2>/dev/null || .venv/bin/python -m pip install --quiet 'pyinstaller>=6.10'
  PYINSTALLER_CONFIG_DIR=$ROOT/.pyi-cache .venv/bin/python -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/bwdesk.spec
fi

# The version comes from the package, never from the script.
VERSION=$(sed -nE 's/^__version__ *= *["'\'']([^"'\'']+)["'\''].*/\1/p' bwdesk/__init__.py)
[ -n "$VERSION" ] || die "no __version__ in bwdesk/__init__.py"
VIVERSION=$(python3 packaging/windows/viversion.py "$VERSION")
OUT=$ROOT/build/nsis/bwdesk-$VERSION-setup.exe
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"

# -WX: a warning (an unused define, a missing file, ...) fails the check.
makensis -V2 -WX -DVERSION="$VERSION" -DVIVERSION="$VIVERSION" -DPAYLOAD="$PAYLOAD" -DOUTFILE="$OUT" \
  packaging/windows/bwdesk.nsi

[ -s "$OUT" ] || die "makensis wrote no $OUT"
# The version resource holds the version as UTF-16 text; the installer shows it in Explorer's properties.
python3 - "$OUT" "$VERSION" <<'PY'
import sys

data = open(sys.argv[1], "rb").read()
version = sys.argv[2]
if not data.startswith(b"MZ"):
    sys.exit("check-nsis: the installer is not a Windows executable")
for key in ("ProductVersion", "FileVersion", "ProductName"):
    if key.encode("utf-16-le") not in data:
        sys.exit(f"check-nsis: no {key} in the installer's version resource")
if ("ProductVersion\0" + version).encode("utf-16-le") not in data:
    sys.exit(f"check-nsis: the version resource does not say ProductVersion {version}")
PY
printf 'check-nsis: %s compiled (%s bytes, version %s)\n' "${OUT#"$ROOT"/}" "$(stat -c %s "$OUT")" "$VERSION" >&2
