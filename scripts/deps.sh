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
# checked, and only its headers are unpacked (again, from the kept package file, if a
# later run finds one missing or of another size than the package's); the option printed,
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
dir="$cache/libmsgpack-dev_$version"
headers="$dir/include"
# The package file kept in the cache, if it is libmsgpack-dev $version and whole.
cached_deb() {
  local deb
  deb=$(echo "$dir"/libmsgpack-dev_*.deb)
  [ -f "$deb" ] && [ "$(dpkg-deb --field "$deb" Package 2>/dev/null)" = libmsgpack-dev ] &&
    [ "$(dpkg-deb --field "$deb" Version 2>/dev/null)" = "$version" ] &&
    dpkg-deb -c "$deb" >/dev/null 2>&1 && echo "$deb"
}
# The cached headers are every header of package file $1, at its size.
headers_complete() {
  dpkg-deb -c "$1" | awk '$1 ~ /^-/ && $6 ~ /^\.\/usr\/include\// { print $3, substr($6, 15) }' |
    while read -r size path; do [ "$(stat -c %s "$headers/$path" 2>/dev/null)" = "$size" ] || exit 1; done
}
if ! deb=$(cached_deb) || ! headers_complete "$deb"; then
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/download.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  if ! deb=$(cached_deb); then
    echo "deps: downloading libmsgpack-dev $version for its headers (not installing it)" >&2
    if ! (cd "$work" && apt-get download -q "libmsgpack-dev=$version" >&2); then
      as_root apt-get update -qq
      (cd "$work" && apt-get download -q "libmsgpack-dev=$version" >&2)
    fi
    deb=$(echo "$work"/libmsgpack-dev_*.deb)
    [ -f "$deb" ] || { echo "deps: apt-get download left no libmsgpack-dev package" >&2; exit 1; }
    [ "$(dpkg-deb --field "$deb" Package)" = libmsgpack-dev ] &&
      [ "$(dpkg-deb --field "$deb" Version)" = "$version" ] ||
      { echo "deps: $deb is not libmsgpack-dev $version:" >&2; dpkg-deb --info "$deb" >&2; exit 1; }
  else
    echo "deps: the headers in $headers are damaged; unpacking them again" >&2
  fi
  dpkg-deb -x "$deb" "$work/root"
  [ -f "$work/root/usr/include/msgpack.h" ] || { echo "deps: $deb holds no msgpack.h" >&2; exit 1; }
  # Only the headers: the package's pkg-config and CMake files name /usr. The package
  # file is kept beside them, to check them against on every run.
  rm -rf "$headers"
  mkdir -p "$dir"
  mv "$work/root/usr/include" "$headers"
  if [ "$(dirname "$deb")" = "$work" ]; then
    rm -f "$dir"/libmsgpack-dev_*.deb
    mv "$deb" "$dir/"
  fi
fi
echo "-DSHARR_MSGPACK_HEADERS=$headers"
