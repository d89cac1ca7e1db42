"""Dask distributed with sharr arrays: by name through every path when client and workers
share one sharrd (a worker's write is seen by the client), by value when the workers
are served by another sharrd (standing for another host), and the helpers of
sharr.dask. Real LocalClusters of worker processes; small arrays, as size does not
matter to whether a transfer goes by name.
"""

import collections
import os
import pickle

import numpy as np
import pytest

import sharr

# Missing, they fail the run (scripts/deps.sh installs python3-dask, python3-distributed).
import dask
import dask.array as da
import distributed
from dask.base import tokenize
from dask.sizeof import sizeof

import sharr.dask


def _cluster(socket):
    # Worker processes (nanny-restartable), each served by the sharrd at socket.
    return distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                    dashboard_address=":0", env={"SHARR_SOCKET": socket})


@pytest.fixture(scope="module")
def client(daemon):
    os.environ["SHARR_SOCKET"] = daemon.socket  # the scheduler's handshake, in this process
    with _cluster(daemon.socket) as cluster, distributed.Client(cluster) as c:
        yield c


def _probe(x, write=None):
    """In a worker: what arrived (class, name, pid) after writing write into x[0]."""
    if write is not None:
        x[(0,) * x.ndim] = write
    return type(x).__module__ + "." + type(x).__name__, getattr(x, "name", None), os.getpid()


def _make(name, value):
    b = sharr.create(name, 6, np.int64, overwrite=True)
    b[:] = value
    return b


def test_task_arguments_go_by_name_and_a_workers_write_is_seen(client, new_name):
    name = new_name()
    a = sharr.create(name, (4, 5))
    kind, got, pid = client.submit(_probe, a[1:3, ::2], 7.0).result()
    assert (kind, got) == ("sharr._array.memmap", name) and pid != os.getpid()
    assert a[1, 0] == 7.0


def test_scatter_goes_by_name_and_a_workers_write_is_seen(client, new_name):
    name = new_name()
    a = sharr.create(name, 10, np.int32)
    [f] = client.scatter([a])
    assert client.submit(_probe, f, 5).result()[:2] == ("sharr._array.memmap", name)
    assert a[0] == 5
    g = client.scatter(a[4:], direct=True)
    assert client.submit(_probe, g, 6).result()[:2] == ("sharr._array.memmap", name)
    assert a[4] == 6


def test_results_gather_and_worker_to_worker_transfers_go_by_name(client, new_name):
    name = new_name()
    w1, w2 = sorted(client.scheduler_info()["workers"])
    made = client.submit(_make, name, 3, workers=[w1], pure=False)
    # The array made in w1 moves to w2 (worker to worker), which writes into it.
    kind, got, _ = client.submit(_probe, made, 9, workers=[w2]).result()
    assert (kind, got) == ("sharr._array.memmap", name)
    back = made.result()  # gathered from w1
    assert isinstance(back, sharr.memmap) and back.name == name
    assert back.tolist() == [9, 3, 3, 3, 3, 3]
    back[5] = 1  # the client writes, w1's array (still held by the future) sees it
    assert client.submit(lambda x: int(x[5]), made, workers=[w1]).result() == 1


def _block_is_a_view_of(b, name):
    return np.full(b.shape, isinstance(b, sharr.memmap) and b.name == name)


def test_from_array_with_defaults_holds_the_name_and_chunks_are_views(client, new_name):
    name = new_name()
    a = sharr.create(name, (40, 3))
    a[:] = np.arange(120).reshape(40, 3)
    x = da.from_array(a, chunks=(10, 3))
    assert client.compute(x.sum()).result() == a.sum()
    assert client.compute(x.map_blocks(_block_is_a_view_of, name, dtype=bool).all()).result()
    y = sharr.dask.from_sharr(name, chunks=(10, 3))
    assert client.compute(y.map_blocks(_block_is_a_view_of, name, dtype=bool).all()).result()
    # The graph holds the array as its pickle, a few hundred bytes, not its 960.
    assert len(pickle.dumps(dict(y.__dask_graph__()))) < a.nbytes


