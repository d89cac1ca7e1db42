"""The package's namespace and its bindings of libsharr's holders, chmod and chown.

`from sharr import *` must not shadow the builtins open and list (they stay
attributes: sharr.open, sharr.list); holders, chmod and chown do what `sharr info`,
`sharr chmod` and `sharr chown` do, with the same range checks as every other call.
"""

import os

import numpy as np
import pytest

import sharr


def test_star_import_leaves_the_builtins_open_and_list_alone():
    ns = {}
    exec("from sharr import *", ns)
    assert "open" not in ns and "list" not in ns
    assert "memmap" in ns and "holders" in ns and "chmod" in ns and "chown" in ns
    assert callable(sharr.open) and callable(sharr.list)
    assert set(sharr.__all__) <= set(dir(sharr))


def test_holders_lists_this_processs_attachments(new_name):
    name = new_name()
    a = sharr.memmap(name, "f8", "w+", shape=(4, 4))
    r = sharr.memmap(name, mode="r")
    held = sharr.holders(name)
    assert sorted(h.mode for h in held) == ["r", "r+"]
    for h in held:
        assert (h.name, h.pid, h.uid, h.nbytes) == (name, os.getpid(), os.getuid(), a.nbytes)
        assert not h.persist and not h.unlinked and h.since_ns > 0
    assert {h.handle for h in held} <= {h.handle for h in sharr.holders()}
    del a, r
    assert sharr.holders(name) == []


def test_holders_pages_through_more_than_one_page(new_name):
    name = new_name()
    many = [sharr.memmap(name, "u1", "w+", shape=1)]
    many += [sharr.memmap(name, mode="r") for _ in range(300)]
    held = sharr.holders(name)
    assert len(held) == 301
    assert len({h.handle for h in held}) == 301


def test_holders_of_a_name_nobody_holds_is_empty(new_name):
    assert sharr.holders(new_name()) == []


def test_chmod_sets_the_permission_bits(new_name):
    name = new_name()
    sharr.create(name, 4, np.uint8)
    sharr.chmod(name, 0o640)
    assert sharr.info(name).perm == 0o640
    sharr.chmod(name, 0)
    assert sharr.info(name).perm == 0


@pytest.mark.parametrize("perm, exc", [(2 ** 32 + 0o644, ValueError), (-1, ValueError),
                                       (0o1000, ValueError), (True, TypeError)])
def test_chmod_refuses_bits_beyond_0777_without_wrapping(new_name, perm, exc):
    name = new_name()
    sharr.create(name, 4, np.uint8, perm=0o600)
    with pytest.raises(exc, match="perm"):
        sharr.chmod(name, perm)
    assert sharr.info(name).perm == 0o600


def test_chown_gives_the_array_to_a_uid_and_a_gid(new_name):
    name = new_name()
    sharr.create(name, 4, np.uint8)
    sharr.chown(name, gid=4321)
    assert (sharr.info(name).uid, sharr.info(name).gid) == (os.getuid(), 4321)
    sharr.chown(name, 1234)
    assert (sharr.info(name).uid, sharr.info(name).gid) == (1234, 4321)
    sharr.chown(name, 0, 0)
    assert (sharr.info(name).uid, sharr.info(name).gid) == (0, 0)


@pytest.mark.parametrize("ids", [{"uid": 2 ** 32 + 5}, {"gid": 2 ** 32 - 1}, {"uid": -1},
                                 {"gid": 2 ** 64}])
def test_chown_refuses_ids_c_cannot_hold_without_wrapping(new_name, ids):
    name = new_name()
    sharr.create(name, 4, np.uint8)
    before = sharr.info(name)
    with pytest.raises(ValueError, match="uid|gid"):
        sharr.chown(name, **ids)
    after = sharr.info(name)
    assert (after.uid, after.gid) == (before.uid, before.gid)


def test_chown_with_neither_id_is_a_value_error(new_name):
    name = new_name()
    sharr.create(name, 4, np.uint8)
    with pytest.raises(ValueError, match="uid or a gid"):
        sharr.chown(name)
