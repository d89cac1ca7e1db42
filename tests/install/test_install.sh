#!/usr/bin/env bash
# test_install.sh BUILD_DIR SOURCE_DIR — `cmake --install` into a temporary prefix,
# then build a separate project against it with find_package(sharr) (shared and
# static) and with pkg-config, start the installed sharrd and run all three builds
# of the consumer against it. The installed sharrd has no test hook. CFLAGS and
# LDFLAGS reach both builds of the consumer (a sanitizer build sets them).
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libsharr.so' | head -n1)")
[ -f "$libdir/pkgconfig/sharr.pc" ] || { echo "no sharr.pc in $libdir/pkgconfig" >&2; exit 1; }
# The installed daemon has no test hook, and the one with them is not installed.
"$src/tests/install/no_test_hooks.sh" "$src" "$prefix/sbin/sharrd"
[ -z "$(find "$prefix" -name 'sharrd-test*')" ] || { echo "sharrd-test was installed" >&2; exit 1; }

cmake -S "$src/tests/install/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
# shellcheck disable=SC2086 # CFLAGS and LDFLAGS (a sanitizer build's) are word lists
PKG_CONFIG_PATH="$libdir/pkgconfig" cc ${CFLAGS:-} -o "$tmp/consumer-pc" \
  "$src/tests/install/consumer/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs sharr) ${LDFLAGS:-}

"$prefix/sbin/sharrd" --socket "$tmp/s.sock" --store "$tmp/store" 2>"$tmp/sharrd.log" &
daemon_pid=$!
export LD_LIBRARY_PATH="$libdir"
for _ in $(seq 1 200); do
  "$prefix/bin/sharr" --socket "$tmp/s.sock" ping >/dev/null 2>&1 && break
  sleep 0.05
done
"$tmp/consumer/consumer" "$tmp/s.sock" via-cmake
"$tmp/consumer/consumer_static" "$tmp/s.sock" via-cmake-static
"$tmp/consumer-pc" "$tmp/s.sock" via-pkg-config
echo "installed library works through find_package (shared, static) and pkg-config"
