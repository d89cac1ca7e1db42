"""The package as users get it: finding libsharr, the installed copy, the example.

Each check runs a fresh /usr/bin/python3 (sys.executable) so that the library is
looked up from scratch, as at a user's first import.
"""

import os
import subprocess
import sys

import pytest

import sharr
from sharr import _lib

SOURCE_DIR = os.environ.get("SHARR_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
BUILD_DIR = os.environ.get("SHARR_BUILD_DIR")


def _python(code, env, **kw):
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, **kw)


def test_build_tree_package_loads_the_built_library():
    from sharr import _paths
    assert _lib.PATH == _paths.LIBRARY
    if BUILD_DIR:
        assert _lib.PATH.startswith(os.path.join(BUILD_DIR, ""))


def test_sharr_library_overrides_and_is_not_second_guessed(tmp_path):
    env = dict(os.environ, SHARR_LIBRARY=str(tmp_path / "libnothing.so"))
    r = _python("import sharr", env)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "libnothing.so" in r.stderr
    assert "SHARR_LIBRARY" in r.stderr

    env["SHARR_LIBRARY"] = _lib.PATH
    r = _python("import sharr; print(sharr._lib.PATH); print(sharr.stats().pid)", env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == _lib.PATH


@pytest.mark.skipif(not BUILD_DIR, reason="needs SHARR_BUILD_DIR (set by CTest)")
def test_installed_package_finds_the_installed_library(tmp_path, new_name):
    # Staged under DESTDIR, as a package build does, so no install rule of the
    # project can write outside tmp_path; the prefix then points at the stage.
    prefix = tmp_path / "prefix"
    stage = tmp_path / "stage"
    r = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", str(prefix)],
                       env=dict(os.environ, DESTDIR=str(stage)), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    prefix.symlink_to(str(stage) + str(prefix))
    site = prefix / "lib" / "python3" / "dist-packages"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SHARR_LIBRARY")}
    env["PYTHONPATH"] = str(site)
    name = new_name()
    r = _python("import sharr, numpy as np\n"
                "print(sharr.__file__); print(sharr._lib.PATH)\n"
                f"a = sharr.memmap({name!r}, dtype=np.int8, mode='w+', shape=3)\n"
                "a[:] = 7\n", env, cwd=tmp_path)  # not CTest's cwd, <build>/python
    assert r.returncode == 0, r.stderr
    package_file, library = r.stdout.split()
    assert package_file.startswith(str(site))
    assert library.startswith(str(prefix)) and os.path.exists(library)
    assert sharr.memmap(name).tolist() == [7, 7, 7]


def test_seed_walkthrough_example_runs(sharr_socket):
    script = os.path.join(SOURCE_DIR, "examples", "seed_walkthrough.py")
    r = subprocess.run([sys.executable, script, "--rows", "20000", "--engines", "2"],
                       env=dict(os.environ, SHARR_SOCKET=sharr_socket),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "np.array_equal(f[:, -1], x) -> True" in r.stdout
    assert "sum=85.0, mean=8.5" in r.stdout
    assert "2 engines attached" in r.stdout
    assert "seed-" not in " ".join(i.name for i in sharr.list())


def test_attach_is_made_by_the_c_extension(new_name):
    # CI builds sharr._cattach (python/cattach.c); a build that lost it would pass
    # every other test on the slower ctypes fallback, so its absence fails here.
    from sharr import _attachment, _cattach
    assert _attachment.NATIVE
    name = new_name()
    sharr.memmap(name, dtype="<i4", mode="w+", shape=(4,))[:] = 5
    a = sharr.memmap(name, mode="r")
    assert isinstance(a._sharr, _cattach.Attachment)
    assert type(a.base) is memoryview and a.base is a._mmap
    assert a.tolist() == [5, 5, 5, 5] and not a.flags.writeable


def test_the_extension_uses_the_libsharr_of_sharr_library(tmp_path, sharr_socket, new_name):
    # $SHARR_LIBRARY naming a copy of the library: ctypes loads it first, and the
    # extension's libsharr.so.0 then binds to that copy (one library in the process,
    # so a handle passes between the two bindings).
    copy = tmp_path / "libsharr-copy.so"
    with open(_lib.PATH, "rb") as src, open(copy, "wb") as dst:
        dst.write(src.read())
    name = new_name()
    sharr.memmap(name, dtype="<i4", mode="w+", shape=(3,))[:] = 9
    env = dict(os.environ, SHARR_LIBRARY=str(copy), SHARR_SOCKET=sharr_socket)
    r = _python("import sharr\n"
                "from sharr import _attachment, _lib\n"
                f"a = sharr.memmap({name!r})\n"
                "print(_attachment.NATIVE, _lib.PATH, a.tolist())\n", env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", str(copy), "[9,", "9,", "9]"]


def test_without_the_extension_ctypes_attaches_alike(sharr_socket, new_name):
    # The fallback of a build configured with -DSHARR_PYTHON_EXTENSION=OFF.
    name = new_name()
    sharr.memmap(name, dtype="<i4", mode="w+", shape=(3,))[:] = 9
    env = dict(os.environ, SHARR_SOCKET=sharr_socket)
    r = _python("import sys\n"
                "sys.modules['sharr._cattach'] = None  # import fails, as when not built\n"
                "import gc, numpy as np, sharr\n"
                "from sharr import _attachment\n"
                f"a = sharr.memmap({name!r}, mode='r', populate=True)\n"
                "assert np.asarray(a).base is a and type(a.base) is memoryview\n"
                "assert not a.flags.writeable\n"
                f"b = sharr.memmap({name!r}, mode='r+'); b[0] = 4; b.flush(); del b\n"
                "print(_attachment.NATIVE, a.tolist(), a._sharr.ctime_ns > 0)\n"
                f"del a; gc.collect(); print(sharr.info({name!r}).nattached)\n", env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "[4,", "9,", "9]", "True", "0"]
