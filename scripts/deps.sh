#!/usr/bin/env bash
# deps.sh — install what sharr needs to build and test on Debian 12, if missing, and
# print on stdout the CMake options the build then needs (start.sh and test.sh pass
# them; everything else goes to stderr). Safe to run again: installs nothing and
# downloads nothing when all is present.
#
# msgpack-c: Debian 12's libmsgpack-dev depends on libmsgpack-cxx-dev, which pulls
# Boost into this C project. So only the C runtime library, libmsgpackc2, is
# installed; when libmsgpack-dev is not installed, its package file of the same
# version is downloaded (not installed) into ${XDG_CACHE_HOME:-~/.cache}/sharr/,
# checked, and only its headers are unpacked; the option printed,
# -DSHARR_MSGPACK_HEADERS=DIR, points CMake at them (cmake/msgpack.cmake).
set -euo pipefail

SHARR_PACKAGES=(build-essential cmake pkg-config libuv1-dev libmsgpackc2 libcmocka-dev
                debhelper lintian
                python3-dev python3-numpy python3-pytest python3-joblib python3-dask
                python3-distributed python3-venv python3-setuptools
                valgrind clang libclang-rt-14-dev systemd groff-base abigail-tools)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
sudo_cmd=()
as_root() {
  if [ "$(id -u)" -ne 0 ] && [ ${#sudo_cmd[@]} -eq 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to $*" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >&2
}

missing=()
for p in "${SHARR_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

installed libmsgpack-dev && exit 0
version=$(dpkg-query -W -f='${Version}' libmsgpackc2)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sharr"
headers="$cache/libmsgpack-dev_$version/include"
if [ ! -f "$headers/msgpack.h" ]; then
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/download.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "deps: downloading libmsgpack-dev $version for its headers (not installing it)" >&2
  if ! (cd "$work" && apt-get download -q "libmsgpack-dev=$version" >&2); then
    as_root apt-get update -qq
    (cd "$work" && apt-get download -q "libmsgpack-dev=$version" >&2)
  fi
  deb=("$work"/libmsgpack-dev_*.deb)
  [ -f "${deb[0]}" ] || { echo "deps: apt-get download left no libmsgpack-dev package" >&2; exit 1; }
  [ "$(dpkg-deb --field "${deb[0]}" Package)" = libmsgpack-dev ] &&
    [ "$(dpkg-deb --field "${deb[0]}" Version)" = "$version" ] ||
    { echo "deps: ${deb[0]} is not libmsgpack-dev $version:" >&2; dpkg-deb --info "${deb[0]}" >&2; exit 1; }
  dpkg-deb -x "${deb[0]}" "$work/root"
  [ -f "$work/root/usr/include/msgpack.h" ] || { echo "deps: ${deb[0]} holds no msgpack.h" >&2; exit 1; }
  # Only the headers: the package's pkg-config and CMake files name /usr.
  rm -rf "$(dirname "$headers")"
  mkdir -p "$(dirname "$headers")"
  mv "$work/root/usr/include" "$headers"
  mv "${deb[0]}" "$(dirname "$headers")/"
fi
echo "-DSHARR_MSGPACK_HEADERS=$headers"
