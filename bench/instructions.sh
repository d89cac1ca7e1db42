#!/usr/bin/env bash
# instructions.sh — instructions sharrd and the client execute per attach and per
# create, counted by callgrind, for the current tree and a base revision: a figure
# that does not move with the machine's load, unlike the wall-clock benchmarks.
# Prints a Markdown section (base, current, ratio per operation). Attaches are run
# with libsharr's attach cache as configured by default and with it off
# (SHARR_CACHE_MAX=0: every attach a round trip, as on a base without the cache).
#
# Then times the same operations without valgrind, the two revisions taking turns
# every few milliseconds, daemons and clients on one CPU: the wall-clock side of "no
# slower".
#
#   bench/instructions.sh [--base REV] [--n N] [--quick] [--no-build] [--build DIR]
#                         [--uid UID] [--scratch DIR] [--keep DIR] [--rounds R]
#
# --base REV    revision to compare with (default $SHARR_BENCH_BASE, else e33b65b:
#               main before issue 12), built in Release in a temporary detached
#               worktree, removed at the end
# --n N         operations per measured run (default 2000; --quick: 200)
# --no-build    reuse the current tree's build (--build, default $SHARR_BENCH_BUILD
#               or <top>/build-bench) as it is
# --uid UID     run as root, the clients run as this uid (default 65534): the per-uid
#               checks of an unprivileged caller are on the path, as in service
# --scratch DIR where the temporary worktree, builds and stores go (default $TMPDIR)
# --keep DIR    keep the callgrind files there (REV.OP.{0,n}.{sharrd,client}), to see
#               with callgrind_annotate where the instructions go
# --rounds R    timed rounds, each with fresh daemons of both revisions taking turns
#               (default 7; --quick: 3)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${SHARR_BENCH_BUILD:-$top/build-bench}
base=${SHARR_BENCH_BASE:-e33b65b}
n=2000
quick=0
build_it=1
uid=65534
scratch=${TMPDIR:-/tmp}
keep=""
rounds=7
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift ;;
    --n) n=$2; shift ;;
    --quick) quick=1 ;;
    --no-build) build_it=0 ;;
    --build) build=$2; shift ;;
    --uid) uid=$2; shift ;;
    --scratch) scratch=$2; shift ;;
    --keep) keep=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "instructions.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ $quick -eq 1 ] && n=200 && rounds=3
case "$rounds" in ''|*[!0-9]*|0) echo "instructions.sh: --rounds wants a positive count" >&2; exit 2 ;; esac
case "$n" in ''|*[!0-9]*|0) echo "instructions.sh: --n wants a positive count" >&2; exit 2 ;; esac
for tool in valgrind git cmake; do
  if ! command -v $tool >/dev/null; then
    echo "instructions.sh: $tool is missing (scripts/deps.sh installs it)" >&2
    exit 1
  fi
done
base_sha=$(git -C "$top" rev-parse --verify --quiet "$base^{commit}") || {
  echo "instructions.sh: $base is not a revision of $top" >&2; exit 2; }
base_short=$(git -C "$top" rev-parse --short "$base_sha")

# Release, as bench/run.sh builds it; the base gets the same flags and only what runs.
release=(-DCMAKE_BUILD_TYPE=Release -DSHARR_WERROR=OFF)
if [ $build_it -eq 1 ]; then
  echo "instructions.sh: building the current tree in $build" >&2
  cmake -S "$top" -B "$build" "${release[@]}" -DSHARR_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j"$(nproc)" --target sharrd sharr_shared >/dev/null
fi
for f in "$build/daemon/sharrd" "$build/client/libsharr.so"; do
  [ -e "$f" ] || { echo "instructions.sh: $f is missing; build without --no-build" >&2; exit 1; }
done

# The clients: another uid when run as root, so they take an unprivileged caller's path.
asuser=()
if [ "$(id -u)" -eq 0 ]; then
  gid=$(getent passwd "$uid" | cut -d: -f4)
  asuser=(setpriv --reuid="$uid" --regid="${gid:-$uid}" --clear-groups --)
else
  uid=$(id -u)
fi

