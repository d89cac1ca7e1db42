"""Arrays adopted from numpy files (sharr import --move): their data starts where
numpy's header ends (128), not at 4096, and the package maps them from byte 0 and
points its arrays, views and pickles at the right bytes."""

import ctypes
import os
import pickle

import numpy as np

import sharr
from sharr import _connection, _lib


def _adopt(daemon, name, path):
    """sharr_adopt of the file at path (next to the store: the same filesystem)."""
    fd = os.open(path, os.O_RDWR)
    try:
        conn = _connection.get(_connection.resolve(daemon.socket))
        info = _lib.Info()
        rc = _lib.adopt(conn, name.encode(), fd, None, ctypes.byref(info))
        assert rc == 0, _lib.last_error()
    finally:
        os.close(fd)
    os.unlink(path)
    return info


def test_adopted_numpy_file_maps_at_its_header_end(daemon, new_name):
    name = new_name()
    path = os.path.join(daemon.root, name + ".npy")
    want = np.arange(5 * 7, dtype="<i2").reshape(5, 7)
    np.save(path, want)
    info = _adopt(daemon, name, path)
    assert info.offset == 128 and info.persist == 1

    a = sharr.memmap(name, mode="r+")
    assert a.offset == 128 and a.dtype == np.dtype("<i2") and a.shape == (5, 7)
    assert (a == want).all()
    a[2, 3] = -1
    a.flush()
    b = sharr.memmap(name, mode="r")
    assert b[2, 3] == -1
    assert (pickle.loads(pickle.dumps(a[1:, 2:])) == a[1:, 2:]).all()
    on_disk = np.load(sharr.info(name).path, mmap_mode="r")
    assert on_disk[2, 3] == -1 and (on_disk[0] == want[0]).all()
