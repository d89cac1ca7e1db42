"""Errors as Python exceptions: the class from the errno, the daemon's own message.

ENOENT -> FileNotFoundError, EEXIST -> FileExistsError, EACCES -> PermissionError,
EINVAL/EOVERFLOW -> ValueError, ETIMEDOUT -> TimeoutError, else OSError(errno).
"""

import errno
import math
import os
import threading

import numpy as np
import pytest

import sharr


def test_missing_array_is_file_not_found_with_its_name(new_name):
    name = new_name()
    for call in (lambda: sharr.memmap(name), lambda: sharr.open(name, "r"),
                 lambda: sharr.info(name), lambda: sharr.unlink(name)):
        with pytest.raises(FileNotFoundError) as e:
            call()
        assert e.value.errno == errno.ENOENT
        assert e.value.filename == name
        assert e.value.strerror  # the library's or daemon's message, not empty


def test_existing_array_is_file_exists(new_name):
    name = new_name()
    sharr.create(name, 1)
    with pytest.raises(FileExistsError) as e:
        sharr.create(name, 1)
    assert e.value.errno == errno.EEXIST and e.value.filename == name


@pytest.mark.parametrize("bad", ["", ".hidden", "a b", "bad*name", "tab\there"])
def test_invalid_names_are_value_errors(bad):
    with pytest.raises(ValueError):
        sharr.memmap(bad, dtype=np.int8, mode="w+", shape=1)


def test_names_with_nul_or_of_the_wrong_type_are_refused_before_the_library():
    with pytest.raises(ValueError, match="NUL"):
        sharr.open("a\0b")
    with pytest.raises(TypeError):
        sharr.open(42)


def test_overlong_name_is_name_too_long():
    with pytest.raises(OSError) as e:
        sharr.info("n" * 256)
    assert e.value.errno == errno.ENAMETOOLONG


# () is numpy's 0-d array, which sharr holds (test_signature.py).
@pytest.mark.parametrize("shape", [0, (3, 0), (1,) * 65, (2 ** 40, 2 ** 40)])
def test_impossible_shapes_are_value_errors(new_name, shape):
    with pytest.raises(ValueError):
        sharr.memmap(new_name(), dtype=np.float64, mode="w+", shape=shape)


def test_negative_dimension_is_refused(new_name):
    with pytest.raises(ValueError, match="negative"):
        sharr.memmap(new_name(), dtype=np.float64, mode="w+", shape=(2, -1))


def test_wait_for_a_name_that_never_comes_times_out(new_name):
    with pytest.raises(TimeoutError) as e:
        sharr.open(new_name(), wait=0.05)
    assert e.value.errno == errno.ETIMEDOUT


def test_wait_returns_once_another_thread_creates_the_name(new_name):
    name = new_name()
    got = []
    t = threading.Thread(target=lambda: got.append(sharr.open(name, "r", wait=math.inf)))
    t.start()
    sharr.create(name, 4, np.int32)[:] = 6
    t.join()
    assert len(got) == 1 and got[0].tolist() == [6] * 4


def test_wait_must_not_be_negative_nor_given_on_create(new_name):
    with pytest.raises(ValueError):
        sharr.open(new_name(), wait=-1)
    with pytest.raises(ValueError, match="wait"):
        sharr.memmap(new_name(), dtype=np.int8, mode="w+", shape=1, wait=1)


def test_no_daemon_at_the_socket_is_an_os_error(tmp_path):
    with pytest.raises(OSError) as e:
        sharr.stats(socket=tmp_path / "nobody.sock")
    assert e.value.errno in (errno.ENOENT, errno.ECONNREFUSED)


def _in_child_as(uid, fn):
    """Run fn() in a forked child with uid (and its gid); return its exit status.
    fn's exit code: 0 when it saw what it expected."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            code = fn()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _expect(exc_type, call):
    try:
        call()
    except exc_type:
        return 0
    except BaseException:
        return 3
    return 2


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_other_users_get_permission_errors_from_the_bits(new_name, daemon):
    # The daemon checks the peer's uid against the array's bits; the socket's own
    # directory must let the other user reach it at all.
    os.chmod(daemon.root, 0o755)
    os.chmod(daemon.socket, 0o777)
    private = new_name("private")
    shared = new_name("shared")
    sharr.create(private, 4, np.int8)
    sharr.create(shared, 4, np.int8, perm=0o644)
    nobody = 65534
    assert _in_child_as(nobody, lambda: _expect(
        PermissionError, lambda: sharr.open(private, "r"))) == 0
    assert _in_child_as(nobody, lambda: _expect(
        PermissionError, lambda: sharr.open(shared, "r+"))) == 0
    assert _in_child_as(nobody, lambda: _expect(
        PermissionError, lambda: sharr.unlink(shared))) == 0
    assert _in_child_as(nobody, lambda: 0 if sharr.open(shared, "r").sum() == 0 else 4) == 0


def test_more_dimensions_than_numpy_can_hold_create_nothing(new_name):
    name = new_name()
    shape = (1,) * 33
    try:
        np.empty((0,) * 33)
    except ValueError:
        with pytest.raises(ValueError, match="dimension"):
            sharr.memmap(name, dtype=np.int8, mode="w+", shape=shape)
        with pytest.raises(FileNotFoundError):
            sharr.info(name)
    else:
        assert sharr.memmap(name, dtype=np.int8, mode="w+", shape=shape).ndim == 33
