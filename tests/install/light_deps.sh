#!/usr/bin/env bash
# light_deps.sh SOURCE_DIR LIBSHARR SHARRD SHARR — the build needs no C++: the packages
# scripts/deps.sh installs, with everything they depend on, hold no msgpack development
# package and no Boost (Debian 12's libmsgpack-dev depends on libmsgpack-cxx-dev, which
# pulls Boost; deps.sh installs only the C runtime library libmsgpackc2 and unpacks
# libmsgpack-dev's headers without installing it), libmsgpackc2 is among them, and the
# built library and daemon need msgpack-c's C library, libmsgpackc.so.2, at run time
# (the tool none). Fails when apt has no package lists to read.
set -euo pipefail
src=$1; shift
eval "$(sed -n '/^SHARR_PACKAGES=(/,/)/p' "$src/scripts/deps.sh")"
[ "${#SHARR_PACKAGES[@]}" -gt 0 ] || { echo "no SHARR_PACKAGES in scripts/deps.sh" >&2; exit 1; }
apt-cache show build-essential >/dev/null 2>&1 ||
  { echo "apt knows no packages: run apt-get update" >&2; exit 1; }
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
            --no-breaks --no-replaces --no-enhances "${SHARR_PACKAGES[@]}" | grep -v '^ ' | sort -u)
heavy=$(grep -E '^(libmsgpack-dev|libmsgpack-cxx-dev|libboost)' <<<"$closure" || true)
if [ -n "$heavy" ]; then
  echo "scripts/deps.sh pulls in: $(tr '\n' ' ' <<<"$heavy")" >&2
  exit 1
fi
grep -qx libmsgpackc2 <<<"$closure" || { echo "scripts/deps.sh does not install libmsgpackc2" >&2; exit 1; }
msgpack_needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*msgpack.*\)\]/\1/p'; }
for bin in "$1" "$2"; do # libsharr and sharrd decode msgpack with libmsgpackc2's library
  [ "$(msgpack_needed "$bin")" = libmsgpackc.so.2 ] ||
    { echo "$bin needs '$(msgpack_needed "$bin")', not libmsgpackc.so.2" >&2; exit 1; }
done
needed=$(msgpack_needed "$3") # the sharr tool reaches msgpack only through libsharr
[ -z "$needed" ] || { echo "$3 needs $needed" >&2; exit 1; }
echo "deps.sh's ${#SHARR_PACKAGES[@]} packages pull in $(wc -l <<<"$closure") packages, libmsgpackc2 but no msgpack -dev or Boost among them; libsharr and sharrd need libmsgpackc.so.2"
