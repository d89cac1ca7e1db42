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
