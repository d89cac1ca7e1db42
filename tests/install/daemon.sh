# daemon.sh — sourced by the install tests: a temporary directory $tmp, removed at exit,
# and a sharrd they start in it (daemon_start), killed at exit.
tmp=$(mktemp -d)
daemon_pid=
daemon_cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" || true
  rm -rf "$tmp"
}
trap daemon_cleanup EXIT

# daemon_start SHARRD CLI... — run SHARRD on $tmp/s.sock with store $tmp/store (its
# stderr in $tmp/sharrd.log) and wait, 10 s at most, until `CLI... --socket $tmp/s.sock
# ping` answers; the tests' own requests then fail if it never did.
daemon_start() {
  local sharrd=$1; shift
  "$sharrd" --socket "$tmp/s.sock" --store "$tmp/store" --config '' 2>"$tmp/sharrd.log" &
  daemon_pid=$!
  for _ in $(seq 1 200); do
    "$@" --socket "$tmp/s.sock" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
}
