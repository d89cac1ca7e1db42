#!/usr/bin/env bash
# symbols.sh — libsharr shows the world its public API and nothing else.
#
#   symbols.sh archive LIB.a SHARR_H        every global LIB.a defines is a SHARR_EXPORT
#                                           function of SHARR_H, and each is there
#   symbols.sh shared LIB.so SHARR_H MAP    the same for LIB.so's dynamic symbols, each
#                                           in a SHARR_* version node; MAP lists exactly
#                                           the SHARR_EXPORT functions
#   symbols.sh program BIN SONAME LIB.a     BIN needs no library of sharr but SONAME,
#                                           takes nothing from it but sharr_* symbols
#                                           and holds no function of libsharr's own
#                                           internals (those LIB.a keeps local)
# Exits 1 with every offending symbol listed; 2 on bad usage or a missing tool.
set -euo pipefail

die() { echo "symbols.sh: $*" >&2; exit 2; }
command -v nm >/dev/null || die "nm (binutils) is missing"

# The names sharr.h marks SHARR_EXPORT, sorted.
exported() {
  grep -oE 'SHARR_EXPORT[^;(]*\bsharr_[a-z0-9_]+\(' "$1" | grep -oE 'sharr_[a-z0-9_]+\($' \
    | tr -d '(' | sort -u
}

# Compare two sorted lists; print what only one side has. $3/$4 name the sides.
same_set() {
  local only_a only_b
  only_a=$(comm -23 <(echo "$1") <(echo "$2"))
  only_b=$(comm -13 <(echo "$1") <(echo "$2"))
  if [ -n "$only_a$only_b" ]; then
    [ -z "$only_a" ] || echo "only in $3: $only_a" | tr '\n' ' ' >&2
    [ -z "$only_b" ] || echo "only in $4: $only_b" | tr '\n' ' ' >&2
    echo >&2
    return 1
  fi
}

case "${1:-}" in
archive)
  [ $# -eq 3 ] || die "usage: symbols.sh archive LIB.a SHARR_H"
  lib=$2 header=$3
  globals=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort)
  bad=$(echo "$globals" | grep -v '^sharr_' || true)
  if [ -n "$bad" ]; then
    echo "$lib defines globals outside sharr_*:" $bad >&2
    exit 1
  fi
  same_set "$(echo "$globals" | sort -u)" "$(exported "$header")" "$lib" "$header" || exit 1
  echo "$lib: $(echo "$globals" | wc -l) globals, all SHARR_EXPORT functions of sharr.h"
  ;;
shared)
  [ $# -eq 4 ] || die "usage: symbols.sh shared LIB.so SHARR_H MAP"
  lib=$2 header=$3 map=$4
  # "T sharr_close@@SHARR_0.1"; the version nodes themselves are absolute (A) symbols.
  dyn=$(nm -D --defined-only "$lib" | awk 'NF == 3 && $2 != "A" { print $3 }' | sort)
  bad=$(echo "$dyn" | grep -vE '^sharr_[a-z0-9_]+@@?SHARR_[0-9]+\.[0-9]+$' || true)
  if [ -n "$bad" ]; then
    echo "$lib exports symbols outside sharr_* or without a SHARR_ version:" $bad >&2
    exit 1
  fi
  names=$(echo "$dyn" | sed 's/@.*//' | sort -u)
  same_set "$names" "$(exported "$header")" "$lib" "$header" || exit 1
  mapped=$(grep -oE '^[[:space:]]+sharr_[a-z0-9_]+;' "$map" | tr -d ' ;\t' | sort -u)
  same_set "$mapped" "$(exported "$header")" "$map" "$header" || exit 1
  echo "$lib: $(echo "$names" | wc -l) exports, each versioned, as sharr.h and $map list"
  ;;
program)
  [ $# -eq 4 ] || die "usage: symbols.sh program BIN SONAME LIB.a"
  bin=$2 soname=$3 archive=$4
  command -v readelf >/dev/null || die "readelf (binutils) is missing"
  needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  echo "$needed" | grep -qx "$soname" || { echo "$bin does not need $soname" >&2; exit 1; }
  # A sanitizer build adds its runtimes, which also take over libc's functions.
  sanitizers='libasan\.so\.[0-9]+|libubsan\.so\.[0-9]+'
  others=$(echo "$needed" | grep -vxE "$soname|libc\.so\.6|$sanitizers" || true)
  if [ -n "$others" ]; then
    echo "$bin needs libraries besides $soname and libc:" $others >&2
    exit 1
  fi
  # Undefined symbols: libsharr's carry a SHARR_ version, libc's a GLIBC_ one; the
  # weak hooks of the C runtime (w) may stay unresolved; with a sanitizer runtime,
  # what it intercepts or provides comes unversioned.
  allowed='^sharr_[a-z0-9_]+@SHARR_[0-9.]+$|@GLIBC_[0-9.]+$'
  echo "$needed" | grep -qxE "$sanitizers" && allowed="$allowed|^[^@]+$"
  bad=$(nm -u "$bin" | awk '$1 != "w" { print $2 }' | grep -vE "$allowed" || true)
  if [ -n "$bad" ]; then
    echo "$bin takes symbols from neither libsharr's API nor libc:" $bad >&2
    exit 1
  fi
  # Internals compiled or linked in (proto/, client/ code) would show as functions the
  # archive also defines (not the compiler's own, which start with _); BIN must keep
  # its symbol table (not stripped).
  functions() { nm --defined-only "$1" | awk 'NF == 3 && ($2 == "t" || $2 == "T") { print $3 }'; }
  internal=$(functions "$archive" | grep -v '^sharr_\|^_' | sort -u)
  mine=$(functions "$bin" | sort -u)
  [ -n "$mine" ] || die "$bin has no symbol table (stripped?)"
  bad=$(comm -12 <(echo "$internal") <(echo "$mine"))
  if [ -n "$bad" ]; then
    echo "$bin holds libsharr's internals instead of calling its API:" $bad >&2
    exit 1
  fi
  echo "$bin: links $soname alone and uses only its sharr_* API"
  ;;
*)
  die "usage: symbols.sh archive|shared|program ..."
  ;;
esac
