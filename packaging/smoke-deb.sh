#!/usr/bin/env bash
# The whole Linux package round trip, as IT would do it: build the .deb, install it with apt, run bwdesk from
# /usr/bin, check the desktop integration files, remove it, and check that nothing is left behind.
#
#   sudo bash packaging/smoke-deb.sh              build (packaging/build-deb.sh), then test
#   sudo bash packaging/smoke-deb.sh --no-build   test the newest dist/bwdesk_*.deb as it is
#
# Needs root (apt-get install/remove). Refuses to run where bwdesk is already installed, since the test removes
# it. Under Xvfb (xvfb-run present) the self-test also runs on the real xcb platform, which proves the package's
# Depends bring every library Qt's xcb plugin loads. The installed program runs with an empty environment, so
# there is no D-Bus session and no keyring: the self-test must say so (exit status 3), and passes with
# --expect-keyring none. With dbus-run-session and gnome-keyring installed it also runs in a private D-Bus
# session, where it must find and accept the Secret Service. The team history is checked against a throw-away
# PostgreSQL (Debian's postgresql package, as the tests use) with sslmode=verify-full and sslrootcert=system.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS

BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "smoke-deb.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\n=== smoke-deb [%ss]: %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { printf 'smoke-deb: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs and removes the package): sudo bash $0"
if dpkg-query -W -f='${Status}' bwdesk 2>/dev/null | grep -q "install ok installed"; then
  die "bwdesk is already installed here; this test would remove it. Remove it first: apt-get remove bwdesk"
fi

if [ "$BUILD" = 1 ]; then
  log "building"
  bash packaging/build-deb.sh
fi
DEB=$(ls -t dist/bwdesk_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n 1) || true
[ -n "$DEB" ] || die "no dist/bwdesk_*.deb (run without --no-build)"
VERSION=$(dpkg-deb -f "$DEB" Version)
log "installing $DEB (version $VERSION)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$DEB" >/dev/null

# Run the installed program as an unprivileged user with an empty home: it must need nothing writable in /opt.
HOME_DIR=$(mktemp -d)
ERRORS=$(mktemp)
cleanup() { rm -rf "$HOME_DIR" "$ERRORS"; }
trap cleanup EXIT
chmod 0777 "$HOME_DIR"
as_user() { (cd / && runuser -u nobody -- env -i PATH=/usr/bin:/bin HOME="$HOME_DIR" LANG=C.UTF-8 "$@"); }

log "bwdesk from /usr/bin"
[ "$(command -v bwdesk)" = /usr/bin/bwdesk ] || die "bwdesk is not on PATH as /usr/bin/bwdesk"
[ "$(readlink -f /usr/bin/bwdesk)" = /opt/bwdesk/bwdesk ] || die "/usr/bin/bwdesk does not lead to /opt/bwdesk/bwdesk"
shown=$(as_user /usr/bin/bwdesk --version)
case "$VERSION" in
  *~*) ;; # a pre-release: Debian's spelling differs from Python's
  *) [ "$shown" = "bwdesk $VERSION" ] || die "bwdesk --version printed '$shown', expected 'bwdesk $VERSION'" ;;
esac
echo "$shown"

log "every library the bundle links to resolves (the package's Depends are complete)"
unresolved=$(find /opt/bwdesk -type f \( -name '*.so*' -o -path /opt/bwdesk/bwdesk \) -print0 \
  | xargs -0 -n 20 env LD_LIBRARY_PATH=/opt/bwdesk/_internal:/opt/bwdesk/_internal/PySide6/Qt/lib ldd 2>/dev/null \
  | grep 'not found' | sort -u || true)
[ -z "$unresolved" ] || die "libraries not found (missing from Depends?): $unresolved"

# No D-Bus session here (env -i), so no keyring, on purpose: --expect-keyring none.
log "bwdesk --self-test --expect-keyring none (offscreen, no keyring)"
report=$(as_user /usr/bin/bwdesk --self-test --expect-keyring none 2>"$ERRORS") \
  || { printf '%s\n' "$report"; cat "$ERRORS" >&2; die "the installed bwdesk failed its self-test"; }
printf '%s\n' "$report"
[ ! -s "$ERRORS" ] || { cat "$ERRORS" >&2; die "the installed bwdesk's self-test wrote to standard error"; }
# The team history's driver uses the system's libpq (Depends: libpq5), not a private copy.
printf '%s\n' "$report" | grep -q "^ok    postgres: psycopg .* (python) with this computer's, libpq " \
  || die "the installed bwdesk's psycopg does not use the system's libpq"

