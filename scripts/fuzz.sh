#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets with clang and run each for a bounded time
# (SHARR_FUZZ_SECONDS, default 60 for the wire, a third of it each for .npy headers,
# for request sequences served by an in-process daemon, for the replies libsharr
# reads straight from their bytes, checked against the decoder's unpacking, and for
# the decoder's one pass, checked against scan_object and msgpack-c's unpacker).
# Exits non-zero on any finding; the crashing input is left in build-fuzz/findings.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${SHARR_FUZZ_SECONDS:-60}
dir="$top/build-fuzz"
# deps.sh installs nothing now (test.sh ran it) but prints where msgpack-c's headers are.
deps_out=$("$top/scripts/deps.sh")
read -ra msgpack_opts <<<"$deps_out"
CC=clang cmake -S "$top" -B "$dir" -DSHARR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${msgpack_opts[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
rm -rf "$dir/seeds" "$dir/findings"
mkdir -p "$dir/seeds/wire" "$dir/seeds/npy" "$dir/seeds/daemon" "$dir/seeds/reply" \
  "$dir/seeds/decoder" "$dir/corpus/wire" "$dir/corpus/npy" "$dir/corpus/daemon" \
  "$dir/corpus/reply" "$dir/corpus/decoder" "$dir/findings"
"$dir/tests/fuzz/fuzz_seeds" "$dir/seeds/wire" "$dir/seeds/npy"
cp "$dir/seeds/wire/"* "$dir/seeds/daemon/"
cp "$dir/seeds/wire/reply_"* "$dir/seeds/reply/"
# fuzz_decoder reads a byte of limits and four of cuts before the stream.
for f in "$dir/seeds/wire/"*; do
  { printf '\000\007\001\050\003'; cat "$f"; } >"$dir/seeds/decoder/$(basename "$f")"
done
run() { # target, seconds
  echo "== fuzz $1 for $2 s"
  "$dir/tests/fuzz/fuzz_$1" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/findings/$1-" -print_final_stats=1 \
    "$dir/corpus/$1" "$dir/seeds/$1" 2>"$dir/fuzz-$1.log" || {
      tail -n 40 "$dir/fuzz-$1.log" >&2; echo "fuzz: $1 found a problem" >&2; exit 1; }
  grep -E '^stat::number_of_executed_units' "$dir/fuzz-$1.log" || true
}
run wire "$secs"
run npy $(( secs / 3 > 5 ? secs / 3 : 5 ))
run daemon $(( secs / 3 > 5 ? secs / 3 : 5 ))
run reply $(( secs / 3 > 5 ? secs / 3 : 5 ))
run decoder $(( secs / 3 > 5 ? secs / 3 : 5 ))
echo "== fuzzing found nothing"
