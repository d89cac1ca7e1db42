#!/usr/bin/env bash
# coverage.sh PROGRAM PAGE — every long flag that `PROGRAM --help` prints is documented
# in the manual page PAGE, so the two cannot drift apart. Exits 1 naming the missing
# flags.
set -euo pipefail
prog=$1 page=$2
text=$(sed 's/\\-/-/g' "$page")
missing=()
for flag in $("$prog" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
  grep -qF -- "$flag" <<<"$text" || missing+=("$flag")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "$page does not document: ${missing[*]}" >&2
  exit 1
fi
echo "$page documents every flag of $(basename "$prog") --help"
