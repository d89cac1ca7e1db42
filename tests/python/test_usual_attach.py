"""The usual attach, sharr.memmap(name, mode=...), is done by the C extension with no
Python frame (sharr._cattach.New), and behaves as the Python __new__ it stands for.

Counting Python calls (sys.setprofile) pins the first without timing anything;
the others check what the C path must keep: numpy's signature, the mode aliases,
a socket given by path, subclasses that call super(), and a forked child, which
must not use its parent's connection.
"""

import inspect
import os
import sys
import threading
import time

import numpy as np
import pytest

import sharr
from sharr import _connection


def _python_calls(fn):
    """The names of the Python functions fn() runs (C functions left out)."""
    calls = []

    def profile(frame, event, arg):
        if event == "call":
            calls.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return [c for c in calls if c != "fn"]


def test_the_usual_attach_and_drop_run_no_python_function(new_name):
    name = new_name()
    owner = sharr.create(name, (4, 3), np.float32)
    sharr.memmap(name, mode="r+")  # the connection and the socket's lookup are made

    def fn():
        a = sharr.memmap(name, mode="r+")
        b = sharr.memmap(name, None, "r")
        del a, b

    assert _python_calls(fn) == []
    del owner


def test_a_view_of_an_attached_array_still_runs_the_python_rule(new_name):
    name = new_name()
    a = sharr.create(name, 8, np.int64)
    calls = _python_calls(lambda: a[2:])
    assert "__array_finalize__" in calls
    assert a[2:]._sharr is a._sharr and a[2:].name == name


def test_the_signature_is_still_the_python_one():
    params = list(inspect.signature(sharr.memmap).parameters)
    assert params[:6] == ["name", "dtype", "mode", "offset", "shape", "order"]
    assert "socket" in params and "published" in params


@pytest.mark.parametrize("mode,short", [("r", "r"), ("readonly", "r"), ("r+", "r+"),
                                        ("readwrite", "r+"), ("c", "c"),
                                        ("copyonwrite", "c")])
def test_every_mode_alias_attaches_as_the_python_path_does(new_name, mode, short):
    name = new_name()
    owner = sharr.create(name, (2, 5), "<i4", order="F")
    owner[:] = np.arange(10).reshape(2, 5)
    a = sharr.memmap(name, mode=mode)
    assert (type(a), a.mode, a.shape, a.dtype, a.flags.f_contiguous) == \
        (sharr.memmap, short, (2, 5), np.dtype("<i4"), True)
    assert a.flags.writeable == (short != "r")
    assert a._mmap is a.base and a.offset == owner.offset and a.filename is None
    assert np.array_equal(a, owner)


def test_what_the_c_path_does_not_take_goes_to_python_with_its_errors(new_name):
    name = new_name()
    sharr.create(name, 3, np.uint8)
    with pytest.raises(ValueError, match="mode must be one of"):
        sharr.memmap(name, mode="x")
    with pytest.raises(ValueError, match="mode must be one of"):
        sharr.memmap(name, mode=["r"])
    with pytest.raises(TypeError):
        sharr.memmap(name, mode="r", mode2="r")
    with pytest.raises(TypeError):
        sharr.memmap(name, "u1", "r", mode="r")
    with pytest.raises(ValueError, match="offset"):
        sharr.memmap(name, mode="r", offset=1)
    with pytest.raises(TypeError):
        sharr.memmap(name, mode="r", offset=0.0)
    with pytest.raises(TypeError, match="array name must be str"):
        sharr.memmap(3, mode="r")
    with pytest.raises(FileNotFoundError):
        sharr.memmap(name + ".missing", mode="r")
    assert sharr.memmap(name, np.uint8, "r", 0, 3, "C").shape == (3,)


@pytest.mark.parametrize("mode", ["w+", "write"])
def test_a_create_with_no_shape_raises_what_the_python_path_raises(new_name, mode):
    # 'w+' is a create, which the C path leaves to Python: it must know 'w+' by its
    # value, not by the identity of _MODES' string (not interned: it has a '+').
    name = new_name()
    sharr.create(name, 3, np.uint8)
    slow = sharr.memmap.__new__.__wrapped__
    for new in (sharr.memmap.__new__, slow):
        with pytest.raises(ValueError, match="needs a shape"):
            new(sharr.memmap, name, mode=mode)
        with pytest.raises(ValueError, match="needs a shape"):
            new(sharr.memmap, name, None, mode, 0, None, None)
    assert sharr.memmap(name, mode="r").shape == (3,)


def test_a_socket_given_by_path_str_or_bytes_attaches_there(sharr_socket, new_name):
    name = new_name()
    sharr.create(name, 3, np.uint8)
    for socket in (sharr_socket, os.fsencode(sharr_socket), sharr_socket):
        assert sharr.memmap(name, mode="r", socket=socket).name == name
    assert _connection._found[sharr_socket][0] == sharr_socket


def test_subclasses_that_call_super_keep_working(new_name):
    name = new_name()
    sharr.create(name, 4, np.float64)

    class Tagged(sharr.memmap):
        def __new__(cls, name, **kw):
            arr = super().__new__(cls, name, **kw)
            arr.tag = "new"
            return arr

        def __array_finalize__(self, obj):
            super().__array_finalize__(obj)
            self.seen = type(obj).__name__

    t = Tagged(name, mode="r")
    assert (type(t), t.tag, t.seen, t.name) == (Tagged, "new", "NoneType", name)
    v = t[1:]
    assert (type(v), v.seen, v._sharr is t._sharr) == (Tagged, "Tagged", True)

    class Plain(sharr.memmap):
        pass

    assert type(Plain(name, mode="r")) is Plain


