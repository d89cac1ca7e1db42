"""setup.py — the sharr package's version for pip, read from the one place it is set:
project(sharr VERSION ...) in the top-level CMakeLists.txt, which also versions libsharr.
Everything else is in pyproject.toml. Building from a copy of python/ without the
CMakeLists.txt beside it fails, naming the file it needs.
"""

import pathlib
import re

from setuptools import setup


def _version():
    cmakelists = pathlib.Path(__file__).resolve().parent.parent / "CMakeLists.txt"
    try:
        text = cmakelists.read_text()
    except OSError as e:
        raise SystemExit(f"sharr: the version is read from {cmakelists}: {e}")
    m = re.search(r"^project\(sharr\s+VERSION\s+([0-9.]+)", text, re.MULTILINE)
    if not m:
        raise SystemExit(f"sharr: no 'project(sharr VERSION x.y.z' in {cmakelists}")
    return m.group(1)


setup(version=_version())
