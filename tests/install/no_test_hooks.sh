#!/usr/bin/env bash
# no_test_hooks.sh SOURCE_DIR SHARRD [SHARRD_TEST] — the daemon as installed has no
# test hook: neither $SHARR_FAULT_POINT nor the name of any fault point in daemon/
# (store_fault calls) is in the SHARRD binary. Given SHARRD_TEST (the build's
# sharrd-test, which has them), each must be found there, so the search is seen to work.
set -euo pipefail
src=$1 sharrd=$2 hooked=${3:-}
mapfile -t names < <(cat "$src"/daemon/*.c | grep -oE 'store_fault\([a-z>-]+, "[a-z-]+"\)' \
                       | sed -E 's/.*"(.*)".*/\1/' | sort -u)
[ ${#names[@]} -ge 10 ] || { echo "found only ${#names[@]} fault points in $src/daemon" >&2; exit 1; }
names+=(SHARR_FAULT_POINT)
found=() missing=()
for n in "${names[@]}"; do
  if grep -qaF -- "$n" "$sharrd"; then found+=("$n"); fi
  if [ -n "$hooked" ] && ! grep -qaF -- "$n" "$hooked"; then missing+=("$n"); fi
done
if [ ${#found[@]} -gt 0 ]; then
  echo "$sharrd has test hooks: ${found[*]}" >&2
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "$hooked lacks ${missing[*]}: the search for hooks finds nothing" >&2
  exit 1
fi
echo "$(basename "$sharrd") has none of ${#names[@]} test hook names${hooked:+ ($(basename "$hooked") has all)}"
