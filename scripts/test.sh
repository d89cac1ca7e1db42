#!/usr/bin/env bash
# test.sh — the README's second command: install what is missing, then build twice
# (warnings as errors; and again with AddressSanitizer/UBSan) and run every test in
# both builds, then fuzz the wire decoder and the .npy parser for a bounded time
# (scripts/fuzz.sh). Exits non-zero on any failure; lists every test skipped, with its
# reason (a missing prerequisite is a failure, not a skip). .ci/run calls exactly this.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# deps.sh prints the options that say where msgpack-c's headers are, if not installed.
deps_out=$("$top/scripts/deps.sh")
read -ra msgpack_opts <<<"$deps_out"
jobs=$(nproc)

run_build() { # name, cmake options...
  local dir="$top/build-$1"; shift
  echo "== build $dir"
  cmake -S "$top" -B "$dir" -DSHARR_WERROR=ON "${msgpack_opts[@]}" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600)
  # A test that could not run here is a CTest skip that says why: show each reason.
  awk '/^[0-9]+\/[0-9]+ Test: / { t = $3 }
       /^(SKIP: |SKIPPED \[)/ && !/which CTest reports as skipped/ { print "== skipped in " t ": " $0 }' \
    "$dir/Testing/Temporary/LastTest.log"
}

run_build ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_build ci-asan -DCMAKE_BUILD_TYPE=Debug -DSHARR_SANITIZE=ON
"$top/scripts/fuzz.sh"
echo "== all tests passed"
