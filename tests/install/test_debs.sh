#!/usr/bin/env bash
# test_debs.sh SOURCE_DIR VERSION — the README's install from Debian packages, on this
# machine, as an operator lives with them. Build them with dpkg-buildpackage from a
# copy of the tree (the checkout stays clean); lintian reports no error or warning;
# they depend on msgpack-c's C runtime (libmsgpackc2) and on none of its development
# files, its C++ library or Boost. Then `apt-get install ./*.deb`, and:
# - sharrd runs as the packaged unit says (its ExecStart as its User and Group; this
#   machine has no systemd to start it) and honours an edit of /etc/sharr/sharrd.conf;
#   `sharr ping`, `create`/`ls`/`rm`, `import sharr` (with its C extension) and
#   programs built against libsharr-dev (CMake shared and static, pkg-config) work
#   against it on the default socket;
# - an upgrade (the same packages at a higher version) keeps the edited conffile and
#   the persistent arrays; `apt-get remove` keeps them too, and the user;
# - `apt-get purge` leaves nothing of the packages: no file, user, group, unit link,
#   directory, socket or dpkg record.
# Fails at once if any of it is on the machine before. Stops the daemon and purges the
# packages on any exit; a run killed before it could (kill -9, a ctest timeout) left
# its state in /var/lib/sharr-install-test.state, from which the next run first
# recovers. Runs from several checkouts on one machine take turns (flock on that
# file). Needs root (apt-get).
set -euo pipefail
src=$1 version=$2
upgrade_version="$version+upgrade1"
pkgs=(sharrd libsharr0 libsharr-dev sharr-tools python3-sharr)
state=/var/lib/sharr-install-test.state
[ "$(id -u)" = 0 ] || { echo "test_debs.sh installs packages: it needs root" >&2; exit 1; }
for tool in dpkg-buildpackage lintian dh flock; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
done
leftovers() { # what of the packages is on the machine, one line each
  local p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'not-installed' ||
      ! dpkg-query -W "$p" >/dev/null 2>&1 || echo "package $p: $(dpkg-query -W -f='${Status}' "$p")"
  done
  getent passwd sharr | sed 's/^/user: /' || true
  getent group sharr | sed 's/^/group: /' || true
  pgrep -a -f '^/usr/sbin/sharrd( |$)' | sed 's/^/process: /' || true
  find /etc /lib/systemd /usr/lib/systemd /usr/lib/sysusers.d /usr/lib/tmpfiles.d \
       /usr/lib/python3/dist-packages /var/lib/systemd /run /var/lib /usr/sbin /usr/bin \
       /usr/include /usr/lib/x86_64-linux-gnu /usr/share/doc /usr/share/man \
       -maxdepth 5 -name '*sharr*' 2>/dev/null |
    grep -v -E "^/run/user/|/sharr-[0-9]+|^$state\$" | sed 's/^/file: /' || true
}

# apt-get as this test runs it: waiting for another apt or dpkg (up to 5 minutes)
# instead of failing at once on its lock.
apt() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -qq "$@"; }

tmp=$(mktemp -d)
daemon_pid=
installed=
kept=()
# The state a run killed before its cleanup leaves for the next: "installed" once
# apt-get may have installed something, "daemon PID" while sharrd runs, "kept DIR MODE
# UID GID" for each directory to put back after the purge, "tmp DIR" its scratch space.
note() { echo "$*" >>"$state"; }
restore() { local k d mode uid gid
  for k in "${kept[@]}"; do read -r d mode uid gid <<<"$k"
    mkdir -p "$d" && chmod "$mode" "$d" && chown "$uid:$gid" "$d"; done; }
purge() { # those of the packages dpkg knows of
  local p known=()
  for p in "${pkgs[@]}"; do dpkg-query -W "$p" >/dev/null 2>&1 && known+=("$p"); done
  [ ${#known[@]} -eq 0 ] ||
    apt purge "${known[@]}" >"$tmp/purge.log" 2>&1
}
stop_daemon() { # the daemon this run started (or, recovering, the killed run's)
  local pid=$1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/sharrd ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do [ -e "/proc/$pid" ] || return 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do [ -e "/proc/$pid" ] || return 0; sleep 0.05; done
}
cleanup() {
  if [ -n "$daemon_pid" ]; then stop_daemon "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; fi
  if [ -n "$installed" ]; then purge || cat "$tmp/purge.log" >&2; fi
  restore
  if [ "${locked:-}" = yes ]; then rm -f "$state"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# One run at a time on this machine, from whichever checkout (the lock is the state
# file; one removed by the run before is taken afresh), held from the start so that a
# killed run is undone before anything else.
while :; do
  exec 9>>"$state"
  flock 9
  [ "$(stat -L -c %i /proc/self/fd/9)" = "$(stat -c %i "$state" 2>/dev/null)" ] && break
done
locked=yes
if [ -s "$state" ]; then
  echo "recovering from a run that was killed before it cleaned up ($state):" >&2
  cat "$state" >&2
  while read -r what a b c d; do
    case $what in
      daemon) stop_daemon "$a" ;;
      installed) installed=yes ;;
      kept) kept+=("$a $b $c $d") ;;
      tmp) [[ $a == "$(dirname "$tmp")"/tmp.* ]] && rm -rf "$a" ;;
    esac
  done <"$state"
  if [ -n "$installed" ] && ! purge; then
    cat "$tmp/purge.log" >&2
    echo "could not purge the packages that run installed: purge ${pkgs[*]} by hand" \
         "(dpkg --configure -a first if dpkg was interrupted), then remove $state" >&2
    installed='' kept=() locked=''
    exit 1
  fi
  installed=
  restore
  kept=()
  : >"$state"
