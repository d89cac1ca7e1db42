"""Arrays adopted from numpy files (sharr.adopt, as sharr import --move): their data
starts where numpy's header ends (128), not at 4096, and the package maps them from
byte 0 and points its arrays, views and pickles at the right bytes."""

import errno
import os
import pickle

import numpy as np
import pytest

import sharr


def test_adopted_numpy_file_maps_at_its_header_end(daemon, new_name):
    name = new_name()
    path = os.path.join(daemon.root, name + ".npy")
    want = np.arange(5 * 7, dtype="<i2").reshape(5, 7)
    np.save(path, want)
    inode = os.stat(path).st_ino
    info = sharr.adopt(path, name, socket=daemon.socket)
    assert info.offset == 128 and info.persist
    assert not os.path.exists(path)
    assert os.stat(info.path).st_ino == inode  # the very file: no copy

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


def test_adopt_refusals_are_the_errors_a_user_expects_and_leave_the_file(daemon, new_name):
    name = new_name()
    path = os.path.join(daemon.root, name + ".npy")
    np.save(path, np.zeros(3))
    os.link(path, path + ".second")
    with pytest.raises(OSError) as e:
        sharr.adopt(path, name, socket=daemon.socket)
    assert e.value.errno == errno.EMLINK and "copy" in str(e.value)
    os.unlink(path + ".second")
    with open(path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError):
        sharr.adopt(path, name, socket=daemon.socket)
    assert os.path.exists(path)
    with pytest.raises(FileNotFoundError):
        sharr.info(name, socket=daemon.socket)
    with pytest.raises(FileNotFoundError):
        sharr.adopt(path + ".missing", name, socket=daemon.socket)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_adopting_another_users_file_is_a_permission_error_and_leaves_it(daemon, new_name):
    name = new_name()
    path = os.path.join(daemon.root, name + ".npy")
    np.save(path, np.zeros(3))
    os.chown(path, 65534, 65534)
    with pytest.raises(PermissionError):
        sharr.adopt(path, name, socket=daemon.socket)
    assert os.stat(path).st_uid == 65534
    with pytest.raises(FileNotFoundError):
        sharr.info(name, socket=daemon.socket)