def test_to_sharr_has_workers_write_the_chunks_in_place(client, new_name):
    src, dst = new_name("src"), new_name("dst")
    a = sharr.create(src, (40, 3), np.int32)
    a[:] = np.arange(120).reshape(40, 3)
    out = sharr.dask.to_sharr(sharr.dask.from_sharr(src, chunks=(10, 3)) * 2, dst)
    assert out.name == dst and (out == a * 2).all()
    assert (sharr.memmap(dst) == a * 2).all()


def test_tokenize_names_the_incarnation_and_view_without_reading_data(new_name):
    name = new_name()
    a = sharr.create(name, (100, 100))
    token = dask.base.normalize_token(a)
    assert a.__dask_tokenize__() == token
    # The name, the creation time and the geometry: no bytes of the data.
    assert name in token and a._sharr.ctime_ns in token
    assert all(not isinstance(t, (bytes, memoryview)) for t in token)
    assert tokenize(a) == tokenize(sharr.memmap(name))
    assert tokenize(a[1:]) != tokenize(a) != tokenize(a.T)
    before = tokenize(a)
    sharr.create(name, (100, 100), overwrite=True)
    assert tokenize(sharr.memmap(name)) != before
    # A copy has no name: it is hashed by value, as numpy arrays are.
    c = np.array(a)
    assert tokenize(c) == tokenize(np.zeros((100, 100)))


def test_sizeof_counts_a_shared_mapping_as_no_memory_of_the_worker(new_name):
    a = sharr.create(new_name(), 1 << 20, np.uint8)
    assert sizeof(a) < 1024 and sizeof(a[10:]) < 1024
    assert sizeof(np.array(a)) >= a.nbytes
    assert sizeof(sharr.memmap(a.name, mode="c")) >= a.nbytes


def _loads(data):
    try:
        pickle.loads(data)
    except Exception as e:  # the worker's error, as a value
        return type(e).__name__, str(e)
    return None


def test_an_array_unlinked_before_the_worker_attaches_says_which_and_why(client, new_name):
    name = new_name()
    data = pickle.dumps(sharr.create(name, 3))
    sharr.unlink(name)
    kind, message = client.submit(_loads, data).result()
    assert kind == "FileNotFoundError"
    assert repr(name) in message and "was unlinked after it was pickled" in message


# A hang guard on result(): far above what these small computations take, it turns a
# cluster that hangs (the workers' connections broken by an error while unpickling)
# into a failure instead of a test run that never ends.
RESULT_GUARD_S = 60


def _workers_alive_and_computing(client, pids, new_name):
    """The same worker processes as before (none died, none restarted) compute the
    next graph right."""
    assert client.run(os.getpid, wait=True) == pids
    b = sharr.create(new_name("next"), 12, np.int64)
    b[:] = np.arange(12)
    x = sharr.dask.from_sharr(b, chunks=4).sum()
    assert client.compute(x).result(timeout=RESULT_GUARD_S) == 66


def test_a_graph_over_an_array_unlinked_before_it_runs_fails_naming_it(client, new_name):
    name = new_name()
    pids = client.run(os.getpid)
    a = sharr.create(name, 16)
    x = sharr.dask.from_sharr(a, chunks=4).sum()
    sharr.unlink(name)
    with pytest.raises(FileNotFoundError) as e:
        client.compute(x).result(timeout=RESULT_GUARD_S)
    assert repr(name) in str(e.value) and "was unlinked after it was pickled" in str(e.value)
    _workers_alive_and_computing(client, pids, new_name)


def _unlinked(client, new_name):
    """A new name, the workers' pids, and an array of 16 float64 by that name, already
    unlinked: what a worker attaching it by name no longer finds."""
    name = new_name()
    pids = client.run(os.getpid)
    a = sharr.create(name, 16)
    sharr.unlink(name)
    return name, pids, a


