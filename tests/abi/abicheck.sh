#!/usr/bin/env bash
# abicheck.sh — libsharr.so against the ABI baseline committed in client/abi/, with
# Debian's abigail-tools (scripts/deps.sh installs them).
#
#   abicheck.sh check BASELINE LIB.so INCLUDE_DIR...
#       Fails when the library removed or changed anything the baseline has (a
#       function, its signature, a public struct's layout), or added a symbol to a
#       version node the baseline already has (a released node never grows). Added
#       functions in a new node pass, with a reminder to update the baseline.
#   abicheck.sh update BASELINE LIB.so INCLUDE_DIR...
#       Writes LIB.so's ABI as the new BASELINE: the deliberate step README.md
#       ("Library ABI") describes, after a release or a reviewed change.
# The library must carry debug information (RelWithDebInfo or Debug builds).
set -euo pipefail

die() { echo "abicheck.sh: $*" >&2; exit 2; }
for tool in abidw abidiff readelf; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/deps.sh (abigail-tools)"
done
[ $# -ge 4 ] || die "usage: abicheck.sh check|update BASELINE LIB.so INCLUDE_DIR..."
mode=$1 baseline=$2 lib=$3
shift 3
readelf -S "$lib" | grep -q '\.debug_info' \
  || die "$lib has no debug information: build with CMAKE_BUILD_TYPE RelWithDebInfo or Debug"

# The one way an ABI is written, for the baseline and for the library under test:
# public types only (those of the headers), no paths or line numbers, stable ids.
headers=()
for d in "$@"; do headers+=(--headers-dir "$d"); done
dump() { # lib out
  abidw "${headers[@]}" --drop-private-types --drop-undefined-syms --no-show-locs \
    --no-corpus-path --no-comp-dir-path --type-id-style hash "$1" --out-file "$2"
}

if [ "$mode" = update ]; then
  dump "$lib" "$baseline"
  echo "abicheck.sh: wrote $baseline from $lib; review and commit it"
  exit 0
fi
[ "$mode" = check ] || die "unknown mode '$mode'"
[ -f "$baseline" ] || die "no baseline at $baseline (abicheck.sh update writes one)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dump "$lib" "$tmp/current.abi"

# "name version" of each exported symbol.
symbols() {
  sed -n "s/.*<elf-symbol name='\([^']*\)' version='\([^']*\)'.*is-defined='yes'.*/\1 \2/p" \
    "$1" | sort -u
}

# Everything but additions: any difference is a change to what programs rely on.
rc=0
abidiff --no-added-syms "$baseline" "$tmp/current.abi" >"$tmp/changes" 2>&1 || rc=$?
if [ $((rc & 3)) -ne 0 ]; then
  cat "$tmp/changes" >&2
  die "abidiff failed ($rc)"
fi
if [ "$rc" -ne 0 ]; then
  cat "$tmp/changes" >&2
  if [ $((rc & 8)) -ne 0 ]; then
    echo "abicheck.sh: INCOMPATIBLE change to libsharr's ABI (above): programs built" \
         "against the baseline would break. Undo it, or raise SHARR_SOVERSION as" \
         "README.md (Library ABI) says and update the baseline." >&2
  else
    echo "abicheck.sh: libsharr's ABI changed (above). A struct's layout or a" \
         "signature is only changed as README.md (Library ABI) allows (fields taken" \
         "from reserved space, option structs grown at their end); then update the" \
         "baseline deliberately: cmake --build BUILD --target abi-baseline." >&2
  fi
  exit 1
fi

# Additions must come in a node of their own: a released node never grows.
old_versions=$(symbols "$baseline" | awk '{ print $2 }' | sort -u)
added=$(comm -13 <(symbols "$baseline") <(symbols "$tmp/current.abi"))
bad=$(echo "$added" | awk 'NF == 2' | while read -r name version; do
        echo "$old_versions" | grep -qx "$version" && echo "$name@$version"
      done || true)
if [ -n "$bad" ]; then
  echo "abicheck.sh: new symbols in a version node the baseline already has:" $bad >&2
  echo "abicheck.sh: add them in a new node named after the coming release" \
       "(client/libsharr.map)" >&2
  exit 1
fi
if [ -n "$added" ]; then
  echo "abicheck.sh: compatible additions:" $(echo "$added" | tr ' ' '@')
  echo "abicheck.sh: update the baseline when they are released" \
       "(cmake --build BUILD --target abi-baseline)"
fi
echo "abicheck.sh: $lib keeps the ABI of $baseline"
