#!/usr/bin/env bash
# test_debs.sh SOURCE_DIR VERSION — the README's install from Debian packages, on this
# machine: build them with dpkg-buildpackage from a copy of the tree (the checkout stays
# clean), lintian reports no error or warning, they depend on msgpack-c's C runtime
# (libmsgpackc2) and on none of its development files, its C++ library or Boost,
# `apt-get install ./*.deb`, then sharrd runs as the packaged unit says (its ExecStart as its User and Group; this machine has
# no systemd to start it) with the packaged /etc/sharr/sharrd.conf, and `sharr ping`,
# `create`/`ls`/`rm` and `import sharr` work against it on the default socket; then
# `apt-get purge` leaves nothing of the packages: no file, user, group, unit link or
# directory. Fails at once if any of it is on the machine before; stops the daemon
# and purges the packages on any exit. Needs root (apt-get).
set -euo pipefail
src=$1 version=$2
pkgs=(sharrd libsharr0 libsharr-dev sharr-tools python3-sharr)
[ "$(id -u)" = 0 ] || { echo "test_debs.sh installs packages: it needs root" >&2; exit 1; }
for tool in dpkg-buildpackage lintian dh; do
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
  find /etc /lib/systemd /usr/lib/systemd /usr/lib/sysusers.d /usr/lib/tmpfiles.d \
       /usr/lib/python3/dist-packages /var/lib/systemd /run /var/lib /usr/sbin /usr/bin \
       /usr/include /usr/lib/x86_64-linux-gnu /usr/share/doc /usr/share/man \
       -maxdepth 5 \( -name 'sharr*' -o -name 'libsharr*' \) 2>/dev/null |
    grep -v -E '^/run/user/|/sharr-[0-9]+' | sed 's/^/file: /' || true
}
# A root sharrd started with its defaults leaves /run/sharr and /var/lib/sharr: when
# empty they are put back as found after the purge (which removes them), else stop.
kept=()
for d in /run/sharr /var/lib/sharr; do
  [ -e "$d" ] || continue
  [ -d "$d" ] && [ -z "$(ls -A "$d")" ] || { echo "$d is in use here; this test would remove it" >&2; exit 1; }
  kept+=("$d $(stat -c '%a %u %g' "$d")")
done
restore() { local k d mode uid gid
  for k in "${kept[@]}"; do read -r d mode uid gid <<<"$k"
    mkdir -p "$d" && chmod "$mode" "$d" && chown "$uid:$gid" "$d"; done; }
unkept() { local line k skip
  while IFS= read -r line; do skip=
    for k in "${kept[@]}"; do [ "$line" = "file: ${k%% *}" ] && skip=1; done
    [ -n "$skip" ] || [ -z "$line" ] || echo "$line"; done; }
before=$(leftovers | unkept)
if [ -n "$before" ]; then
  echo "sharr is already installed here; this test would remove it, so it stops:" >&2
  echo "$before" >&2
  exit 1
fi

tmp=$(mktemp -d)
daemon_pid=
installed=
cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  if [ -n "$installed" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${pkgs[@]}" >/dev/null 2>&1 || true
  fi
  restore
  rm -rf "$tmp"
}
trap cleanup EXIT

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

installed=yes
debs=()
for p in "${pkgs[@]}"; do debs+=("$tmp/${p}_${version}_"*.deb); done
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}" \
  >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; exit 1; }

# What the packages set up: the user, the directories, the enabled socket unit.
getent passwd sharr >/dev/null || { echo "no sharr user after install" >&2; exit 1; }
[ "$(stat -c '%U %a' /var/lib/sharr)" = "sharr 700" ] || { echo "/var/lib/sharr: $(stat -c '%U %a' /var/lib/sharr)" >&2; exit 1; }
[ "$(stat -c '%U' /run/sharr)" = sharr ] || { echo "/run/sharr is not sharr's" >&2; exit 1; }
[ -L /etc/systemd/system/sockets.target.wants/sharr.socket ] || { echo "sharr.socket is not enabled" >&2; exit 1; }
[ ! -e /etc/systemd/system/multi-user.target.wants/sharr.service ] || { echo "sharr.service is enabled (the socket starts it)" >&2; exit 1; }
cmp /etc/sharr/sharrd.conf "$src/systemd/sharrd.conf.example" || { echo "/etc/sharr/sharrd.conf is not the example" >&2; exit 1; }

# sharrd as sharr.service starts it: its ExecStart, as its User and Group.
unit=/lib/systemd/system/sharr.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit") group=$(sed -n 's/^Group=//p' "$unit")
[ "${exec_start%% *}" = /usr/sbin/sharrd ] || { echo "ExecStart is $exec_start" >&2; exit 1; }
# shellcheck disable=SC2086 # ExecStart is a word list, as systemd splits it
setpriv --reuid="$user" --regid="$group" --init-groups -- $exec_start 2>"$tmp/sharrd.log" &
daemon_pid=$!
sock=/run/sharr/sharr.sock
for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ "$(ps -o user= -p "$daemon_pid")" = sharr ] || { echo "sharrd does not run as sharr" >&2; cat "$tmp/sharrd.log" >&2; exit 1; }
[ "$(readlink "/proc/$daemon_pid/exe")" = /usr/sbin/sharrd ] || { echo "not /usr/sbin/sharrd" >&2; exit 1; }
[ "$(stat -c '%U %a' "$sock")" = "sharr 666" ] || { echo "$sock: $(stat -c '%U %a' "$sock")" >&2; exit 1; }

# The default socket, as a user without one of their own finds it.
cli() { env -u SHARR_SOCKET -u XDG_RUNTIME_DIR /usr/bin/sharr "$@"; }
cli ping
name="debtest-$$"
cli create "$name" --dtype float32 --shape 10,3
cli ls | grep -q "^$name\b" || { echo "sharr ls does not list $name" >&2; cli ls >&2; exit 1; }
env -u SHARR_SOCKET -u XDG_RUNTIME_DIR -u PYTHONPATH -u SHARR_LIBRARY /usr/bin/python3 - "$name" <<'PY'
import sys
import numpy as np
import sharr
assert sharr.__file__.startswith("/usr/lib/python3/dist-packages/sharr/"), sharr.__file__
a = sharr.memmap(sys.argv[1])
assert a.shape == (10, 3) and a.dtype == np.float32
a[:] = 7
assert float(sharr.memmap(sys.argv[1], mode="r").sum()) == 210.0
print(f"python3-sharr attached {sys.argv[1]} through {sharr._lib.PATH}")
PY
cli rm "$name"
if cli ls | grep -q "^$name\b"; then echo "$name still listed after rm" >&2; exit 1; fi
grep -E 'warning|error' "$tmp/sharrd.log" | grep -v 'descriptor limit' && { echo "sharrd complained" >&2; exit 1; }

kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${pkgs[@]}" >"$tmp/apt.log" 2>&1 ||
  { cat "$tmp/apt.log" >&2; exit 1; }
installed=
after=$(leftovers)
if [ -n "$after" ]; then
  echo "left after purge:" >&2
  echo "$after" >&2
  exit 1
fi
echo "installed, served, used and purged without a trace"