def test_a_task_argument_unlinked_before_it_runs_fails_naming_it(client, new_name):
    name, pids, a = _unlinked(client, new_name)
    with pytest.raises(FileNotFoundError) as e:
        client.submit(_probe, a, 1.0).result(timeout=RESULT_GUARD_S)
    assert repr(name) in str(e.value) and "was unlinked after it was pickled" in str(e.value)
    _workers_alive_and_computing(client, pids, new_name)


def test_a_scattered_array_unlinked_before_it_arrives_fails_the_task_using_it(client,
                                                                              new_name):
    name, pids, a = _unlinked(client, new_name)
    [f] = client.scatter([a])
    with pytest.raises(FileNotFoundError) as e:
        client.submit(_probe, f, 1.0).result(timeout=RESULT_GUARD_S)
    assert repr(name) in str(e.value) and "was unlinked after it was pickled" in str(e.value)
    # Gathered back, it fails the same way: result() never hands out a stand-in.
    with pytest.raises(FileNotFoundError, match=repr(name)):
        f.result(timeout=RESULT_GUARD_S)
    with pytest.raises(FileNotFoundError, match=repr(name)):
        client.gather({"x": [f]})
    _workers_alive_and_computing(client, pids, new_name)


def _as_completed_in_a_thread(futures, **kwargs):
    """What iterating distributed.as_completed(futures, with_results=True, **kwargs)
    gives: ("yields", [(future, result)...]) or ("raises", error), or "hangs" after
    RESULT_GUARD_S (the iteration left blocked in a daemon thread)."""
    import threading
    out = []

    def run():
        try:
            out.append(("yields", list(distributed.as_completed(futures, with_results=True,
                                                                **kwargs))))
        except Exception as e:
            out.append(("raises", e))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(RESULT_GUARD_S)
    return out[0] if out else "hangs"


async def _async_as_completed(address, a):
    async with distributed.Client(address, asynchronous=True) as c:
        [f] = await c.scatter([a])
        try:
            async for _ in distributed.as_completed([f], with_results=True):
                pass
        except FileNotFoundError as e:
            return e


def test_as_completed_with_results_raises_a_missing_arrays_error_as_a_failed_tasks(
        client, new_name):
    import asyncio
    name, pids, a = _unlinked(client, new_name)
    [f] = client.scatter([a])
    ok = client.submit(lambda: 3)
    got = _as_completed_in_a_thread([f, ok])
    assert got != "hangs"
    how, error = got
    assert how == "raises" and isinstance(error, FileNotFoundError)
    assert repr(name) in str(error) and "was unlinked after it was pickled" in str(error)
    how, pairs = _as_completed_in_a_thread([f, ok], raise_errors=False)
    assert how == "yields"
    results = dict(pairs)
    assert results[ok] == 3
    kind, error, _ = results[f]
    assert kind is FileNotFoundError and repr(name) in str(error)
    # An asynchronous client's, in its own loop.
    error = asyncio.run(asyncio.wait_for(_async_as_completed(client.scheduler.address, a),
                                         RESULT_GUARD_S))
    assert repr(name) in str(error)
    _workers_alive_and_computing(client, pids, new_name)


Pair = collections.namedtuple("Pair", "x y")


def test_gather_never_hands_out_a_missing_array_however_it_is_held(client, new_name):
    name, pids, a = _unlinked(client, new_name)
    [f] = client.scatter([a])
    ok = client.submit(lambda: 3)
    # errors="skip" leaves it out as it leaves out a failed future: from a list, or
    # None in its place elsewhere.
    assert client.gather([f, ok], errors="skip") == [3]
    assert client.gather({"f": f, "ok": ok}, errors="skip") == {"f": None, "ok": 3}
    # Held in a value of another type than a list, tuple or dict: raised too.
    pair = client.submit(Pair, f, 1)
    with pytest.raises(FileNotFoundError, match=repr(name)):
        pair.result(timeout=RESULT_GUARD_S)
    # A published dataset too.
    client.publish_dataset(**{name: a})
    with pytest.raises(FileNotFoundError, match=repr(name)):
        client.get_dataset(name)
    _workers_alive_and_computing(client, pids, new_name)