log "bwdesk --self-test without a keyring and without --expect-keyring none says so (exit status 3)"
status=0
as_user /usr/bin/bwdesk --self-test >/dev/null 2>"$ERRORS" || status=$?
[ "$status" = 3 ] || { cat "$ERRORS" >&2; die "without a keyring the self-test exited $status, expected 3"; }
grep -q "keyring: no usable keyring" "$ERRORS" || { cat "$ERRORS" >&2; die "the self-test did not name the keyring"; }

if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  # A private session bus in which GNOME Keyring is D-Bus activatable: the frozen app must find it. Only
  # bwdesk's standard error is checked (dbus-daemon may note its own limits there).
  log "bwdesk --self-test --expect-keyring SecretService (private D-Bus session with GNOME Keyring)"
  bwdesk_errors=$HOME_DIR/selftest-errors  # written by the unprivileged user
  as_user dbus-run-session -- sh -c '/usr/bin/bwdesk --self-test --expect-keyring SecretService 2>"$1"' sh \
    "$bwdesk_errors" || { cat "$bwdesk_errors" >&2; die "the installed bwdesk did not find the Secret Service"; }
  [ ! -s "$bwdesk_errors" ] || { cat "$bwdesk_errors" >&2; die "the self-test with a keyring wrote to standard error"; }
else
  echo "skipped: the Secret Service check needs dbus-run-session and gnome-keyring-daemon" >&2
fi

if command -v xvfb-run >/dev/null; then
  log "bwdesk --self-test --platform xcb (under Xvfb)"
  as_user xvfb-run -a /usr/bin/bwdesk --self-test --platform xcb --expect-keyring none 2>"$ERRORS" \
    || { cat "$ERRORS" >&2; die "the installed bwdesk failed its self-test on xcb"; }
  [ ! -s "$ERRORS" ] || { cat "$ERRORS" >&2; die "the self-test on xcb wrote to standard error"; }
fi

# The team history from the installed package: a local PostgreSQL with TLS, sslmode=verify-full and
# sslrootcert=system, the test's authority standing in for the system's (packaging/smoke_team.py says how).
log "bwdesk team init + team status against PostgreSQL with sslmode=verify-full&sslrootcert=system"
[ -x .venv/bin/python ] || python3 dev.py setup  # the PostgreSQL test harness and its certificates
.venv/bin/python packaging/smoke_team.py /usr/bin/bwdesk || die "the installed bwdesk cannot use a team database"

log "desktop integration files"
desktop-file-validate /usr/share/applications/bwdesk.desktop
appstreamcli validate --no-net /usr/share/metainfo/io.github.bwdesk.bwdesk.metainfo.xml >/dev/null \
  || die "the installed metainfo does not validate"
[ -f /usr/share/icons/hicolor/scalable/apps/bwdesk.svg ] || die "no scalable icon"
for size in 16 24 32 48 64 128 256 512; do
  [ -f "/usr/share/icons/hicolor/${size}x${size}/apps/bwdesk.png" ] || die "no ${size}x${size} icon"
done
grep -qx 'Exec=bwdesk' /usr/share/applications/bwdesk.desktop || die "the desktop entry does not run bwdesk"

log "running left nothing in /opt/bwdesk that the package does not own"
extra=$(comm -13 <(dpkg -L bwdesk | sort) <(find /opt/bwdesk | sort))
[ -z "$extra" ] || die "files appeared in /opt/bwdesk at run time (apt-get remove would leave them): $extra"

log "apt-get remove bwdesk"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq bwdesk >/dev/null
left=()
for path in /opt/bwdesk /usr/bin/bwdesk /usr/share/applications/bwdesk.desktop \
  /usr/share/metainfo/io.github.bwdesk.bwdesk.metainfo.xml /usr/share/icons/hicolor/scalable/apps/bwdesk.svg \
  /usr/share/icons/hicolor/256x256/apps/bwdesk.png /usr/share/doc/bwdesk; do
  if [ -e "$path" ] || [ -L "$path" ]; then left+=("$path"); fi
done
[ ${#left[@]} -eq 0 ] || die "left behind after apt-get remove: ${left[*]}"
if dpkg-query -W -f='${Status}' bwdesk 2>/dev/null | grep -q "installed"; then
  die "dpkg still lists bwdesk: $(dpkg-query -W -f='${Status}' bwdesk)"
fi

log "passed: built, installed, ran, removed without a trace ($((SECONDS - START)) s)"
