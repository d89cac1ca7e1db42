#!/usr/bin/env bash
# verify.sh SERVICE SOCKET SYSUSERS TMPFILES SHARRD — check the units as installed:
# `systemd-analyze verify` on the configured service (its ExecStart pointed at the
# built sharrd, since the install prefix need not exist yet) and the socket, where any
# output on stderr counts as a failure (a misspelled key is only a warning); then
# systemd-sysusers and systemd-tmpfiles apply their entries to a scratch root. Fails
# when systemd's tools are not installed (scripts/deps.sh installs systemd); exits
# 77 (skipped) when not root, which systemd-tmpfiles needs.
set -euo pipefail
service=$1 socket=$2 sysusers=$3 tmpfiles=$4 sharrd=$5
for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/deps.sh installs systemd)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -E "s|^ExecStart=[^ ]+|ExecStart=$sharrd|" "$service" >"$tmp/sharr.service"
cp "$socket" "$tmp/sharr.socket"
grep -q "^ExecStart=$sharrd " "$tmp/sharr.service" || { echo "no ExecStart in $service" >&2; exit 1; }
(cd "$tmp" && systemd-analyze verify --man=no ./sharr.service ./sharr.socket) \
  >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err" >&2; exit 1; }
if [ -s "$tmp/err" ]; then
  echo "systemd-analyze verify warned:" >&2
  cat "$tmp/err" >&2
  exit 1
fi

mkdir -p "$tmp/root/etc"
systemd-sysusers --root="$tmp/root" "$sysusers" >/dev/null
grep -q '^sharr:' "$tmp/root/etc/passwd" || { echo "sysusers made no sharr user" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: the tmpfiles entries were not applied: systemd-tmpfiles --create needs root"
  exit 77
fi
systemd-tmpfiles --root="$tmp/root" --create "$tmpfiles" 2>"$tmp/err" || {
  cat "$tmp/err" >&2; exit 1; }
[ "$(stat -c %a "$tmp/root/var/lib/sharr")" = 700 ] || { echo "store not 0700" >&2; exit 1; }
[ -d "$tmp/root/run/sharr" ] || { echo "no /run/sharr" >&2; exit 1; }
echo "units, sysusers and tmpfiles entries verify cleanly"