def test_a_graph_over_a_name_recreated_before_it_runs_never_reads_the_new_array(client,
                                                                                  new_name):
    name = new_name()
    pids = client.run(os.getpid)
    a = sharr.create(name, 16, np.int64)
    a[:] = 1
    x = sharr.dask.from_sharr(a, chunks=4).sum()
    b = sharr.create(name, (4, 8), np.int64, overwrite=True)
    b[:] = 2
    with pytest.raises(ValueError) as e:
        client.compute(x).result(timeout=RESULT_GUARD_S)
    assert repr(name) in str(e.value) and "replaced" in str(e.value)
    _workers_alive_and_computing(client, pids, new_name)


def test_scope_unlinks_every_array_made_under_it_in_workers(client, new_name):
    with sharr.dask.scope() as s:
        names = [s.name(i) for i in range(3)]
        futures = client.map(_make, names, [1, 2, 3], pure=False)
        assert [int(f.result()[0]) for f in futures] == [1, 2, 3]
        del futures
    left = {i.name for i in sharr.list()}
    assert not left & set(names)


def test_import_sharr_alone_registers_in_workers_the_nanny_restarts(client, new_name):
    name = new_name()
    client.restart()
    a = sharr.create(name, 4)
    [f] = client.scatter([a])
    assert client.submit(_probe, f, 2.0).result()[:2] == ("sharr._array.memmap", name)
    assert a[0] == 2.0


# Two daemons on one machine stand for two hosts: the client's arrays are daemon A's
# (the session's), the workers are served by daemon B.

@pytest.fixture
def other_host_client(own_daemon, daemon):
    os.environ["SHARR_SOCKET"] = daemon.socket
    with _cluster(own_daemon.socket) as cluster, distributed.Client(cluster) as c:
        yield c, own_daemon


def test_another_daemons_workers_get_values_and_send_values_back(other_host_client,
                                                                  new_name):
    client, b = other_host_client
    a = sharr.create(new_name(), (3, 4))
    a[:] = np.arange(12).reshape(3, 4)
    f = client.scatter(a, direct=True)
    kind, got, _ = client.submit(_probe, f).result()
    assert (kind, got) == ("numpy.ndarray", None)
    assert client.submit(lambda x: x.tolist(), f).result() == a.tolist()
    # An array of daemon B made in a worker comes back to the client as its values.
    back = client.submit(_make, "made-on-b", 4, pure=False).result()
    assert type(back) is np.ndarray and back.tolist() == [4] * 6
    assert sharr.info("made-on-b", socket=b.socket).shape == (6,)
    with pytest.raises(FileNotFoundError):
        sharr.info("made-on-b")
    # Task arguments and graphs, which distributed pickles before it knows the worker,
    # and scatter through the scheduler: the cluster is not all served by daemon A, so
    # they carry values, never a name that daemon B does not have.
    assert client.submit(_probe, a[1:, ::-2]).result()[:2] == ("numpy.ndarray", None)
    assert client.submit(lambda x: x.tolist(), a[1:, ::-2]).result() == a[1:, ::-2].tolist()
    [g] = client.scatter([a])
    assert client.submit(_probe, g).result()[:2] == ("numpy.ndarray", None)
    x = da.from_array(a, chunks=(2, 2))
    assert client.compute(x.sum()).result() == a.sum()
    assert (client.compute(x[::-1] * 2).result() == np.asarray(a)[::-1] * 2).all()
    # to_sharr has workers write into the target in place: workers of another sharrd
    # would write into copies, so it refuses, naming the target, before creating it.
    dst = new_name("dst")
    with pytest.raises(ValueError) as e:
        sharr.dask.to_sharr(x, dst)
    assert repr(dst) in str(e.value) and "another sharrd" in str(e.value)
    with pytest.raises(FileNotFoundError):
        sharr.info(dst)


def test_a_pickle_from_another_sharrd_says_so_when_its_name_is_missing(own_daemon):
    # The daemon restarted (a new id) without the volatile array: as on another host.
    data = pickle.dumps(sharr.create("gone", 3, socket=own_daemon.socket))
    own_daemon.proc.kill()
    own_daemon.proc.wait()
    own_daemon.start()
    with pytest.raises(FileNotFoundError) as e:
        pickle.loads(data)
    assert "'gone'" in str(e.value) and "is served by sharrd" in str(e.value)


