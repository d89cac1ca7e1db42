"""Connections: one per process per socket, a fresh one after fork, shared by threads,
and the default socket resolved as libsharr resolves it.
"""

import errno
import os
import socket as pysocket
import threading

import numpy as np
import pytest

import sharr


def test_one_connection_serves_every_call_of_a_process(own_daemon, monkeypatch):
    # A daemon of its own: the session's one also counts other tests' workers.
    monkeypatch.setenv("SHARR_SOCKET", own_daemon.socket)
    sharr.create("n", 10, np.int8)
    assert sharr.stats().connections == 1
    for _ in range(20):
        a = sharr.memmap("n", mode="r+")
        a[0] += 1
        sharr.info("n")
        del a
    sharr.list()
    assert sharr.stats().connections == 1
    assert sharr.memmap("n")[0] == 20


def test_forked_child_uses_its_own_connection_and_leaves_the_parents_alone(
        own_daemon, monkeypatch):
    monkeypatch.setenv("SHARR_SOCKET", own_daemon.socket)
    a = sharr.memmap("f", dtype=np.int64, mode="w+", shape=4)
    assert sharr.stats().connections == 1
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            # The inherited mapping works, and so does attaching anew by name.
            a[0] = 1
            b = sharr.memmap("f", mode="r+")
            b[1] = 2
            code = 0 if sharr.stats().connections == 2 else 2
            del b  # released now: the daemon learns of the exit only later
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert a.tolist() == [1, 2, 0, 0]
    # The parent's connection still answers, and it holds only the parent's attachment.
    assert sharr.info("f").nattached == 1


def test_forked_child_attaches_on_a_connection_of_its_own_after_the_parent_attached(
        own_daemon, monkeypatch):
    # The parent's attach by name leaves its socket path and connection cached.
    monkeypatch.setenv("SHARR_SOCKET", own_daemon.socket)
    sharr.create("g", 4, np.int64)
    a = sharr.memmap("g", mode="r+")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            b = sharr.memmap("g", mode="r+")
            b[0] = 3
            code = 0 if sharr.stats().connections == 2 else 2
            del b
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert a[0] == 3
    assert sharr.info("g").nattached == 1


def test_an_attach_follows_sharr_socket_when_it_changes(own_daemon, daemon, monkeypatch,
                                                         new_name):
    name = new_name()
    sharr.create(name, 2, np.int8)
    assert sharr.memmap(name).shape == (2,)  # the session daemon's, now cached
    monkeypatch.setenv("SHARR_SOCKET", own_daemon.socket)
    with pytest.raises(FileNotFoundError):
        sharr.memmap(name)
    sharr.create(name, 3, np.int8)
    assert sharr.memmap(name).shape == (3,)
    monkeypatch.setenv("SHARR_SOCKET", daemon.socket)
    assert sharr.memmap(name).shape == (2,)


def test_threads_share_the_connection(new_name):
    name = new_name()
    sharr.create(name, 8, np.int64)
    errors = []

    def work(slot):
        try:
            for _ in range(25):
                a = sharr.memmap(name, mode="r+")
                a[slot] += 1
                a.flush()
                sharr.info(name)
                del a
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sharr.memmap(name).tolist() == [25] * 8
    assert sharr.info(name).nattached == 0


def test_default_socket_is_sharr_socket_even_before_it_exists(monkeypatch, tmp_path):
    monkeypatch.setenv("SHARR_SOCKET", str(tmp_path / "later.sock"))
    assert sharr.default_socket() == str(tmp_path / "later.sock")


def test_default_socket_without_a_live_one_is_where_the_users_daemon_listens(
        monkeypatch, tmp_path):
    monkeypatch.delenv("SHARR_SOCKET")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    if os.path.exists("/run/sharr/sharr.sock"):
        pytest.skip("a system sharrd serves /run/sharr/sharr.sock, which would rightly "
                    "be chosen")
    assert sharr.default_socket() == str(tmp_path / "sharr" / "sharr.sock")
def test_default_socket_too_long_for_a_socket_address_is_enametoolong(monkeypatch):
    monkeypatch.setenv("SHARR_SOCKET", "/" + "s" * 200)
    with pytest.raises(OSError) as e:
        sharr.default_socket()
    assert e.value.errno == errno.ENAMETOOLONG


def test_default_socket_prefers_a_live_runtime_dir_socket(monkeypatch, tmp_path):
    monkeypatch.delenv("SHARR_SOCKET")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "sharr").mkdir()
    with pysocket.socket(pysocket.AF_UNIX) as s:
        s.bind(str(tmp_path / "sharr" / "sharr.sock"))
        assert sharr.default_socket() == str(tmp_path / "sharr" / "sharr.sock")


def test_relative_socket_paths_are_made_absolute(monkeypatch, daemon, new_name):
    monkeypatch.chdir(daemon.root)
    name = new_name()
    a = sharr.create(name, 3, socket="s.sock")
    assert a._sharr.socket == daemon.socket


def test_each_daemon_start_has_an_id_of_its_own_that_every_connection_sees(
        own_daemon, daemon):
    from sharr import _connection
    ours = _connection.server_id(own_daemon.socket)
    assert ours != 0
    assert _connection.server_id(daemon.socket) not in (0, ours)
    # Another process's connection (a child) hears the same id in its hello.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, str(_connection.server_id(own_daemon.socket)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        assert int(f.read()) == ours
    assert os.waitpid(pid, 0)[1] == 0
    own_daemon.stop()
    own_daemon.start()
    sharr.stats(socket=own_daemon.socket)  # reconnect: hello again
    assert _connection.server_id(own_daemon.socket) not in (0, ours)
