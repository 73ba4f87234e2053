#!/usr/bin/env bash
# macOS: build dist/bwdesk.app (the spec's BUNDLE: Info.plist with the version, the icon, the bundle id), check
# it, run its self-test, then put it in dist/bwdesk-<version>.dmg beside an Applications link (drag to install).
#
#   bash packaging/macos/build-dmg.sh [--skip-build]
#
# Needs macOS 14 or later (PySide6's macOS wheels do) and the Xcode command line tools' hdiutil/plutil.
# The app is ad-hoc signed by PyInstaller, not signed with a Developer ID nor notarized: a downloaded copy
# needs right-click > Open the first time. Signing needs the team's certificate and belongs in CI secrets.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

die() { printf 'build-dmg: %s\n' "$*" >&2; exit 1; }
log() { printf '\n=== build-dmg [%ss]: %s\n' "$SECONDS" "$*" >&2; }

[ "$(uname -s)" = Darwin ] || die "this builds a macOS disk image and runs only on macOS"
SKIP_BUILD=0
[ "${1:-}" = --skip-build ] && SKIP_BUILD=1

PY=$ROOT/.venv/bin/python
if [ "$SKIP_BUILD" = 0 ]; then
  log "virtual environment + PyInstaller"
  python3 dev.py setup
  "$PY" -c 'import PyInstaller' 2>/dev/null || "$PY" -m pip install --quiet 'pyinstaller>=6.10'
  log "PyInstaller (one-folder app in a .app bundle)"
  PYINSTALLER_CONFIG_DIR=$ROOT/.pyi-cache "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/bwdesk.spec
fi
VERSION=$("$PY" -c 'import bwdesk; print(bwdesk.__version__)')
APP=dist/bwdesk.app
[ -d "$APP" ] || die "$APP is missing"

log "checking $APP"
PLIST=$APP/Contents/Info.plist
plist() { plutil -extract "$1" raw -o - "$PLIST"; }
[ "$(plist CFBundleShortVersionString)" = "$VERSION" ] || die "Info.plist version is not $VERSION"
[ "$(plist CFBundleIdentifier)" = io.github.bwdesk.bwdesk ] || die "unexpected bundle identifier"
ICON=$(plist CFBundleIconFile)
[ -f "$APP/Contents/Resources/$ICON" ] || die "the icon $ICON named in Info.plist is not in the bundle"
shown=$("$APP/Contents/MacOS/bwdesk" --version)
[ "$shown" = "bwdesk $VERSION" ] || die "--version printed '$shown'"
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
"$APP/Contents/MacOS/bwdesk" --self-test 2>"$errors" || { cat "$errors" >&2; die "the app failed its self-test"; }
[ ! -s "$errors" ] || { cat "$errors" >&2; die "the self-test wrote to standard error"; }

log "disk image"
STAGE=$ROOT/build/dmg
rm -rf "$STAGE"
mkdir -p "$STAGE"
ditto "$APP" "$STAGE/bwdesk.app"
ln -s /Applications "$STAGE/Applications"
DMG=dist/bwdesk-$VERSION.dmg
rm -f "$DMG"
hdiutil create -quiet -volname "bwdesk $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
hdiutil verify -quiet "$DMG"
printf '%s\n' "$DMG"
printf 'build-dmg: %s (%s bytes)\n' "$DMG" "$(stat -f %z "$DMG")" >&2
