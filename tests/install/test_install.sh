#!/usr/bin/env bash
# test_install.sh BUILD_DIR SOURCE_DIR — `cmake --install` into a temporary prefix,
# check the SONAME and which versions find_package(sharr VERSION) accepts, then build a
# separate project against it with find_package(sharr) (shared and static) and with
# pkg-config, start the installed sharrd and run all three builds of the consumer
# against it. The installed sharrd has no test hook. CFLAGS and LDFLAGS reach both
# builds of the consumer (a sanitizer build sets them).
set -euo pipefail
build=$1 src=$2
# shellcheck source=daemon.sh
. "$src/tests/install/daemon.sh"
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libsharr.so' | head -n1)")
[ -f "$libdir/pkgconfig/sharr.pc" ] || { echo "no sharr.pc in $libdir/pkgconfig" >&2; exit 1; }
# The installed daemon has no test hook, and the one with them is not installed.
"$src/tests/install/no_test_hooks.sh" "$src" "$prefix/sbin/sharrd"
[ -z "$(find "$prefix" -name 'sharrd-test*')" ] || { echo "sharrd-test was installed" >&2; exit 1; }

# The SONAME is the ABI's (README.md, "Library ABI"), and the headers come as a pair.
soname=$(readelf -d "$libdir/libsharr.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsharr.so.0" ] || { echo "SONAME is '$soname', not libsharr.so.0" >&2; exit 1; }
[ -f "$prefix/include/sharr_version.h" ] || { echo "sharr_version.h not installed" >&2; exit 1; }

# find_package(sharr V) is served for any V from the first release of this SONAME
# (0.1.0) to this version, and for no other.
wants() { # version-request, expected: found|refused
  mkdir -p "$tmp/want"
  printf 'cmake_minimum_required(VERSION 3.19)\nproject(want LANGUAGES C)\nfind_package(sharr %s REQUIRED)\n' \
    "$1" >"$tmp/want/CMakeLists.txt"
  if cmake -S "$tmp/want" -B "$tmp/want/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
    got=found
  else
    got=refused
  fi
  rm -rf "$tmp/want"
  [ "$got" = "$2" ] || { echo "find_package(sharr $1): $got, expected $2" >&2; exit 1; }
}
wants 0.1 found
wants 0.1.0...0.3 found
wants 0.0.9 refused
wants 0.0.1...0.3 refused
wants 0.2 refused
wants 1.0 refused

cmake -S "$src/tests/install/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
# shellcheck disable=SC2086 # CFLAGS and LDFLAGS (a sanitizer build's) are word lists
PKG_CONFIG_PATH="$libdir/pkgconfig" cc ${CFLAGS:-} -o "$tmp/consumer-pc" \
  "$src/tests/install/consumer/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs sharr) ${LDFLAGS:-}

daemon_start "$prefix/sbin/sharrd" env LD_LIBRARY_PATH="$libdir" "$prefix/bin/sharr"
export LD_LIBRARY_PATH="$libdir"
"$tmp/consumer/consumer" "$tmp/s.sock" via-cmake
"$tmp/consumer/consumer_static" "$tmp/s.sock" via-cmake-static
"$tmp/consumer-pc" "$tmp/s.sock" via-pkg-config
echo "installed library works through find_package (shared, static) and pkg-config"