def test_a_pickle_whose_daemon_stopped_says_it_cannot_connect_not_unlinked(own_daemon):
    data = pickle.dumps(sharr.create("kept", 3, socket=own_daemon.socket))
    assert own_daemon.stop()  # a clean stop removes the socket
    with pytest.raises(FileNotFoundError) as e:
        pickle.loads(data)
    assert "cannot connect to sharrd" in str(e.value) and "unlinked" not in str(e.value)
    assert e.value.filename == "kept"


def test_dask_seed_example_reduces_on_two_workers_zero_copy(sharr_socket):
    import subprocess
    import sys
    script = os.path.join(os.environ["SHARR_SOURCE_DIR"], "examples", "dask_seed.py")
    r = subprocess.run([sys.executable, script, "--rows", "20000"],
                       env=dict(os.environ, SHARR_SOCKET=sharr_socket),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "column sums equal rows * j: True" in r.stdout
    assert "(not its own: True)" in r.stdout


def _sum_and_hold(name, hold_s):
    # Touches every page of the shared array, so all of them count in this worker's
    # RSS, and keeps them mapped while the nanny measures (every 100 ms).
    import time
    a = sharr.memmap(name, mode="r")
    total = int(a.sum())
    time.sleep(hold_s)
    return total, os.getpid()


def test_a_worker_that_maps_a_large_shared_array_is_not_restarted_counting_private_memory(
        new_name):
    name = new_name()
    a = sharr.create(name, 512 << 20, np.uint8)
    a[::4096] = 1
    limits = {"distributed.scheduler.allowed-failures": 0}
    with dask.config.set(limits), \
            distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1,
                                     memory_limit="400MiB", dashboard_address=":0",
                                     env={"SHARR_SOCKET": os.environ["SHARR_SOCKET"]}) \
            as cluster, distributed.Client(cluster) as c:
        # Counted as RSS (distributed's default), the 512 MiB of shared pages exceed
        # the 400 MiB limit: the nanny kills the worker.
        with pytest.raises(distributed.KilledWorker):
            c.submit(_sum_and_hold, name, 120, pure=False).result()
        # Counted as private memory (the README's recipe), they do not.
        with dask.config.set({"sharr.worker-memory": "private"}):
            c.wait_for_workers(1)
            total, pid = c.submit(_sum_and_hold, name, 2, pure=False).result()
            assert total == a.size // 4096
            assert list(c.run(os.getpid).values()) == [pid]


def _status_file(path, rss_anon_kb=None):
    """This process's status, written to path without its RssAnon line (a kernel
    before 4.5) or with RssAnon rss_anon_kb; returns path."""
    with open("/proc/self/status") as f:
        lines = [line for line in f if not line.startswith("RssAnon:")]
    if rss_anon_kb is not None:
        lines.append(f"RssAnon:\t{rss_anon_kb} kB\n")
    path.write_text("".join(lines))
    return str(path)


def _measures_once_warned(measure):
    """[(value, warnings)] of two calls of measure()."""
    import warnings
    out = []
    for _ in range(2):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            value = measure()
        out.append((value, [str(x.message) for x in w if x.category is RuntimeWarning]))
    return out