tmp=$(mktemp -d "$scratch/sharr-instr.XXXXXX")
mkdir -p "$tmp/run" "$tmp/client" "$tmp/out"
chmod 755 "$tmp" "$tmp/run"
if [ ${#asuser[@]} -gt 0 ]; then
  chown "$uid" "$tmp/client"
  if ! "${asuser[@]}" test -w "$tmp/client"; then
    echo "instructions.sh: uid $uid cannot reach $tmp; let it search the directories" \
         "above (chmod o+x) or pass another --scratch" >&2
    rm -rf "$tmp"
    exit 1
  fi
fi
daemon_pid=""
timed_daemons=()
cleanup() {
  kill "${timed_daemons[@]}" 2>/dev/null || true
  if [ -n "$daemon_pid" ]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [ -d "$tmp/base-src" ]; then
    git -C "$top" worktree remove --force "$tmp/base-src" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "instructions.sh: building $base_short in a temporary worktree" >&2
git -C "$top" worktree add --detach "$tmp/base-src" "$base_sha" >/dev/null 2>&1
cmake -S "$tmp/base-src" -B "$tmp/base-build" "${release[@]}" -DSHARR_BUILD_TESTS=OFF \
  -DSHARR_BUILD_BENCH=OFF >/dev/null
cmake --build "$tmp/base-build" -j"$(nproc)" --target sharrd sharr_shared >/dev/null


# driver_build SRC BUILD OUT: this tree's bench/ops.c (and floor.c) compiled against
# revision SRC's sharr.h (and the headers its BUILD generates) and linked with the
# libsharr in BUILD/client, by one command line for
# every revision (Release flags, as CMake builds bench_ops), so the client-side loop
# is the same code and each binary takes its own revision's symbol versions. Checks
# that the loader takes the library asked for.
driver_build() {
  local src=$1 lib=$2/client out=$3 libs
  ${CC:-cc} -std=c11 -O3 -DNDEBUG -fPIE -D_GNU_SOURCE -I"$src/include" -I"$2/include" \
    -I"$top/bench" "$top/bench/ops.c" "$top/bench/floor.c" -o "$out" -L"$lib" -lsharr \
    -Wl,-rpath,"$lib"
  libs=$(LD_LIBRARY_PATH=$lib ldd "$out")
  if ! [[ "$libs" =~ libsharr\.so\.[0-9]+\ =\>\ "$lib"/ ]]; then
    echo "instructions.sh: $out does not load libsharr from $lib:" >&2
    echo "$libs" >&2
    exit 1
  fi
}

# cg_count FILE...: per file, its instructions (callgrind's totals) less the own
# instructions of any function that calls sched_yield in any of them. That is libuv's
# uv__async_io, whose spin-wait on a thread-pool handoff depends on thread scheduling:
# valgrind runs one thread at a time, so when the loop wakes while the worker is
# between its eventfd write and its flag store, it spins a thousand rounds, in a
# varying share of the persistent creates. What the callbacks it calls do is counted.
cg_count() {
  awk '
    function cg_name(s, ids,   k, rest) {
      if (match(s, /^\([0-9]+\)/)) {
        k = substr(s, 2, RLENGTH - 2)
        rest = substr(s, RLENGTH + 2)
        if (rest != "")
          ids[k] = rest
        return ids[k]
      }
      return s
    }
    FNR == 1 { file++; split("", obs); split("", fns); ob = fn = cfn = ""; incall = 0 }
    /^ob=/ { ob = cg_name(substr($0, 4), obs); next }
    /^cob=/ { cg_name(substr($0, 5), obs); next }
    /^fn=/ { fn = ob "|" cg_name(substr($0, 4), fns); next }
    /^cfn=/ { cfn = cg_name(substr($0, 5), fns); next }
    /^calls=/ { incall = 1; if (cfn ~ /^sched_yield/) spin[fn] = 1; next }
    /^[0-9+*-]/ {
      if (incall) { incall = 0; next }  # a call line: inclusive cost of the callee
      self[file, fn] += $2
      total[file] += $2
    }
    END {
      for (f = 1; f <= file; f++) {
        s = 0
        for (k in spin)
          s += self[f, k]
        print total[f] - s
      }
    }' "$@"
}

# wait_socket PATH PID LOG: until the daemon under valgrind listens.
wait_socket() {
  for _ in $(seq 1 600); do
    [ -S "$1" ] && return 0
    if ! kill -0 "$2" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "instructions.sh: sharrd did not start:" >&2
  cat "$3" >&2
  exit 1
}

# one_run TAG SHARRD LIBDIR OPS OP COUNT: a fresh daemon with an empty store (same
# paths for every run and revision), OPS (bench_ops) OP COUNT as a client, both under
# callgrind.
one_run() {
  local tag=$1 sharrd=$2 lib=$3 ops=$4 op=$5 count=$6
  rm -rf "$tmp/run/store" "$tmp/run/sock"
  mkdir -m 700 "$tmp/run/store"
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out/$tag.sharrd" "$sharrd" \
    --socket "$tmp/run/sock" --store "$tmp/run/store" --log-level warning --config '' \
    >"$tmp/out/$tag.sharrd.log" 2>&1 </dev/null &
  daemon_pid=$!
  wait_socket "$tmp/run/sock" "$daemon_pid" "$tmp/out/$tag.sharrd.log"
  if ! SHARR_SOCKET=$tmp/run/sock LD_LIBRARY_PATH=$lib SHARR_CACHE_MAX=$(cache_max "$op") \
       "${asuser[@]}" valgrind --tool=callgrind --callgrind-out-file="$tmp/client/$tag.client" \
       "$ops" "${op%-nocache}" "$count" \
       >"$tmp/client/$tag.log" 2>&1 </dev/null; then
    echo "instructions.sh: bench_ops $op $count failed:" >&2
    cat "$tmp/client/$tag.log" >&2
    exit 1
  fi
  kill "$daemon_pid"
  wait "$daemon_pid" || true
  daemon_pid=""
  [ -s "$tmp/out/$tag.sharrd" ] || {
    echo "instructions.sh: no callgrind output of sharrd:" >&2
    cat "$tmp/out/$tag.sharrd.log" >&2; exit 1; }
}

# per_op ZERO_FILE N_FILE: instructions per operation, (with N - with 0) / N.
per_op() {
  cg_count "$1" "$2" | { read -r zero; read -r full; awk -v z="$zero" -v f="$full" \
    -v n="$n" 'BEGIN { v = (f - z) / n; printf "%.0f", (v < 0.5 && v > -0.5) ? 0 : v }'; }
}

# An attach of an array the process held a moment ago is served by libsharr's attach
# cache with no round trip; OP-nocache runs OP with the cache off (SHARR_CACHE_MAX=0),
# every attach a round trip to sharrd as on the base, which has no cache.
ops_list=(attach-volatile attach-persistent attach-volatile-nocache attach-persistent-nocache
          create-volatile create-persistent)
cache_max() { case "$1" in *-nocache) echo 0 ;; *) echo "" ;; esac; } # "": the default
declare -A count
start=$(date +%s)
for rev in base current; do
  if [ $rev = base ]; then
    src=$tmp/base-src sharrd=$tmp/base-build/daemon/sharrd lib=$tmp/base-build/client
  else
    src=$top sharrd=$build/daemon/sharrd lib=$build/client
  fi
  ops=$tmp/run/bench_ops.$rev
  driver_build "$src" "${lib%/client}" "$ops"
  for op in "${ops_list[@]}"; do
    echo "instructions.sh: $rev $op (0 and $n)" >&2
    one_run "$rev.$op.0" "$sharrd" "$lib" "$ops" "$op" 0
    one_run "$rev.$op.n" "$sharrd" "$lib" "$ops" "$op" "$n"
    count[$rev.$op.sharrd]=$(per_op "$tmp/out/$rev.$op.0.sharrd" "$tmp/out/$rev.$op.n.sharrd")
    count[$rev.$op.client]=$(per_op "$tmp/client/$rev.$op.0.client" \
                                    "$tmp/client/$rev.$op.n.client")
  done
done

# The floor (bench/floor.c, the current tree's): its forked server writes its own
# callgrind file, named by the pid bench_ops prints.
echo "instructions.sh: floor (0 and $n)" >&2
for k in 0 n; do
  c=$([ $k = 0 ] && echo 0 || echo "$n")
  server=$(TMPDIR=$tmp/client "${asuser[@]}" valgrind --tool=callgrind \
    --callgrind-out-file="$tmp/client/floor.$k.%p" "$tmp/run/bench_ops.current" floor "$c" 2>"$tmp/client/floor.$k.log") || {
    echo "instructions.sh: bench_ops floor failed:" >&2; cat "$tmp/client/floor.$k.log" >&2; exit 1; }
  mv "$tmp/client/floor.$k.$server" "$tmp/client/floor.$k.server"
  mv "$tmp/client"/floor.$k.[0-9]* "$tmp/client/floor.$k.client"
done
floor_server=$(per_op "$tmp/client/floor.0.server" "$tmp/client/floor.n.server")
floor_client=$(per_op "$tmp/client/floor.0.client" "$tmp/client/floor.n.client")

# timed_pair OP COUNT BATCH FIRST: a fresh daemon of each revision, both on CPU 0, and
# a bench_ops of each against its own, taking turns through two FIFOs (ops.c): BATCH
# operations of one, then BATCH of the other, COUNT in all each, FIRST (base or current)
# starting. The revisions so alternate every few milliseconds, and a burst of the
# machine's load falls on a pair of batches, not on one revision. Prints one line per
# batch pair: base's ns per op, current's.
timed_pair() {
  local op=$1 count=$2 batch=$3 first=$4 rev pids=() dpids=()
  rm -rf "$tmp/run/timed"
  mkdir -p "$tmp/run/timed"
  chmod 755 "$tmp/run/timed"
  mkfifo -m 666 "$tmp/run/timed/turn.base" "$tmp/run/timed/turn.current"
  for rev in base current; do
    mkdir -m 755 "$tmp/run/timed/$rev"
    mkdir -m 700 "$tmp/run/timed/$rev/store"
    taskset -c 0 "${sharrd_of[$rev]}" --socket "$tmp/run/timed/$rev/sock" \
      --store "$tmp/run/timed/$rev/store" --log-level warning --config '' \
      >"$tmp/out/timed.$rev.log" 2>&1 </dev/null &
    dpids+=($!)
    timed_daemons=("${dpids[@]}")
    daemon_pid=$!
    wait_socket "$tmp/run/timed/$rev/sock" "$daemon_pid" "$tmp/out/timed.$rev.log"
  done
  for rev in base current; do
    local other=current
    [ $rev = current ] && other=base
    SHARR_SOCKET=$tmp/run/timed/$rev/sock LD_LIBRARY_PATH=${lib_of[$rev]} \
      SHARR_CACHE_MAX=$(cache_max "$op") \
      BENCH_OPS_TURNS=$tmp/run/timed/turn.$rev:$tmp/run/timed/turn.$other:$batch \
      "${asuser[@]}" taskset -c 0 timeout 600 "$tmp/run/bench_ops.$rev" "${op%-nocache}" \
      "$count" >"$tmp/out/timed.$rev.ns" 2>"$tmp/client/timed.$rev.log" </dev/null &
    pids+=($!)
  done
  printf t >"$tmp/run/timed/turn.$first"
  for rev in 0 1; do
    if ! wait "${pids[$rev]}"; then
      echo "instructions.sh: bench_ops $op $count in turns failed:" >&2
      cat "$tmp"/client/timed.*.log >&2
      kill "${pids[@]}" 2>/dev/null || true
      exit 1
    fi
  done
  kill "${dpids[@]}"
  wait "${dpids[@]}" || true
  daemon_pid="" timed_daemons=()
  paste -d ' ' "$tmp/out/timed.base.ns" "$tmp/out/timed.current.ns"
}

# Rounds, each with fresh daemons, the first turn alternating between the revisions.
declare -A sharrd_of=([base]=$tmp/base-build/daemon/sharrd [current]=$build/daemon/sharrd)
declare -A lib_of=([base]=$tmp/base-build/client [current]=$build/client)
declare -A pairs round_ratios
# timed_rows OP: the timed table's rows for OP: a create's whole cycle, then its two
# halves apart (OP.create: sharr_create + sharr_close; OP.unlink: sharr_unlink).
timed_rows() { case "$1" in create-*) echo "$1 $1.create $1.unlink" ;; *) echo "$1" ;; esac; }
timed_n() { case "$1" in attach-*) echo $((n * 10)) ;; *) echo $((n * 2)) ;; esac; }
timed_batch() { case "$1" in attach-*) echo $((n / 4 > 0 ? n / 4 : 1)) ;; *) echo $((n / 20 > 0 ? n / 20 : 1)) ;; esac; }
# stat COLUMN|ratio [QUANTILE]: the median (or the quantile, 0..1) of stdin's pairs'
# base (1), current (2) or current/base (ratio) values.
stat() {
  awk -v col="$1" -v q="${2:-0.5}" '{ v[NR] = col == "ratio" ? $2 / $1 : $col } END {
    for (i = 2; i <= NR; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
    k = q * (NR - 1) + 1; lo = int(k); hi = lo < NR ? lo + 1 : lo
    printf "%.4f", v[lo] + (k - lo) * (v[hi] - v[lo]) }'
}
for r in $(seq 1 "$rounds"); do
  first=base
  [ $((r % 2)) -eq 0 ] && first=current
  for op in "${ops_list[@]}"; do
    echo "instructions.sh: timed round $r, $op in turns ($first first)" >&2
    got=$(timed_pair "$op" "$(timed_n "$op")" "$(timed_batch "$op")" "$first")
    # A create's batch lines give the whole and its halves: base's three, current's three.
    for row in $(timed_rows "$op"); do
      case "$row" in
        *.create) cols='$2, $5' ;;
        *.unlink) cols='$3, $6' ;;
        create-*) cols='$1, $4' ;;
        *) cols='$1, $2' ;;
      esac
      part=$(echo "$got" | awk "{ print $cols }")
      pairs[$row]="${pairs[$row]:-}$part"$'\n'
      round_ratios[$row]="${round_ratios[$row]:-} $(echo "$part" | stat ratio)"
    done
  done
