#!/usr/bin/env bash
# start.sh — the README's first command: install what is missing, build, and start
# sharrd in the background with its embedded defaults (no config file, no root needed
# once the packages are there). Prints the socket it serves and where its log goes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
deps_out=$("$top/scripts/deps.sh")
read -ra msgpack_opts <<<"$deps_out"

cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${msgpack_opts[@]}" >/dev/null
cmake --build "$top/build" -j"$(nproc)" >/dev/null

log="${TMPDIR:-/tmp}/sharrd-$(id -u).log"
if "$top/build/cli/sharr" ping >/dev/null 2>&1; then
  echo "a sharrd is already serving: $("$top/build/cli/sharr" ping)"
  exit 0
fi
nohup "$top/build/daemon/sharrd" >"$log" 2>&1 </dev/null &
for _ in $(seq 1 100); do
  if "$top/build/cli/sharr" ping >/dev/null 2>&1; then
    echo "sharrd (pid $!) started; $(grep -m1 'listening on' "$log" | sed 's/.*listening/listening/'); log: $log"
    echo "try: $top/build/cli/sharr ls -l"
    exit 0
  fi
  sleep 0.1
done
echo "start: sharrd did not come up; its log:" >&2
cat "$log" >&2
exit 1