def test_private_memory_without_rss_anon_in_proc_warns_once_and_measures_rss(
        tmp_path, monkeypatch, new_name):
    import distributed.worker_memory
    a = sharr.create(new_name(), 64 << 20, np.uint8)
    a[::4096] = 1  # 64 MiB of shared pages in this process's RSS
    # How a nanny measures its worker (distributed.worker_memory's psutil) and a
    # worker itself (its monitor, with sharr.dask preloaded): this process stands in.
    nanny = distributed.worker_memory.psutil.Process(os.getpid())
    with dask.config.set({"sharr.worker-memory": "private"}), \
            distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") \
            as cluster:
        [worker] = cluster.workers.values()
        for measure in (lambda: nanny.memory_info().rss, worker.monitor.get_process_memory):
            # Where the kernel tells RssAnon, that is the measure.
            with_anon = _status_file(tmp_path / "with", 7)
            monkeypatch.setattr(sharr._dask, "PROC_STATUS", with_anon)
            assert _measures_once_warned(measure) == [(7 << 10, [])] * 2
            # Where it does not: RSS, the shared pages included, and one warning
            # naming the setting and the file.
            without = _status_file(tmp_path / f"without-{len(os.listdir(tmp_path))}")
            monkeypatch.setattr(sharr._dask, "PROC_STATUS", without)
            (first, warned), (second, again) = _measures_once_warned(measure)
            assert first >= a.nbytes and second >= a.nbytes
            assert len(warned) == 1 and again == []
            assert "sharr.worker-memory" in warned[0] and without in warned[0]
            assert "no RssAnon" in warned[0]


# distributed's serializers alone, no cluster: the recipient is a handshake.

def _views(a):
    rec = np.dtype([("x", "<f4"), ("y", "<f4")])
    return {"negative strides": a[::-1, ::-2], "non-contiguous": a[:, 1::2],
            "0-d": a[1, 2, ...], "a field": a.view(rec)["y"], "records": a.view(rec),
            "transposed": a.T, "read-only": sharr.memmap(a.name, mode="r")[1:]}


def test_views_of_every_kind_go_by_name_to_their_daemon_and_as_equal_values_elsewhere(
        new_name):
    from distributed.protocol.serialize import deserialize, serialize
    a = sharr.create(new_name(), (4, 6), np.float32)
    a[:] = np.arange(24).reshape(4, 6)
    here = {"recipient": {sharr._dask.HANDSHAKE_KEY: a._sharr.server_id}}
    there = {"recipient": {sharr._dask.HANDSHAKE_KEY: a._sharr.server_id ^ 1}}
    for kind, v in _views(a).items():
        for context, by_name in ((here, True), (there, False)):
            for serializers in (["dask"], ["pickle"]):  # alone, and as in a task
                header, frames = serialize([v], serializers=serializers, context=context,
                                           on_error="raise")
                [back] = deserialize(header, frames)
                assert isinstance(back, sharr.memmap) == by_name, (kind, serializers)
                assert back.dtype == v.dtype and back.shape == v.shape, kind
                assert np.array_equal(np.asarray(back), np.asarray(v)), kind
                assert back.flags.writeable == v.flags.writeable, kind
                if by_name:
                    assert back.name == a.name and back.strides == v.strides


def test_a_name_recreated_between_sending_and_receiving_is_refused(new_name):
    from distributed.protocol.serialize import deserialize, serialize
    name = new_name()
    a = sharr.create(name, 8)
    here = {"recipient": {sharr._dask.HANDSHAKE_KEY: a._sharr.server_id}}
    header, frames = serialize(a[2:], context=here, on_error="raise")
    sharr.create(name, 8, overwrite=True)
    # distributed deserializes while it reads a message: what it gets stands in for
    # the array, and its first use raises the error.
    back = deserialize(header, frames)
    assert not isinstance(back, np.ndarray)
    with pytest.raises(ValueError) as e:
        back.sum()
    assert repr(name) in str(e.value) and "replaced" in str(e.value)


