#!/usr/bin/env bash
# deps_cache.sh SOURCE_DIR — scripts/deps.sh on a machine without libmsgpack-dev (a
# private mount namespace whose dpkg status file lacks it) unpacks msgpack-c's headers
# into its cache and prints the option naming them; and a damaged cache (a header
# truncated or gone, the kept package file corrupt) is noticed and unpacked afresh,
# not handed to CMake. Needs root (unshare) and apt's package lists and sources.
set -euo pipefail
src=$1
[ "$(id -u)" = 0 ] || { echo "deps_cache.sh needs root (unshare -m)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v RS= -v ORS="\n\n" '!/^Package: libmsgpack-dev\n/' /var/lib/dpkg/status >"$tmp/status"
deps() { # run deps.sh as on a machine without libmsgpack-dev; prints its option
  unshare -m --propagation private sh -c \
    'mount --bind "$1" /var/lib/dpkg/status && shift && exec "$@"' deps "$tmp/status" \
    env XDG_CACHE_HOME="$tmp/cache" "$src/scripts/deps.sh" 2>>"$tmp/deps.log"
}
complete() { # DIR holds every header of the kept package file, at its size
  local deb
  deb=$(echo "$(dirname "$1")"/libmsgpack-dev_*.deb)
  dpkg-deb -c "$deb" | awk '$1 ~ /^-/ && $6 ~ /^\.\/usr\/include\// { print $3, substr($6, 15) }' |
    while read -r size path; do
      [ "$(stat -c %s "$1/$path" 2>/dev/null)" = "$size" ] || { echo "$1/$path: not $size bytes" >&2; exit 1; }
    done
}
opt=$(deps) || { cat "$tmp/deps.log" >&2; exit 1; }
headers=${opt#-DSHARR_MSGPACK_HEADERS=}
[ "$opt" = "-DSHARR_MSGPACK_HEADERS=$headers" ] && [ -f "$headers/msgpack.h" ] ||
  { echo "deps.sh printed '$opt'" >&2; cat "$tmp/deps.log" >&2; exit 1; }
complete "$headers"
deb=$(echo "$(dirname "$headers")"/libmsgpack-dev_*.deb)

: >"$headers/msgpack/pack.h"
[ "$(deps)" = "$opt" ] && complete "$headers" || { echo "a truncated header stayed in the cache" >&2; exit 1; }
rm -r "$headers/msgpack"
[ "$(deps)" = "$opt" ] && complete "$headers" || { echo "a missing header directory stayed missing" >&2; exit 1; }
rm -r "$headers/msgpack"
head -c 1000 "$deb" >"$deb.part" && mv "$deb.part" "$deb"
[ "$(deps)" = "$opt" ] && complete "$headers" || { echo "a corrupt cached package was not fetched again" >&2; exit 1; }
echo "deps.sh unpacks msgpack-c's headers without libmsgpack-dev and repairs a damaged cache"
