#!/usr/bin/env bash
# suite_check.sh SOURCE_DIR BUILD_DIR — no test can pass by not running:
#  - every tests/{unit,integration,faults}/test_<area>.c is a registered CTest test
#    (unit_<area>, integration.<area>, faults.<area>), and so are the Python suite, the
#    install checks, the systemd units' check, the manual pages' checks, the daemon's
#    shape checks and libsharr's ABI checks, in every build;
#  - no C test calls cmocka's skip() itself, which passes silently, but testskip()
#    (tests/support/testskip.h), and every cmocka program returns through
#    testskip_exit, so a skip exits 77 and CTest reports it skipped;
#  - no Python test skips for a missing module (pytest.importorskip): the project's
#    scripts install every prerequisite, and a missing one fails.
set -euo pipefail
src=$1 build=$2
problems=()

# From the CTestTestfile.cmake files CMake wrote, not `ctest -N`: that would replace
# the LastTest.log of the ctest run this check is part of.
mapfile -t registered < <(find "$build" -name CTestTestfile.cmake -exec cat {} + \
  | sed -nE 's/^add_test\((\[=\[)?([^] "]+)(\]=\])? .*/\2/p')
has() { local t; for t in "${registered[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
want=(python install.consumer install.no_test_hooks install.light_build_deps install.pip systemd.verify docs.man docs.sharrd_flags
      docs.sharr_flags shape.daemon_cycles shape.conn_transport shape.file_prefixes
      abi.static_library_shows_only_the_api abi.shared_library_exports_only_the_api_versioned
      abi.cli_links_only_the_shared_library_api abi.symbols_catch_an_unprefixed_global
      abi.shared_library_keeps_the_baseline_abi)
for f in "$src"/tests/unit/test_*.c; do a=$(basename "$f" .c); want+=("unit_${a#test_}"); done
for group in integration faults; do
  for f in "$src/tests/$group"/test_*.c; do a=$(basename "$f" .c); want+=("$group.${a#test_}"); done
done
for t in "${want[@]}"; do has "$t" || problems+=("test $t is not registered with CTest"); done

while IFS= read -r hit; do
  problems+=("bare skip() passes silently, use testskip(reason): $hit")
done < <(grep -rnE '(^|[^_a-z])skip\(\)' "$src/tests" --include='*.c' --include='*.h' \
           | grep -v '^[^:]*/tests/support/testskip\.h:' || true)
while IFS= read -r f; do
  grep -q 'testskip_exit(cmocka_run_group_tests(' "$f" \
    || problems+=("$f: main must return testskip_exit(cmocka_run_group_tests(...))")
done < <(grep -rl 'cmocka_run_group_tests' "$src/tests" --include='*.c')
while IFS= read -r hit; do
  problems+=("a missing module must fail, not skip: $hit")
done < <(grep -rn 'importorskip' "$src/tests/python" || true)

if [ ${#problems[@]} -gt 0 ]; then
  printf '%s\n' "${problems[@]}" >&2
  exit 1
fi
echo "${#want[@]} test programs registered; every skip is reported to CTest"
