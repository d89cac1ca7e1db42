#!/usr/bin/env bash
# readme_build_deps.sh SOURCE_DIR — the packages README.md's "Install" tells to
# apt-get install before dpkg-buildpackage are enough for it: each of
# debian/control's Build-Depends, and build-essential (which dpkg-buildpackage
# requires of every build), is among them or provided by one of them (debhelper
# provides debhelper-compat and dh-sequence-installsysusers, python3-numpy
# dh-sequence-numpy3). Fails when apt has no package lists to read.
set -euo pipefail
src=$1
apt-cache show build-essential >/dev/null 2>&1 ||
  { echo "apt knows no packages: run apt-get update" >&2; exit 1; }
# The command, with the lines its trailing backslashes continue it on.
line=$(awk '/^## Install/,/dpkg-buildpackage/' "$src/README.md" |
  awk '/^ +sudo apt-get install --no-install-recommends / { on = 1 }
       on { cont = sub(/\\$/, ""); printf "%s ", $0; if (!cont) exit }')
[ -n "$line" ] || { echo "README.md's Install has no 'sudo apt-get install --no-install-recommends' line" >&2; exit 1; }
read -r -a listed <<<"${line#*--no-install-recommends }"
build_deps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" | grep -v '^#' |
  sed -e 's/^Build-Depends://' -e '/^[A-Z][a-zA-Z-]*:/d' | tr ',' '\n' |
  sed -e 's/(.*)//' -e 's/\[.*\]//' -e 's/[[:space:]]//g' | grep -v '^$')
missing=()
for dep in build-essential $build_deps; do
  # dep itself, and the packages that provide it
  providers=$(printf '%s\n' "$dep"; apt-cache showpkg "$dep" |
    sed -n '/^Reverse Provides:/,$p' | sed -n '2,$s/ .*//p')
  found=
  for p in "${listed[@]}"; do grep -qx -- "$p" <<<"$providers" && { found=1; break; }; done
  [ -n "$found" ] || missing+=("$dep")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "README.md's apt-get line (${listed[*]}) lacks what dpkg-buildpackage needs: ${missing[*]}" >&2
  exit 1
fi
echo "README.md's ${#listed[@]} packages cover debian/control's Build-Depends and build-essential"