def test_what_stands_in_for_a_missing_array_raises_at_every_use_and_pickles_as_it(
        new_name):
    from distributed.protocol.serialize import deserialize, serialize
    name = new_name()
    a = sharr.create(name, (2, 3))
    here = {"recipient": {sharr._dask.HANDSHAKE_KEY: a._sharr.server_id}}
    header, frames = serialize(a[1:], context=here, on_error="raise")
    sharr.unlink(name)
    back = deserialize(header, frames)
    uses = {"attribute": lambda m: m.shape, "method": lambda m: m.sum(),
            "sharr's": lambda m: m.name,
            "index": lambda m: m[0], "assign": lambda m: m.__setitem__(0, 1),
            "len": len, "iter": list, "numpy": np.asarray, "ufunc": np.negative,
            "array function": np.sum, "arithmetic": lambda m: m + 1,
            "reflected": lambda m: 1 - m, "in place": lambda m: m.__iadd__(1),
            "float": float, "bool": bool, "compare": lambda m: m < 1,
            "equal": lambda m: m == 1, "not equal": lambda m: m != 1}
    for use, f in uses.items():
        with pytest.raises(FileNotFoundError) as e:
            f(back)
        assert repr(name) in str(e.value) and "unlinked" in str(e.value), use
        assert e.value.filename == name, use
    assert repr(name) in repr(back)
    # Unhashable, as an array is (dask's ishashable expects TypeError).
    with pytest.raises(TypeError, match="unhashable"):
        hash(back)
    # Protocol probes find nothing, as for any other object.
    assert not hasattr(back, "__dask_graph__") and not hasattr(back, "__cuda_array_interface__")
    assert getattr(back, "dask_key_name", None) is None
    # Pickled again it is the array's pickle: plain pickle raises, as for the array.
    with pytest.raises(FileNotFoundError, match=repr(name)):
        pickle.loads(pickle.dumps(back))
    sharr.create(name, (2, 3))[:] = 5
    with pytest.raises(ValueError, match="replaced"):
        pickle.loads(pickle.dumps(back))


def _add_one_in_place(b):
    b += 1
    return b


def test_a_read_only_and_a_writable_view_get_different_tokens_and_graphs(new_name):
    name = new_name()
    sharr.create(name, 8, np.int64)
    ro, rw = sharr.memmap(name, mode="r"), sharr.memmap(name, mode="r+")
    assert tokenize(ro) != tokenize(rw)
    frozen = rw[:4]
    frozen.flags.writeable = False
    assert tokenize(frozen) != tokenize(rw[:4])
    # Two graphs, one over each: merged in one compute, the read-only array must not
    # stand in for the writable one that a block writes into in place.
    x_ro, x_rw = da.from_array(ro, chunks=4), da.from_array(rw, chunks=4)
    assert x_ro.name != x_rw.name
    written, total = dask.compute(x_rw.map_blocks(_add_one_in_place), x_ro.sum(),
                                  scheduler="sync")
    assert written.tolist() == [1] * 8 and rw.tolist() == [1] * 8


def test_views_of_equal_geometry_share_a_token_and_other_record_fields_do_not(new_name):
    name = new_name()
    a = sharr.create(name, (6, 4), np.int64)
    assert tokenize(a[1:3, ::2]) == tokenize(sharr.memmap(name)[1:3, ::2])
    assert tokenize(a[1:3]) != tokenize(a[2:4]) != tokenize(a[:, ::2])
    assert tokenize(a.view(np.float64)) != tokenize(a)
    # Two record views of the same bytes differ by their fields' names, not by
    # dtype.str (both '|V8'): dask must not take one for the other.
    x = a.view([("x", "<i8")])
    y = a.view([("y", "<i8")])
    assert tokenize(x) != tokenize(y)


def test_to_sharr_refuses_an_existing_target_and_never_its_own_source(client, new_name):
    src, dst = new_name("src"), new_name("dst")
    a = sharr.create(src, 8, np.int64)
    a[:] = np.arange(8)
    sharr.create(dst, 3)
    x = sharr.dask.from_sharr(src, chunks=4) * 2
    with pytest.raises(FileExistsError):
        sharr.dask.to_sharr(x, dst)
    assert sharr.info(dst).shape == (3,)
    assert (sharr.dask.to_sharr(x, dst, overwrite=True) == np.arange(8) * 2).all()
    # Overwriting the array the graph reads would replace it before the workers read
    # it: refused before anything is created, and the source keeps its data.
    del a
    with pytest.raises(ValueError, match=repr(src)):
        sharr.dask.to_sharr(sharr.dask.from_sharr(src, chunks=4) + 1, src, overwrite=True)
    assert sharr.memmap(src).tolist() == list(range(8))
