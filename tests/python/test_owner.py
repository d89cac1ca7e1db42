"""owner=: an attach that accepts only an array of the user it trusts.

Any user may create a free name, also one that another user's worker waits for, so
an attach can name the owner it expects, as a uid or a user name (looked up here,
in the client). The daemon refuses another owner's array with EACCES, which is
PermissionError, also when that array is what ended a wait. The tests need no
second user: the daemon's own arrays belong to this process's uid, so any other uid
is "someone else".
"""

import errno
import math
import os
import pwd
import threading

import numpy as np
import pytest

import sharr

ME = os.geteuid()
OTHER = 65534 if ME != 65534 else 65533


def test_the_right_owner_attaches_by_uid_or_name(new_name):
    name = new_name()
    sharr.create(name, 8, np.int32)[:] = 7
    me = pwd.getpwuid(ME).pw_name
    for owner in (ME, me, np.uint32(ME)):
        a = sharr.memmap(name, mode="r", owner=owner)
        assert a.sum() == 56
    assert sharr.open(name, "c", owner=ME)[0] == 7
    # owner= combines with the checks of dtype and shape.
    assert sharr.memmap(name, dtype=np.int32, shape=8, owner=me).shape == (8,)


def test_another_owner_is_permission_error_and_attaches_nothing(new_name):
    name = new_name()
    sharr.create(name, 8, np.int32)
    before = sharr.info(name).nattached
    for call in (lambda: sharr.memmap(name, owner=OTHER),
                 lambda: sharr.open(name, "r", owner=OTHER),
                 lambda: sharr.memmap(name, dtype=np.int32, owner=OTHER)):
        with pytest.raises(PermissionError) as e:
            call()
        assert e.value.errno == errno.EACCES
        assert e.value.filename == name
        assert f"not to uid {OTHER}" in e.value.strerror
    assert sharr.info(name).nattached == before


def test_a_wait_for_a_trusted_owner_fails_when_someone_else_creates_the_name(new_name):
    name = new_name()
    got = {}
    started = threading.Event()

    def waiter():
        started.set()
        try:
            got["array"] = sharr.memmap(name, mode="r", wait=math.inf, owner=OTHER)
        except BaseException as e:  # reported to the test's thread
            got["error"] = e

    t = threading.Thread(target=waiter)
    t.start()
    started.wait()
    # This process is not OTHER: its array ends the wait with an error, not an attach.
    sharr.create(name, 4, np.int8)
    t.join(timeout=300)
    assert not t.is_alive()
    assert "array" not in got
    assert isinstance(got["error"], PermissionError)
    assert got["error"].errno == errno.EACCES


@pytest.mark.parametrize("owner, exc, text", [
    (-1, ValueError, "uid in 0..4294967294"),
    (2 ** 32 - 1, ValueError, "uid in 0..4294967294"),
    (2 ** 40, ValueError, "uid in 0..4294967294"),
    ("no-such-user-of-sharr", ValueError, "no user named"),
    ("", ValueError, "no user named"),
    (1.5, TypeError, "uid (int) or a user name (str)"),
    (True, TypeError, "not bool"),
    (np.bool_(True), TypeError, "not bool"),
    (np.bool_(False), TypeError, "not bool"),
    (b"root", TypeError, "not bytes"),
])
def test_bad_owners_are_refused_before_the_daemon(new_name, owner, exc, text):
    name = new_name()
    sharr.create(name, 1)
    with pytest.raises(exc, match=text.replace("(", r"\(").replace(")", r"\)")):
        sharr.memmap(name, owner=owner)
    with pytest.raises(exc):
        sharr.open(name, "r", owner=owner)
    # The daemon still serves, and nothing was attached.
    assert sharr.info(name).nattached == 0
    assert sharr.stats().arrays >= 1


def test_owner_is_for_attaching_not_for_creating(new_name):
    with pytest.raises(ValueError, match="owner applies to attaching"):
        sharr.memmap(new_name(), dtype=np.int8, mode="w+", shape=1, owner=ME)
