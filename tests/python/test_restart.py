"""A daemon that dies or restarts under its clients: mappings stay valid, the
connection comes back, and names are served again from the store.
"""

import os
import pickle
import signal
import stat

import numpy as np
import pytest

import sharr


def test_mappings_survive_a_daemon_crash_and_restart(own_daemon):
    sock = own_daemon.socket
    kept = sharr.memmap("kept", dtype=np.float64, mode="w+", shape=(512, 512),
                        persist=True, socket=sock)
    kept[:] = 1.5
    volatile = sharr.memmap("volatile", dtype=np.int32, mode="w+", shape=1000, socket=sock)
    volatile[:] = 7
    data = pickle.dumps(kept[10:20, ::2])

    own_daemon.proc.send_signal(signal.SIGKILL)
    own_daemon.proc.wait()
    kept[0, 0] = 2.5  # the mappings do not depend on the daemon
    volatile[0] = 8
    assert kept.sum() == 1.5 * 512 * 512 + 1.0 and volatile.sum() == 7 * 1000 + 1

    own_daemon.start()
    # The same process's connection reconnects, and the persistent name is back.
    assert sharr.info("kept", socket=sock).shape == (512, 512)
    back = pickle.loads(data)
    assert np.all(back == 1.5)
    again = sharr.memmap("kept", socket=sock)
    assert again[0, 0] == 2.5
    again[1, 1] = 3.5
    assert kept[1, 1] == 3.5
    kept.flush()
    del kept, volatile, back, again
    assert own_daemon.stop()
    assert own_daemon.proc.returncode == 0


def test_a_persistent_arrays_pickle_belongs_to_its_store_across_restarts(own_daemon):
    sock = own_daemon.socket
    kept = sharr.create("kept", 4, persist=True, socket=sock)
    kept[:] = 2.0
    data = pickle.dumps(kept[1:])
    first = sharr._connection.server_id(sock)
    assert own_daemon.stop()
    own_daemon.start()
    # A new daemon (a new id) on the same store: the same store's array, unpickled.
    assert sharr._connection.server_id(sock) != first
    assert pickle.loads(data).tolist() == [2.0] * 3
    # The store's identity is a file of its directory, the daemon's alone.
    ident = os.path.join(own_daemon.store, ".store-id")
    assert stat.S_IMODE(os.stat(ident).st_mode) == 0o600
    # The same files under another identity stand for another host's copy of the
    # store: the array there has the same name and creation time, and is not this
    # pickle's.
    assert own_daemon.stop()
    os.unlink(ident)
    own_daemon.start()
    assert sharr.info("kept", socket=sock).ctime_ns == kept._sharr.ctime_ns
    with pytest.raises(ValueError) as e:
        pickle.loads(data)
    assert "'kept'" in str(e.value) and "another store" in str(e.value)
    del kept


def test_a_damaged_store_identity_is_drawn_again_and_a_half_written_one_removed(own_daemon):
    sock = own_daemon.socket
    first = sharr._connection.store_id(sock)
    assert own_daemon.stop()
    ident = os.path.join(own_daemon.store, ".store-id")
    with open(ident, "rb") as f:
        line = f.read()
    assert line.startswith(b"sharr-store 1 id=%016x " % first) and line.endswith(b"\n")
    # A bit flipped in the id (the checksum no longer matches), and the temporary
    # file of an identity a crash cut short.
    with open(ident, "wb") as f:
        f.write(line[:17] + bytes([line[17] ^ 1]) + line[18:])
    with open(os.path.join(own_daemon.store, ".tmp-store-id"), "wb") as f:
        f.write(b"sharr-store 1 id=")
    own_daemon.start()
    again = sharr._connection.store_id(sock)
    assert again not in (0, first)
    assert "did not verify" in own_daemon.log_text()
    assert not os.path.exists(os.path.join(own_daemon.store, ".tmp-store-id"))
    assert own_daemon.stop()
    own_daemon.start()
    assert sharr._connection.store_id(sock) == again


def test_a_pickle_from_another_sharrd_says_so_and_not_that_it_was_unlinked(own_daemon):
    # A daemon started again on the same socket stands for another host's sharrd
    # serving the same path: the volatile array is not there, and was never unlinked.
    sock = own_daemon.socket
    a = sharr.create("gone", 3, socket=sock)
    data = pickle.dumps(a)
    first = sharr._connection.server_id(sock)
    del a
    assert own_daemon.stop()
    own_daemon.start()
    with pytest.raises(FileNotFoundError) as e:
        pickle.loads(data)
    message = str(e.value)
    assert "'gone'" in message and f"{first:016x}" in message
    assert "another host's, or the daemon restarted" in message
    assert "unlinked" not in message
    # The same name made again on the new daemon is another array: refused, saying why.
    sharr.create("gone", 3, socket=sock)
    with pytest.raises(ValueError) as e:
        pickle.loads(data)
    assert "'gone'" in str(e.value) and f"{first:016x}" in str(e.value)
    assert "another host's, or the daemon restarted" in str(e.value)