done

elapsed=$(( $(date +%s) - start ))
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  cp "$tmp"/out/*.sharrd "$tmp"/client/*.client "$tmp"/client/floor.*.server "$tmp"/client/floor.*.client "$keep"/
fi

cur=$(git -C "$top" rev-parse --short HEAD)
[ -n "$(git -C "$top" status --porcelain 2>/dev/null | head -1)" ] && cur="$cur + uncommitted changes"
label() {
  case "$1" in
    attach-volatile) echo "attach, volatile 1 MiB (open r+ by name + close)" ;;
    attach-persistent) echo "attach, persistent 1 MiB (open r+ by name + close)" ;;
    attach-volatile-nocache) echo "attach, volatile 1 MiB, attach cache off (SHARR_CACHE_MAX=0)" ;;
    attach-persistent-nocache) echo "attach, persistent 1 MiB, attach cache off (SHARR_CACHE_MAX=0)" ;;
    create-volatile) echo "create, volatile 4 KiB (create + close + unlink)" ;;
    create-persistent) echo "create, persistent 4 KiB (create + close + unlink)" ;;
    create-volatile.create) echo "- its create + close alone" ;;
    create-persistent.create) echo "- its create + close alone" ;;
    create-volatile.unlink) echo "- its unlink alone" ;;
    create-persistent.unlink) echo "- its unlink alone" ;;
  esac
}
ratio() { awk -v b="$1" -v c="$2" 'BEGIN { printf "%.3f", c / b }'; }

echo "## Instructions per operation against $base_short (bench/instructions.sh)"
echo
echo "User-space instructions executed per operation, counted by valgrind's callgrind,"
echo "so they do not move with the machine's load; the kernel's side of each system call"
echo "is not in them. Each figure is (run with $n operations − run with 0) / $n: a"
echo "fresh \`sharrd\` (Release, default flags, store under ${scratch}) and"
echo "\`bench_ops\` (one connection, 20 untimed operations first in both runs) under"
echo "callgrind, so start-up, setup and teardown cancel out. *sharrd*: every thread of"
echo "the daemon; *client*: the whole client process (libsharr, msgpack, libc and a"
echo "loop of a few instructions; \`bench/ops.c\` compiled alike against each revision's"
echo "sharr.h and libsharr). Clients run as uid $uid, the daemon as uid $(id -u). Left out: the own"
echo "instructions of libuv's \`uv__async_io\`, whose spin-wait on a thread-pool"
echo "handoff depends on valgrind's thread scheduling. Base: $base_short built in a"
echo "temporary worktree with the same flags; current: $cur. Run in ${elapsed} s."
echo
echo "| operation | side | base $base_short instr/op | current instr/op | current / base |"
echo "|---|---|---|---|---|"
worst=0 worst_op=""
for op in "${ops_list[@]}"; do
  for side in sharrd client; do
    b=${count[base.$op.$side]} c=${count[current.$op.$side]}
    r=$(ratio "$b" "$c")
    echo "| $(label "$op") | $side | $b | $c | $r |"
    if awk -v r="$r" -v w="$worst" 'BEGIN { exit !(r > w) }'; then
      worst=$r worst_op="$op, $side"
    fi
  done
done
echo
echo "For reference, the attach floor (\`bench/floor.c\`: a bare epoll server handing"
echo "out one descriptor per request; the same code for both): its server executes"
echo "$floor_server instructions per descriptor round trip, its client $floor_client per round"
echo "trip + mmap/munmap/close. Nearly all of the floor's cost is in its system calls,"
echo "which these counts leave out (bench/README.md counts sharr's against the floor's)."
echo

echo "### The same operations timed"
echo
echo "No valgrind: in each round a fresh daemon of each revision and a \`bench_ops\` of"
echo "each against its own, all four on CPU 0, take turns (\`BENCH_OPS_TURNS\`, two FIFOs):"
echo "$(timed_batch attach-volatile) attaches or $(timed_batch create-volatile) creates of one revision, then as many of the other, until"
echo "each ran $(timed_n attach-volatile) attaches or $(timed_n create-volatile) creates; $rounds rounds, the revision that starts"
echo "alternating. So the two meet the machine's load within milliseconds of each other."
echo "µs/op: the median of every batch; current / base: the median of the ratios of the"
echo "batch pairs, with their middle half (25%-75%) and each round's median ratio."
echo "Under each create, its two halves, timed apart in the same batches (three clock"
echo "reads more per create, in both revisions): create + close, then unlink."
echo
echo "| operation | base $base_short µs/op | current µs/op | current / base | middle half of the pairs | each round's ratio |"
echo "|---|--:|--:|--:|---|---|"
# The verdict on "attach and create no slower" takes the attaches and the creates'
# first halves; the unlinks and whole cycles are reported beside it.
worst_t=0 worst_t_op="" worst_u=0 worst_u_op=""
for op in $(for o in "${ops_list[@]}"; do timed_rows "$o"; done); do
  p=$(printf '%s' "${pairs[$op]}" | grep .)
  b=$(echo "$p" | stat 1) c=$(echo "$p" | stat 2) r=$(echo "$p" | stat ratio)
  r=$(awk -v r="$r" 'BEGIN { printf "%.3f", r }')
  echo "| $(label "$op") | $(awk -v v="$b" 'BEGIN { printf "%.2f", v / 1000 }') |" \
       "$(awk -v v="$c" 'BEGIN { printf "%.2f", v / 1000 }') | $r |" \
       "$(echo "$p" | stat ratio 0.25 | awk '{ printf "%.3f", $1 }')-$(echo "$p" | stat ratio 0.75 | awk '{ printf "%.3f", $1 }') |" \
       "$(for v in ${round_ratios[$op]}; do awk -v v="$v" 'BEGIN { printf "%.3f ", v }'; done)|"
  case "$op" in
    *.unlink | create-volatile | create-persistent)
      if awk -v r="$r" -v w="$worst_u" 'BEGIN { exit !(r > w) }'; then
        worst_u=$r worst_u_op="$op"
      fi ;;
    *)
      if awk -v r="$r" -v w="$worst_t" 'BEGIN { exit !(r > w) }'; then
        worst_t=$r worst_t_op="$op"
      fi ;;
  esac
done
echo

# bench/run.sh's summary: fewer instructions than the base, within 1%; and no slower
# by the clock, within the 2% that rounds of one revision differ by on this VM.
if [ -n "${SHARR_BENCH_SUMMARY:-}" ]; then
  met=$(awk -v w="$worst" 'BEGIN { print (w <= 1.01 ? "met" : "**MISSED**") }')
  why=""
  [ "$met" = met ] || why="the section's table gives each operation and side; bench/instructions.sh --keep DIR keeps the callgrind files, and callgrind_annotate of a run with N and of one with 0 shows which functions the extra instructions are in"
  echo "| instructions per attach and create (sharrd and client) <= ${base_short}'s, within 1% | highest current/base: ${worst}x, $worst_op | $met | $why |" \
    >>"$SHARR_BENCH_SUMMARY"
  met=$(awk -v w="$worst_t" 'BEGIN { print (w <= 1.02 ? "met" : "**MISSED**") }')
  why=""
  [ "$met" = met ] || why="the timed table gives the middle half of the batch pairs' ratios and each round's: a ratio inside their spread is the machine's noise, one outside it a real cost, which the instruction table above locates"
  echo "| attach and create (create + close) timed in turns with ${base_short}, all on CPU 0: no slower (median of the batch pairs' ratios, within 2%) | highest current/base: ${worst_t}x, $worst_t_op | $met | $why |" \
    >>"$SHARR_BENCH_SUMMARY"
  echo "| unlink, and create + close + unlink, timed alike: reported, no goal (a volatile unlink asks the kernel whether a process still holds the array and drops its pages, finding 2) | highest current/base: ${worst_u}x, $worst_u_op | reported | |" \
    >>"$SHARR_BENCH_SUMMARY"
fi
