#!/usr/bin/env bash
# light_deps.sh SOURCE_DIR LIBSHARR SHARRD SHARR — the build needs no C++: the packages
# scripts/deps.sh installs, with everything they depend on, hold no msgpack package and
# no Boost (Debian 12's libmsgpack-dev depends on the C++ library and Boost; sharr
# builds msgpack-c from third_party/ instead), and the built library, daemon and tool
# need no msgpack library at run time. Fails when apt has no package lists to read.
set -euo pipefail
src=$1; shift
eval "$(sed -n '/^SHARR_PACKAGES=(/,/)/p' "$src/scripts/deps.sh")"
[ "${#SHARR_PACKAGES[@]}" -gt 0 ] || { echo "no SHARR_PACKAGES in scripts/deps.sh" >&2; exit 1; }
apt-cache show build-essential >/dev/null 2>&1 ||
  { echo "apt knows no packages: run apt-get update" >&2; exit 1; }
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
            --no-breaks --no-replaces --no-enhances "${SHARR_PACKAGES[@]}" | grep -v '^ ' | sort -u)
heavy=$(grep -E '^(libmsgpack|libboost)' <<<"$closure" || true)
if [ -n "$heavy" ]; then
  echo "scripts/deps.sh pulls in: $(tr '\n' ' ' <<<"$heavy")" >&2
  exit 1
fi
for bin in "$@"; do
  if readelf -d "$bin" | grep -i 'NEEDED.*msgpack'; then
    echo "$bin needs a msgpack library at run time" >&2
    exit 1
  fi
done
echo "deps.sh's ${#SHARR_PACKAGES[@]} packages pull in $(wc -l <<<"$closure") packages, no msgpack or Boost among them; no binary needs msgpack"
