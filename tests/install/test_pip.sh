#!/usr/bin/env bash
# test_pip.sh SOURCE_DIR BUILD_DIR VERSION SHARRD — the README's pip install: into a
# virtual environment made by Debian's python3 (--system-site-packages, for Debian's
# numpy and setuptools), offline (--no-build-isolation --no-index), from a copy of
# python/ and the top-level CMakeLists.txt (pip builds in the tree it is given, which
# must not be the checkout). The installed package reports VERSION, the project's,
# and attaches an array through a real sharrd with libsharr found two ways: named
# by $SHARR_LIBRARY, and installed (`cmake --install` into a prefix on the linker's
# path, as ctypes.util.find_library looks). $SHARR_TEST_PRELOAD (a sanitizer
# build's runtime) is preloaded into the Python that loads libsharr, nothing else.
set -euo pipefail
src=$1 build=$2 version=$3 sharrd=$4
# shellcheck source=daemon.sh
. "$src/tests/install/daemon.sh"

mkdir -p "$tmp/src"
cp "$src/CMakeLists.txt" "$tmp/src/"
cp -r "$src/python" "$tmp/src/python"
rm -rf "$tmp/src/python/build" "$tmp/src/python/"*.egg-info
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/pip" install -q --no-build-isolation --no-index "$tmp/src/python"

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libsharr.so.0' | head -n1)")

daemon_start "$sharrd" "$tmp/prefix/bin/sharr"

attach() { # how, expected library path, environment...
  local how=$1 want=$2; shift 2
  env -u PYTHONPATH "$@" SHARR_SOCKET="$tmp/s.sock" \
    ${SHARR_TEST_PRELOAD:+LD_PRELOAD=$SHARR_TEST_PRELOAD ASAN_OPTIONS=detect_leaks=0:abort_on_error=1} \
    "$tmp/venv/bin/python" - "$tmp/venv" "$version" "$want" "$how" <<'PY'
import importlib.metadata, os, sys
import numpy as np
import sharr
venv, version, want, how = sys.argv[1:]
assert sharr.__file__.startswith(venv + "/"), f"sharr imported from {sharr.__file__}, not {venv}"
got = importlib.metadata.version("sharr")
assert got == version, f"pip installed sharr {got}, the project is {version}"
lib = os.path.realpath(sharr._lib.PATH) if os.path.isabs(sharr._lib.PATH) else sharr._lib.PATH
assert os.path.realpath(want) == lib or os.path.basename(want) == lib, \
    f"libsharr loaded from {sharr._lib.PATH}, expected {want}"
name = f"pip-{how}-{os.getpid()}"
a = sharr.memmap(name, dtype=np.int32, mode="w+", shape=(4, 3))
a[:] = np.arange(12).reshape(4, 3)
b = sharr.memmap(name, mode="r")
assert b.shape == (4, 3) and b.dtype == np.int32 and int(b[3, 2]) == 11
del a, b
sharr.unlink(name)
print(f"pip-installed sharr {got} attached {name} with libsharr from {sharr._lib.PATH}")
PY
}
attach explicit "$libdir/libsharr.so.0" SHARR_LIBRARY="$libdir/libsharr.so.0"
# Installed: no $SHARR_LIBRARY and no _paths.py; find_library searches the linker's path.
attach installed "$libdir/libsharr.so.0" -u SHARR_LIBRARY LD_LIBRARY_PATH="$libdir"
