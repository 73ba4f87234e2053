#!/usr/bin/env bash
# Build the Linux package: the PyInstaller one-folder app, then dist/bwdesk_<version>_<arch>.deb.
#
#   bash packaging/build-deb.sh               build everything from a clean clone
#   bash packaging/build-deb.sh --skip-build  reuse dist/bwdesk from an earlier run (packaging only)
#
# Environment (all optional):
#   DEB_COMPRESS       xz (default: smallest download), zstd (fast; dpkg of Debian 12 / Ubuntu 22.04+ reads it), gzip
#   DEB_MAINTAINER     the package's Maintainer field
#
# Layout: the app in /opt/bwdesk, /usr/bin/bwdesk (a symlink; the bootloader follows it to /opt/bwdesk), the
# desktop entry, hicolor icons (scalable + PNG sizes), AppStream metainfo and the copyright file. Depends is
# computed by dpkg-shlibdeps from every ELF file in the bundle (so it names exactly the system libraries Qt's
# xcb and wayland plugins and the rest load, with minimum versions), plus what is loaded without being linked.
# The freshly built folder must pass `bwdesk --self-test` before it is packaged.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SKIP_BUILD=0
for arg in "$@"; do
  case "$arg" in
    --skip-build) SKIP_BUILD=1 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build-deb.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

COMPRESS=${DEB_COMPRESS:-xz}
MAINTAINER=${DEB_MAINTAINER:-bwdesk developers <bwdesk@users.noreply.github.com>}
HOMEPAGE=https://github.com/bwdesk/bwdesk
METAINFO=resources/io.github.bwdesk.bwdesk.metainfo.xml
DESKTOP=resources/bwdesk.desktop

