#!/usr/bin/env bash
# run.sh — the whole benchmark set in one command: build Release, start a private
# sharrd on a temporary socket and store, run every benchmark, and write the
# Markdown report (bench/RESULTS.md; with --quick, a smoke run printed and kept in
# the temporary directory unless --out says where).
#
#   bench/run.sh [--quick] [--out FILE] [--no-build]
#
# Environment: SHARR_BENCH_BUILD (build directory, default <top>/build-bench),
# SHARR_BENCH_PYTHON (default /usr/bin/python3), TMPDIR (where the store goes: its
# filesystem is the one persistent arrays are measured on), SHARR_BENCH_BASE (the
# revision bench/instructions.sh compares with). bench_scale's persistent arrays go to
# a second sharrd with its own socket and a store on tmpfs (/dev/shm).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHARR_BENCH_BUILD:-$top/build-bench}
python=${SHARR_BENCH_PYTHON:-/usr/bin/python3}
quick=0
build_it=1
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    --no-build) build_it=0 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$out" ] && [ $quick -eq 0 ]; then
  out=$top/bench/RESULTS.md
fi

start=$(date +%s)
progs=(bench_attach bench_size bench_create bench_datapath bench_memory bench_scale
       bench_publish bench_pyloop sharr_cattach)
if [ $build_it -eq 1 ]; then
  echo "run.sh: building Release in $build" >&2
  # Warnings elsewhere in the tree must not stop a measurement: no -Werror here.
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSHARR_BUILD_BENCH=ON \
    -DSHARR_WERROR=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target sharrd sharr_shared "${progs[@]}" >/dev/null
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sharr-bench.XXXXXX")
sock=$tmp/sharr.sock
daemon_pid=""
scale_pid=""
scale_store=""
cleanup() {
  [ -s "$tmp/scale.pid" ] && scale_pid=$(cat "$tmp/scale.pid")
  for pid in "$daemon_pid" "$scale_pid"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  [ -n "$scale_store" ] && rm -rf "$scale_store"
  if [ $quick -eq 1 ] && [ -z "$out" ]; then
    echo "run.sh: kept $tmp/RESULTS.md" >&2
    find "$tmp" -mindepth 1 -not -name RESULTS.md -delete 2>/dev/null || true
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
mkdir -p "$tmp/store" "$tmp/scratch" "$tmp/out"

# Each volatile array holds a descriptor in the daemon: take what the kernel allows.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# start_sharrd SOCKET STORE LOG: a private sharrd in the background ($! is its pid).
# Its volatile caps are off: bench_create and bench_size make arrays of up to 8 GiB,
# past a quarter of a smaller host's memory, and skip a size MemAvailable cannot hold.
start_sharrd() {
  "$build/daemon/sharrd" --socket "$1" --store "$2" --log-level warning --config '' \
    --max-volatile-bytes 0 >"$3" 2>&1 </dev/null &
}
# wait_sharrd SOCKET LOG: until its socket appears, or exit with its log.
wait_sharrd() {
  for _ in $(seq 1 100); do
    [ -S "$1" ] && return 0
    sleep 0.05
  done
  echo "run.sh: sharrd did not start:" >&2
  cat "$2" >&2
  exit 1
}
start_sharrd "$sock" "$tmp/store" "$tmp/sharrd.log"
daemon_pid=$!
wait_sharrd "$sock" "$tmp/sharrd.log"
# bench_scale's persistent arrays: 100,000 in a store on tmpfs, where a create's
# fsyncs are cheap, on a daemon of their own.
scale_store=$(mktemp -d /dev/shm/sharr-scale.XXXXXX)
start_sharrd "$tmp/scale.sock" "$scale_store" "$tmp/sharrd-scale.log"
scale_pid=$!
echo "$scale_pid" >"$tmp/scale.pid"
wait_sharrd "$tmp/scale.sock" "$tmp/sharrd-scale.log"
# bench_scale lists at steady state by restarting that daemon on its store through this
# script: after a create, the daemon watches each new file for writers, and lets go of
# 64 a second; a daemon started on the store watches none that no process holds open
# for writing. The new daemon's pid goes to scale.pid, which cleanup reads.
cat >"$tmp/scale-restart.sh" <<EOF
#!/usr/bin/env bash
set -eu
pid=\$(cat "$tmp/scale.pid")
kill "\$pid"
while [ -e "/proc/\$pid" ] && ! grep -q '^State:.*Z' "/proc/\$pid/status" 2>/dev/null; do
  sleep 0.05
done
rm -f "$tmp/scale.sock"
"$build/daemon/sharrd" --socket "$tmp/scale.sock" --store "$scale_store" --log-level warning \\
  --config '' --max-volatile-bytes 0 >>"$tmp/sharrd-scale.log" 2>&1 </dev/null &
echo \$! >"$tmp/scale.pid"
for _ in \$(seq 1 1200); do [ -S "$tmp/scale.sock" ] && exit 0; sleep 0.05; done
echo "scale-restart.sh: sharrd did not start again" >&2
exit 1
EOF
chmod +x "$tmp/scale-restart.sh"
export SHARR_SOCKET=$sock
export SHARR_BENCH_SUMMARY=$tmp/summary.md
: >"$SHARR_BENCH_SUMMARY"

mode_args=()
[ $quick -eq 1 ] && mode_args=(--quick)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
failures=()

# run NAME COMMAND...: one benchmark, its Markdown kept in $tmp/out in run order.
n=0
run() {
  local name=$1; shift
  n=$((n + 1))
  local md; md=$(printf '%s/out/%02d-%s.md' "$tmp" "$n" "$name")
  echo "run.sh: $name (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  local t0; t0=$(date +%s)
  local rc=0
  "$@" "${mode_args[@]}" --scratch "$tmp/scratch" >"$md" 2>"$md.err" || rc=$?
  if [ $rc -eq 0 ]; then
    echo "run.sh: $name done in $(( $(date +%s) - t0 )) s" >&2
  else
    failures+=("$name")
    { echo; echo "**$name failed** (exit status $rc); its last error output:"; echo
      echo '```'; tail -n 20 "$md.err"; echo '```'; } >>"$md"
    echo "run.sh: $name FAILED; see RESULTS" >&2
  fi
}

for p in bench_attach bench_publish bench_size bench_create bench_datapath; do
  run "$p" "$build/bench/$p"
done
have_py=0
if "$python" -c 'import numpy' 2>/dev/null && [ -d "$build/python/sharr" ]; then
  have_py=1
  export PYTHONPATH=$build/python${PYTHONPATH:+:$PYTHONPATH}
  export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
  run py_datapath "$python" "$top/bench/py_datapath.py"
fi
run bench_memory "$build/bench/bench_memory"
SHARR_BENCH_SCALE_SOCKET=$tmp/scale.sock SHARR_BENCH_SCALE_RESTART=$tmp/scale-restart.sh \
  run bench_scale "$build/bench/bench_scale"
if [ $have_py -eq 1 ]; then
  export SHARR_BENCH_PYLOOP=$build/bench/libbench_pyloop.so  # libsharr's attach timed in C
  run py_attach "$python" "$top/bench/py_attach.py"
  # Without dask or distributed (scripts/deps.sh) its section says so, as a failure.
  run py_dask "$python" "$top/bench/py_dask.py"
  run py_dask_memory "$python" "$top/bench/py_dask_memory.py"
fi
# Instructions per attach and create against a base revision: counted, not timed, so
# the load of the runs above does not matter; it starts daemons of its own.
have_valgrind=0
if command -v valgrind >/dev/null; then
  have_valgrind=1
  chmod 711 "$tmp" "$tmp/scratch"  # its clients run as uid 65534, as in service
  run instructions "$top/bench/instructions.sh" --no-build --build "$build"
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(( $(date +%s) - start ))

commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[ -n "$(git -C "$top" status --porcelain 2>/dev/null | head -1)" ] && dirty=" (with uncommitted changes)"
report=$tmp/RESULTS.md
{
  echo "# sharr benchmark results"
  echo
  echo "Written by \`bench/run.sh$([ $quick -eq 1 ] && echo ' --quick')\` on $(date -u '+%Y-%m-%d %H:%M UTC') in ${elapsed} s; source $commit$dirty."
  echo
  echo "| machine | |"
  echo "|---|---|"
  echo "| CPU | $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') |"
  echo "| memory | $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) |"
  echo "| kernel | $(uname -sr) |"
  echo "| hypervisor | $(dmesg 2>/dev/null | grep -m1 -o 'Hypervisor detected: .*' | cut -d' ' -f3- || true) |"
  echo "| THP enabled / shmem_enabled | $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null) / $(cat /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null) |"
  echo "| store filesystem | $(df -T "$tmp/store" | awk 'NR==2 {print $2}') ($tmp) |"
  echo "| descriptor limit of the daemon | $(ulimit -n) |"
  echo "| load average at start / end | $load_start / $load_end |"
  echo
  echo "The machine is shared: other work ran beside this. Every figure is a median"
  echo "(or p99) of many samples taken with its floor interleaved in the same run."
  echo
  echo "## Summary"
  echo
  echo "| target | measured | verdict | likely reason when missed |"
  echo "|---|---|---|---|"
  cat "$SHARR_BENCH_SUMMARY"
  if [ ${#failures[@]} -gt 0 ]; then
    echo
    echo "**Failed benchmarks:** ${failures[*]} (their sections below say why)."
  fi
  if [ $have_py -eq 0 ]; then
    echo
    echo "**Python benchmarks not run:** $python has no numpy or $build/python/sharr is missing."
  fi
  if [ $have_valgrind -eq 0 ]; then
    echo
    echo "**Instruction counts not taken:** valgrind is missing (scripts/deps.sh installs it)."
  fi
  cat "$tmp"/out/*.md
} >"$report"

if [ -n "$out" ]; then
  cp "$report" "$out"
  echo "run.sh: wrote $out in ${elapsed} s" >&2
else
  cat "$report"
fi
