#!/usr/bin/env bash
# lint.sh PAGE... — the manual pages format with groff and no warning at all (any
# output on stderr fails). Fails when groff is not installed (scripts/deps.sh
# installs groff-base).
set -euo pipefail
command -v groff >/dev/null || { echo "groff is not installed (scripts/deps.sh installs groff-base)" >&2; exit 1; }
for page in "$@"; do
  err=$(groff -man -Tutf8 -ww -z "$page" 2>&1 >/dev/null)
  if [ -n "$err" ]; then
    echo "$page:" >&2
    echo "$err" >&2
    exit 1
  fi
done
echo "manual pages format cleanly"