log() { printf '\n=== build-deb [%ss]: %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'build-deb: %s\n' "$*" >&2; exit 1; }

# --- Debian tools, and the libraries the bundle links to (dpkg-shlibdeps must find each one) -------------
# Installed when missing (as root, or with password-less sudo as on CI runners).
TOOLS=(dpkg-dev desktop-file-utils appstream)
RUNTIME_LIBS=(
  libgl1 libegl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0
  libxcb-xkb1 libwayland-client0 libwayland-cursor0 libwayland-egl1
  libpq5
)
missing=()
for deb in "${TOOLS[@]}" "${RUNTIME_LIBS[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || die "missing Debian packages: ${missing[*]}
  install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
    SUDO=(sudo -n)
  fi
  log "installing Debian packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python: the project's virtual environment, plus PyInstaller -------------------------------------
PY=$ROOT/.venv/bin/python
if [ "$SKIP_BUILD" = 0 ]; then
  log "virtual environment (python3 dev.py setup) + PyInstaller"
  python3 dev.py setup
  if ! "$PY" -c 'import PyInstaller' 2>/dev/null; then
    "$PY" -m pip install --quiet --disable-pip-version-check 'pyinstaller>=6.10'
  fi
  "$PY" -c 'import sysconfig, sys; sys.exit(0 if sysconfig.get_config_var("Py_ENABLE_SHARED") else 1)' \
    || die "this Python has no shared libpython, which PyInstaller needs (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared)"
fi

VERSION=$("$PY" -c 'import bwdesk; print(bwdesk.__version__)')
# PEP 440 pre-/dev-releases sort before the release in Debian only with a tilde: 1.0rc1 -> 1.0~rc1.
DEB_VERSION=$(printf '%s' "$VERSION" | sed -E 's/\.?(a|b|rc|dev)([0-9]*)/~\1\2/g; s/\.post/+post/')
ARCH=$(dpkg --print-architecture)
DEB=dist/bwdesk_${DEB_VERSION}_${ARCH}.deb

# --- checks that need no build ------------------------------------------------------------------------
log "checking resources for bwdesk $VERSION"
grep -q "<release version=\"$VERSION\"" "$METAINFO" \
  || die "$METAINFO has no <release version=\"$VERSION\"> entry: add one (newest first) for bwdesk $VERSION"
"$PY" packaging/make_icons.py --check
desktop-file-validate "$DESKTOP"
appstreamcli validate --no-net --pedantic "$METAINFO" >/dev/null \
  || { appstreamcli validate --no-net "$METAINFO"; die "$METAINFO does not validate"; }

# --- the one-folder app -------------------------------------------------------------------------------
if [ "$SKIP_BUILD" = 0 ]; then
  log "PyInstaller one-folder build"
  export PYINSTALLER_CONFIG_DIR=$ROOT/.pyi-cache
  "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/bwdesk.spec
fi
[ -x dist/bwdesk/bwdesk ] || die "dist/bwdesk/bwdesk is missing (run without --skip-build)"

log "self-test of the one-folder build"
shown=$(dist/bwdesk/bwdesk --version)
[ "$shown" = "bwdesk $VERSION" ] || die "dist/bwdesk/bwdesk --version printed '$shown', expected 'bwdesk $VERSION'"
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
# A build machine needs no keyring (CI runners have none); smoke-deb.sh checks the keyring on the package.
if ! dist/bwdesk/bwdesk --self-test --expect-keyring none 2>"$errors"; then
  cat "$errors" >&2
  die "the one-folder build failed its self-test"
fi
[ ! -s "$errors" ] || { cat "$errors" >&2; die "the one-folder build's self-test wrote to standard error"; }

# --- the package tree ---------------------------------------------------------------------------------
log "staging the package tree"
STAGE=$ROOT/build/deb/bwdesk_${DEB_VERSION}_${ARCH}
rm -rf "$STAGE"
install -d "$STAGE/DEBIAN" "$STAGE/opt/bwdesk" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/metainfo" "$STAGE/usr/share/doc/bwdesk" "$STAGE/usr/share/icons/hicolor/scalable/apps"
cp -a dist/bwdesk/. "$STAGE/opt/bwdesk/"
ln -s /opt/bwdesk/bwdesk "$STAGE/usr/bin/bwdesk"
install -m 0644 "$DESKTOP" "$STAGE/usr/share/applications/bwdesk.desktop"
install -m 0644 "$METAINFO" "$STAGE/usr/share/metainfo/io.github.bwdesk.bwdesk.metainfo.xml"
install -m 0644 resources/bwdesk.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/bwdesk.svg"
for png in resources/icons/bwdesk-*.png; do
  size=${png##*/bwdesk-}
  size=${size%.png}
  install -D -m 0644 "$png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/bwdesk.png"
done
install -m 0644 packaging/debian/copyright "$STAGE/usr/share/doc/bwdesk/copyright"
# Owner-writable, world-readable; executables keep their x bit.
chmod -R u+rwX,go+rX,go-w "$STAGE"

log "validating the installed layout"
desktop-file-validate "$STAGE/usr/share/applications/bwdesk.desktop"
appstreamcli validate-tree --no-net "$STAGE" >/dev/null \
  || { appstreamcli validate-tree --no-net "$STAGE"; die "the package tree does not validate"; }

# --- Depends ------------------------------------------------------------------------------------------
log "computing Depends with dpkg-shlibdeps"
elves=()
while IFS= read -r -d '' path; do
  if [ "$(head -c 4 "$path" | od -An -c | tr -d ' ')" = '177ELF' ]; then elves+=("$path"); fi
done < <(find "$STAGE/opt/bwdesk" -type f -print0)
libdirs=()
while IFS= read -r -d '' dir; do libdirs+=("-l$dir"); done \
  < <(find "$STAGE/opt/bwdesk" -type f -name '*.so*' -printf '%h\0' | sort -zu)
# A library bundled in /opt/bwdesk is not a dependency, even when the system has its own copy (which
# dpkg-shlibdeps falls back on for the version information the bundled copy lacks).
bundled=()
while IFS= read -r soname; do
  owner=$(dpkg -S "*/$soname" 2>/dev/null | head -n 1 | cut -d: -f1) || true
  if [ -n "$owner" ]; then bundled+=("-x$owner"); fi
done < <(find "$STAGE/opt/bwdesk" -name 'lib*.so*' -printf '%f\n' | sort -u)
shlibs=$(mktemp -d)
mkdir "$shlibs/debian"
printf 'Source: bwdesk\n\nPackage: bwdesk\nArchitecture: any\n' >"$shlibs/debian/control"
(cd "$shlibs" && dpkg-shlibdeps -O --ignore-missing-info -S"$STAGE" "${bundled[@]}" "${libdirs[@]}" "${elves[@]}" 2>shlibdeps.log) \
  >"$shlibs/substvars" || { cat "$shlibs/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
SHLIBS_DEPENDS=$(sed -n 's/^shlibs:Depends=//p' "$shlibs/substvars")
rm -rf "$shlibs"
[ -n "$SHLIBS_DEPENDS" ] || die "dpkg-shlibdeps found no dependencies"
# A minimum version derived from a symbols file reflects the symbols the bundle really uses; one from a plain
# shlibs file is just the build host's current version (libzstd1 >= 1.5.2, libx11-xcb1 >= 2:1.8.4 on Debian 12),
# which would refuse to install on Ubuntu 22.04 for no reason. Keep the first kind only.
relaxed=()
IFS=',' read -r -a entries <<<"$SHLIBS_DEPENDS"
for entry in "${entries[@]}"; do
  entry=$(printf '%s' "$entry" | sed -E 's/^ +| +$//g')
  name=${entry%% *}
  if [ "$name" != "$entry" ] \
    && [ -z "$(ls /var/lib/dpkg/info/"$name".symbols /var/lib/dpkg/info/"$name":*.symbols 2>/dev/null)" ]; then
    entry=$name
  fi
  relaxed+=("$entry")
done
SHLIBS_DEPENDS=$(printf '%s, ' "${relaxed[@]}")
SHLIBS_DEPENDS=${SHLIBS_DEPENDS%, }
# Loaded at run time without being linked: fontconfig's configuration and a font (without them every glyph
# is a box; libfontconfig1 pulls both in), the GL/EGL vendor libraries behind libglvnd, and PostgreSQL's client
# library, which psycopg's pure-Python implementation loads by name for the team history (packaging/bwdesk.spec:
# the system's libpq and OpenSSL read the system's certificate authorities and get its security updates;
# psycopg supports libpq 10 and newer).
DEPENDS=$SHLIBS_DEPENDS
for extra in fontconfig-config libgl1 libegl1 "libpq5 (>= 10)"; do
  name=${extra%% *}
  case ", $DEPENDS," in *", $name,"* | *", $name ("*) ;; *) DEPENDS="$DEPENDS, $extra" ;; esac
done
RECOMMENDS="xdg-utils"
SUGGESTS="gnome-keyring"

INSTALLED_SIZE=$(du -sk --apparent-size --exclude=DEBIAN "$STAGE" | cut -f1)
cat >"$STAGE/DEBIAN/control" <<CONTROL
Package: bwdesk
Version: $DEB_VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_SIZE
Depends: $DEPENDS
Recommends: $RECOMMENDS
Suggests: $SUGGESTS
Section: net
Priority: optional
Homepage: $HOMEPAGE
Description: send SMS and MMS by hand through Bandwidth's Messaging API
 bwdesk is a desktop composer for support staff who text customers by hand
 through Bandwidth's Messaging API v2: numbers, text length and media are
 checked before anything is sent, a message is never sent twice, and a
 searchable local history records what was said. A local sandbox lets you try
 everything without an account.
 .
 This package installs a self-contained build (Python, Qt and the libraries
 bwdesk uses) under /opt/bwdesk; the team history uses the system's PostgreSQL
 client library (libpq5). Passwords are kept in the desktop's keychain
 (Secret Service, e.g. GNOME Keyring or KWallet).
CONTROL
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/md5sums"

log "dpkg-deb ($COMPRESS)"
rm -f "$DEB"
dpkg-deb --root-owner-group -Z"$COMPRESS" --build "$STAGE" "$DEB" >/dev/null
dpkg-deb --info "$DEB" >/dev/null
printf '%s\n' "$DEB"
printf 'build-deb: %s (%s bytes; one-folder app %s bytes)\nDepends: %s\n' \
  "$DEB" "$(stat -c %s "$DEB")" "$(du -sb dist/bwdesk | cut -f1)" "$DEPENDS" >&2