fi
note "tmp $tmp"

# A root sharrd started with its defaults leaves /run/sharr and /var/lib/sharr: when
# empty they are put back as found after the purge (which removes them), else stop.
for d in /run/sharr /var/lib/sharr; do
  [ -e "$d" ] || continue
  [ -d "$d" ] && [ -z "$(ls -A "$d")" ] || { echo "$d is in use here; this test would remove it" >&2; kept=(); exit 1; }
  kept+=("$d $(stat -c '%a %u %g' "$d")")
done
unkept() { local line k skip
  while IFS= read -r line; do skip=
    for k in "${kept[@]}"; do [ "$line" = "file: ${k%% *}" ] && skip=1; done
    [ -n "$skip" ] || [ -z "$line" ] || echo "$line"; done; }
before=$(leftovers | unkept)
if [ -n "$before" ]; then
  echo "sharr is already installed here; this test would remove it, so it stops:" >&2
  echo "$before" >&2
  kept=()
  exit 1
fi
for k in "${kept[@]}"; do note "kept $k"; done

# The packages, from a copy of the tree's files (git's, or all but build trees).
mkdir -p "$tmp/src"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) | tar -xf - -C "$tmp/src"
else
  (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -xf - -C "$tmp/src"
fi
deb_version=$(cd "$tmp/src" && dpkg-parsechangelog -S Version)
[ "$deb_version" = "$version" ] ||
  { echo "debian/changelog says $deb_version, CMakeLists.txt $version" >&2; exit 1; }
# Without libmsgpack-dev, a build given msgpack-c's headers in $SHARR_MSGPACK_HEADERS
# (scripts/deps.sh) passes them on (debian/rules) and skips only that build dependency.
build_opts=()
if [ -n "${SHARR_MSGPACK_HEADERS:-}" ]; then
  unmet=$(cd "$tmp/src" && dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p')
  if [ "$unmet" = libmsgpack-dev ]; then build_opts=(-d); fi
fi
(cd "$tmp/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b "${build_opts[@]}" -j"$(nproc)") \
  >"$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log" >&2; echo "dpkg-buildpackage failed" >&2; exit 1; }
lintian --fail-on error,warning --tag-display-limit 0 "$tmp"/sharr_*.changes 2>&1 |
  grep -v 'running with root privileges' >"$tmp/lintian.log" || true
lintian --fail-on error,warning "$tmp"/sharr_*.changes >/dev/null 2>&1 ||
  { cat "$tmp/lintian.log" >&2; echo "lintian reports errors or warnings" >&2; exit 1; }
# At run time msgpack-c's C library, libmsgpackc2, and nothing of its C++ or Boost.
for deb in "$tmp"/*.deb; do
  deps=$(dpkg-deb --field "$deb" Depends Pre-Depends Recommends)
  if grep -Eq 'libmsgpack-dev|libmsgpack-cxx|boost' <<<"$deps"; then
    echo "$(basename "$deb") depends on msgpack's development files or Boost: $deps" >&2; exit 1
  fi
done
for p in sharrd libsharr0 libsharr-dev; do
  dpkg-deb --field "$tmp/${p}_${version}_"*.deb Depends | grep -q 'libmsgpackc2' ||
    { echo "$p does not depend on libmsgpackc2" >&2; exit 1; }
done
echo "built and lintian-clean: $(cd "$tmp" && ls -- *.deb | grep -v dbgsym | tr '\n' ' ')"
# The next release, for the upgrade: the same packages at a higher version.
debs=() upgrade_debs=()
mkdir -p "$tmp/upgrade"
for p in "${pkgs[@]}"; do
  deb=$(echo "$tmp/${p}_${version}_"*.deb)
  debs+=("$deb")
  dpkg-deb -R "$deb" "$tmp/upgrade/$p"
  sed -i -e "s/^Version: .*/Version: $upgrade_version/" -e "s/(= $version)/(= $upgrade_version)/g" \
    "$tmp/upgrade/$p/DEBIAN/control"
  dpkg-deb -b "$tmp/upgrade/$p" "$tmp/upgrade/" >/dev/null
  upgrade_debs+=("$(echo "$tmp/upgrade/${p}_${upgrade_version}_"*.deb)")
done

install_debs() {
  installed=yes
  note installed
  apt install --no-install-recommends "$@" \
    >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; exit 1; }
}
install_debs "${debs[@]}"

# What the packages set up: the user, the directories, the enabled socket unit.
getent passwd sharr >/dev/null || { echo "no sharr user after install" >&2; exit 1; }
[ "$(stat -c '%U %a' /var/lib/sharr)" = "sharr 700" ] || { echo "/var/lib/sharr: $(stat -c '%U %a' /var/lib/sharr)" >&2; exit 1; }
[ "$(stat -c '%U' /run/sharr)" = sharr ] || { echo "/run/sharr is not sharr's" >&2; exit 1; }
[ -L /etc/systemd/system/sockets.target.wants/sharr.socket ] || { echo "sharr.socket is not enabled" >&2; exit 1; }
[ ! -e /etc/systemd/system/multi-user.target.wants/sharr.service ] || { echo "sharr.service is enabled (the socket starts it)" >&2; exit 1; }
cmp /etc/sharr/sharrd.conf "$src/systemd/sharrd.conf.example" || { echo "/etc/sharr/sharrd.conf is not the example" >&2; exit 1; }
dpkg-query -W -f='${Conffiles}\n' sharrd | grep -q '^ /etc/sharr/sharrd.conf ' ||
  { echo "/etc/sharr/sharrd.conf is not a conffile of sharrd" >&2; exit 1; }

# The operator's edit of the configuration, which sharrd must honour and upgrades keep.
sed -i 's/^max-volatile-bytes = .*/max-volatile-bytes = 48M/' /etc/sharr/sharrd.conf
grep -qx 'max-volatile-bytes = 48M' /etc/sharr/sharrd.conf || { echo "sharrd.conf has no max-volatile-bytes line to edit" >&2; exit 1; }

# sharrd as sharr.service starts it: its ExecStart, as its User and Group.
sock=/run/sharr/sharr.sock
start_daemon() {
  local unit=/lib/systemd/system/sharr.service exec_start user group
  exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
  user=$(sed -n 's/^User=//p' "$unit") group=$(sed -n 's/^Group=//p' "$unit")
  [ "${exec_start%% *}" = /usr/sbin/sharrd ] || { echo "ExecStart is $exec_start" >&2; exit 1; }
  # Not holding the lock (fd 9), which a daemon outliving a killed run would keep
  # from the next run that is to stop it.
  # shellcheck disable=SC2086 # ExecStart is a word list, as systemd splits it
  setpriv --reuid="$user" --regid="$group" --init-groups -- $exec_start 2>"$tmp/sharrd.log" 9>&- &
  daemon_pid=$!
  note "daemon $daemon_pid"
  for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
  [ "$(ps -o user= -p "$daemon_pid")" = sharr ] || { echo "sharrd does not run as sharr" >&2; cat "$tmp/sharrd.log" >&2; exit 1; }
  [ "$(readlink "/proc/$daemon_pid/exe")" = /usr/sbin/sharrd ] || { echo "not /usr/sbin/sharrd" >&2; exit 1; }
  [ "$(stat -c '%U %a' "$sock")" = "sharr 666" ] || { echo "$sock: $(stat -c '%U %a' "$sock")" >&2; exit 1; }
  # The edited configuration is the one it runs with.
  cli stats --json | grep -q '"volatile_limit": 50331648,' ||
    { echo "sharrd ignores max-volatile-bytes = 48M in /etc/sharr/sharrd.conf:" >&2; cli stats --json >&2; exit 1; }
}
stop() {
  stop_daemon "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
  if grep -E 'warning|error' "$tmp/sharrd.log" | grep -v 'descriptor limit'; then echo "sharrd complained" >&2; exit 1; fi
}

# The default socket, as a user without one of their own finds it.
cli() { env -u SHARR_SOCKET -u XDG_RUNTIME_DIR /usr/bin/sharr "$@"; }
py() { env -u SHARR_SOCKET -u XDG_RUNTIME_DIR -u PYTHONPATH -u SHARR_LIBRARY /usr/bin/python3 - "$@"; }
start_daemon
cli ping
name="debtest-$$" kept_name="debtest-kept-$$"
cli create "$name" --dtype float32 --shape 10,3
cli ls | grep -q "^$name\b" || { echo "sharr ls does not list $name" >&2; cli ls >&2; exit 1; }
py "$name" <<'PY'
import sys
import numpy as np
import sharr
assert sharr.__file__.startswith("/usr/lib/python3/dist-packages/sharr/"), sharr.__file__
assert sharr._attachment.NATIVE, "python3-sharr runs without its C extension sharr._cattach"
a = sharr.memmap(sys.argv[1])
assert a.shape == (10, 3) and a.dtype == np.float32
a[:] = 7
assert float(sharr.memmap(sys.argv[1], mode="r").sum()) == 210.0
print(f"python3-sharr attached {sys.argv[1]} through {sharr._lib.PATH} and sharr._cattach")
PY
cli rm "$name"
if cli ls | grep -q "^$name\b"; then echo "$name still listed after rm" >&2; exit 1; fi

# A program built against libsharr-dev as installed: CMake (shared, static), pkg-config.
cmake -S "$src/tests/install/consumer" -B "$tmp/consumer" >"$tmp/consumer.log" 2>&1 &&
  cmake --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1 ||
  { cat "$tmp/consumer.log" >&2; echo "the consumer does not build against libsharr-dev" >&2; exit 1; }
grep -q 'sharr_DIR:PATH=/usr/lib/x86_64-linux-gnu/cmake/sharr' "$tmp/consumer/CMakeCache.txt" ||
  { echo "find_package(sharr) did not find libsharr-dev's package" >&2; grep sharr_DIR "$tmp/consumer/CMakeCache.txt" >&2; exit 1; }
# shellcheck disable=SC2046 # pkg-config's output is a word list
cc -o "$tmp/consumer-pc" "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags --libs sharr)
libsharr0=$(realpath "$(dpkg -L libsharr0 | grep '/libsharr\.so\.0$')")
for bin in "$tmp/consumer/consumer" "$tmp/consumer-pc"; do
  [ "$(realpath "$(ldd "$bin" | awk '$1 == "libsharr.so.0" { print $3 }')")" = "$libsharr0" ] ||
    { echo "$bin does not run with libsharr0's $libsharr0:" >&2; ldd "$bin" >&2; exit 1; }
done
! ldd "$tmp/consumer/consumer_static" | grep -q libsharr || { echo "consumer_static needs libsharr.so" >&2; exit 1; }
"$tmp/consumer/consumer" "$sock" "debtest-cmake-$$"
"$tmp/consumer/consumer_static" "$sock" "debtest-static-$$"
"$tmp/consumer-pc" "$sock" "debtest-pc-$$"

# A persistent array, which the upgrade and the removal keep and the purge takes.
cli create "$kept_name" --dtype int16 --shape 5 --persist
py "$kept_name" <<'PY'
import sys, sharr
sharr.memmap(sys.argv[1])[:] = 3
PY
stop
[ -n "$(ls -A /var/lib/sharr)" ] || { echo "the persistent array left nothing in /var/lib/sharr" >&2; exit 1; }

# The upgrade: the edit and the array are there, and sharrd serves both.
install_debs "${upgrade_debs[@]}"
[ "$(dpkg-query -W -f='${Version}' sharrd)" = "$upgrade_version" ] || { echo "sharrd was not upgraded" >&2; exit 1; }
grep -qx 'max-volatile-bytes = 48M' /etc/sharr/sharrd.conf || { echo "the upgrade lost the edit of /etc/sharr/sharrd.conf" >&2; exit 1; }
start_daemon
py "$kept_name" <<'PY'
import sys, sharr
a = sharr.memmap(sys.argv[1], mode="r")
assert a.tolist() == [3] * 5, f"after the upgrade {sys.argv[1]} holds {a.tolist()}"
PY
stop

# Removed, not purged: the configuration, the store and the user stay.
apt remove "${pkgs[@]}" >"$tmp/apt.log" 2>&1 ||
  { cat "$tmp/apt.log" >&2; exit 1; }
[ ! -e /usr/sbin/sharrd ] || { echo "/usr/sbin/sharrd is there after remove" >&2; exit 1; }
grep -qx 'max-volatile-bytes = 48M' /etc/sharr/sharrd.conf || { echo "remove lost /etc/sharr/sharrd.conf" >&2; exit 1; }
[ -n "$(ls -A /var/lib/sharr 2>/dev/null)" ] || { echo "remove lost the store /var/lib/sharr" >&2; exit 1; }
getent passwd sharr >/dev/null || { echo "remove took the sharr user" >&2; exit 1; }

purge || { cat "$tmp/purge.log" >&2; exit 1; }
installed=
after=$(leftovers)
if [ -n "$after" ]; then
  echo "left after purge:" >&2
  echo "$after" >&2
  exit 1
fi
echo "installed, served, used, upgraded, removed and purged without a trace"
