#!/usr/bin/env bash
# Sizes of the frozen bwdesk next to a bare PySide6 app frozen with the very same spec options (target: bwdesk
# at most 1.2x the bare app), and of the .deb with xz and with zstd. Prints a Markdown table.
#
#   bash packaging/measure-sizes.sh            build both one-folder apps and both .debs, then measure
#   bash packaging/measure-sizes.sh --no-deb   one-folder apps only (no dpkg tools needed)
#
# Builds under build/sizes/; with the .debs it also leaves dist/bwdesk and the zstd .deb in dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

WITH_DEB=1
[ "${1:-}" = --no-deb ] && WITH_DEB=0

python3 dev.py setup
PY=$ROOT/.venv/bin/python
"$PY" -c 'import PyInstaller' 2>/dev/null || "$PY" -m pip install --quiet 'pyinstaller>=6.10'
export PYINSTALLER_CONFIG_DIR=$ROOT/.pyi-cache

freeze() { # name entry(optional) -> prints seconds
  local start=$SECONDS
  env BWDESK_NAME="$1" ${2:+"BWDESK_ENTRY=$2"} "$PY" -m PyInstaller --noconfirm --clean --log-level ERROR \
    --distpath build/sizes/dist --workpath build/sizes/work packaging/bwdesk.spec >&2
  echo $((SECONDS - start))
}

echo "measure-sizes: freezing bwdesk" >&2
t_bwdesk=$(freeze bwdesk)
echo "measure-sizes: freezing the bare PySide6 app" >&2
t_bare=$(freeze bare-pyside6 "$ROOT/packaging/sizes/bare_pyside6_app.py")
QT_QPA_PLATFORM=offscreen build/sizes/dist/bare-pyside6/bare-pyside6 --quit-after-show \
  || { echo "measure-sizes: the bare app does not start" >&2; exit 1; }

bytes() { du -sb "$1" | cut -f1; }
files() { find "$1" -type f | wc -l; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }
b_bwdesk=$(bytes build/sizes/dist/bwdesk)
b_bare=$(bytes build/sizes/dist/bare-pyside6)
ratio=$(awk -v a="$b_bwdesk" -v b="$b_bare" 'BEGIN { printf "%.2f", a / b }')

echo "| build | size (du -sb) | files | freeze time |"
echo "|---|---|---|---|"
echo "| bare PySide6 app, one folder | $b_bare B ($(mb "$b_bare") MB) | $(files build/sizes/dist/bare-pyside6) | ${t_bare} s |"
echo "| bwdesk, one folder | $b_bwdesk B ($(mb "$b_bwdesk") MB) | $(files build/sizes/dist/bwdesk) | ${t_bwdesk} s |"
echo "| ratio bwdesk / bare | ${ratio}x (target <= 1.2x) | | |"

if [ "$WITH_DEB" = 1 ]; then
  rm -rf dist/bwdesk && mkdir -p dist && cp -a build/sizes/dist/bwdesk dist/bwdesk
  for compress in xz zstd; do
    start=$SECONDS
    deb=$(DEB_COMPRESS=$compress bash packaging/build-deb.sh --skip-build 2>/dev/null | tail -n 1)
    elapsed=$((SECONDS - start))
    size=$(stat -c %s "$deb")
    cp "$deb" "build/sizes/$(basename "$deb" .deb).$compress.deb"
    echo "| .deb ($compress) | $size B ($(mb "$size") MB) | | ${elapsed} s to package |"
  done
fi
