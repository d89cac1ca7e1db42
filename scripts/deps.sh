#!/usr/bin/env bash
# deps.sh — install what sharr needs to build and test on Debian 12, if missing.
# Sourced by start.sh and test.sh; safe to run again (installs nothing when all present).
set -euo pipefail

SHARR_PACKAGES=(build-essential cmake pkg-config libuv1-dev libcmocka-dev debhelper lintian
                python3-numpy python3-pytest python3-joblib python3-venv python3-setuptools
                valgrind clang
                libclang-rt-14-dev systemd groff-base abigail-tools)

missing=()
for p in "${SHARR_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