def test_a_forked_child_attaches_on_its_own_connection(new_name):
    name = new_name()
    owner = sharr.create(name, 4, np.int32)
    owner[:] = 7
    parent_conn = _connection.find(None)[1]
    sharr.memmap(name, mode="r")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            a = sharr.memmap(name, mode="r")
            ok = int(a.sum()) == 28 and _connection.find(None)[1] != parent_conn
        finally:
            os.write(w, b"1" if ok else b"0")
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"1"
    os.close(r)
    os.waitpid(pid, 0)


def _cache_on(own_daemon, monkeypatch):
    """A path to own_daemon's socket whose connection in this process has libsharr's
    cache of attachments on (ctest turns it off for the tests; the fixture's own
    connection to the socket was made with it off): a symlink, a path of its own."""
    sock = os.path.join(own_daemon.root, "cached.sock")
    os.symlink(own_daemon.socket, sock)
    monkeypatch.setenv("SHARR_CACHE_MAX", "16")
    monkeypatch.setenv("SHARR_CACHE_MS", "60000")
    sharr.stats(socket=sock)  # connects now, with the cache on
    monkeypatch.setenv("SHARR_CACHE_MAX", "0")
    return sock


def _described(a):
    return (type(a), a.shape, a.dtype, a.strides, a.flags.writeable, a.flags.c_contiguous,
            a.flags.f_contiguous, a.flags.aligned, a.flags.owndata, a.filename, a.offset,
            a.mode, a.name, type(a.base), a.base is a._mmap, a._sharr.mode,
            a.__array_interface__["data"][0], a.tolist())


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_a_cache_hit_gives_the_array_a_miss_gives(own_daemon, monkeypatch, mode):
    # The extension asks the cache first with the GIL held (SHARR_F_CACHED_ONLY), and
    # makes the round trip without it: both must build the same array.
    sock = _cache_on(own_daemon, monkeypatch)
    owner = sharr.create("x", (3, 2), "<i4", order="F", socket=sock)
    owner[:] = np.arange(6).reshape(3, 2)
    miss = sharr.memmap("x", mode=mode, socket=sock)
    before = sharr.stats(socket=sock).requests
    hit = sharr.memmap("x", mode=mode, socket=sock)
    assert sharr.stats(socket=sock).requests == before + 1  # the stats call alone
    assert _described(hit) == _described(miss)
    assert hit._sharr is not miss._sharr and hit.base is not miss.base
    miss.close()
    del miss
    # Let go of and kept by the cache: served again, and still the same.
    again = sharr.memmap("x", mode=mode, socket=sock)
    assert _described(again) == _described(hit)
    if mode == "r+":
        again[0, 1] = 42
        assert hit[0, 1] == 42 and owner[0, 1] == 42
    del hit, again, owner


def test_a_miss_waits_for_the_daemon_without_the_gil(own_daemon, monkeypatch):
    # A wait runs as a round trip (the cache cannot serve it): while it waits, this
    # thread runs Python and creates the array it waits for. Held GIL: TimeoutError.
    sock = _cache_on(own_daemon, monkeypatch)
    got, errors = [], []

    def waiter():
        try:
            got.append(sharr.memmap("late", mode="r", wait=30, socket=sock))
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)  # the waiter is waiting by now, most likely (ordering only)
    owner = sharr.create("late", 4, np.int16, socket=sock)
    owner[:] = 7
    t.join()
    assert errors == [] and got[0].tolist() == [7, 7, 7, 7]
    del got, owner


def test_close_runs_no_python_function_and_keeps_its_rule(new_name):
    name = new_name()
    owner = sharr.create(name, 4, np.int64)
    a = sharr.memmap(name, mode="r+")

    def fn():
        a.close()

    assert _python_calls(fn) == []
    with pytest.raises(ValueError, match="closed"):
        a.flush()
    assert a._sharr.closed and not owner._sharr.closed
    a[0] = 5  # closing never invalidates memory
    assert owner[0] == 5
    bound = owner.close  # read as an attribute: a bound method, as a Python one's
    assert bound.__self__ is owner and bound() is None and owner._sharr.closed
    owner.close()  # idempotent
    copy = a + 1  # a plain ndarray: no close; a copy of the class has no attachment
    assert not hasattr(copy, "close")
    sharr.memmap.close(a.copy())
    with pytest.raises(TypeError):
        a.close(1)
    assert sharr.memmap.close.__doc__.startswith("Declare this array's attachment done")
    assert list(inspect.signature(sharr.memmap.close).parameters) == ["self"]


def test_close_of_a_subclass_and_of_a_view_closes_the_attachment(new_name):
    class Sub(sharr.memmap):
        pass

    name = new_name()
    owner = sharr.create(name, 6, np.int32)
    s = Sub(name, mode="r")
    v = s[2:]
    v.close()
    assert type(s) is Sub and s._sharr.closed and not owner._sharr.closed
