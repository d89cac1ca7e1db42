"""Shared arrays through worker pools: every start method, every executor.

Workers receive arrays and views by name (pickle), write into them in place, and the
parent sees every write without any copy coming back. Arrays returned or created by
workers reach the parent by name too.
"""

import concurrent.futures
import multiprocessing as mp

import joblib
import numpy as np
import pytest

import sharr
import workers
from conftest import HANG_GUARD_S

START_METHODS = ["fork", "spawn", "forkserver"]


def _column_blocks(a, width):
    return [(a[:, j:j + width], float(j)) for j in range(0, a.shape[1], width)]


def _expected_blocks(shape, width):
    cols = np.arange(shape[1]) // width * width
    return np.broadcast_to(cols.astype(np.float64), shape)


@pytest.mark.parametrize("method", START_METHODS)
def test_pool_fills_disjoint_column_blocks_in_place(new_name, method):
    a = sharr.memmap(new_name(), dtype=np.float64, mode="w+", shape=(1000, 64))
    ctx = mp.get_context(method)
    with ctx.Pool(2) as pool:
        pids = pool.starmap_async(workers.fill_columns,
                                  [(a, j, j + 8) for j in range(0, 64, 8)]).get(HANG_GUARD_S)
    assert all(pid != mp.current_process().pid for pid in pids)
    assert np.array_equal(a, np.broadcast_to(np.arange(64, dtype=np.float64), a.shape))


@pytest.mark.parametrize("method", START_METHODS)
def test_pool_writes_through_strided_views(new_name, method):
    a = sharr.memmap(new_name(), dtype=np.float64, mode="w+", shape=(300, 40))
    jobs = _column_blocks(a, 8)
    ctx = mp.get_context(method)
    with ctx.Pool(2) as pool:
        seen = pool.starmap_async(workers.fill, jobs).get(HANG_GUARD_S)
    assert np.array_equal(a, _expected_blocks(a.shape, 8))
    for (view, _), got in zip(jobs, seen):
        assert got["is_sharr"] and got["name"] == a.name
        assert got["shape"] == view.shape and got["strides"] == view.strides


def test_pickle_carries_the_socket_to_spawned_children(new_name, sharr_socket, monkeypatch):
    # Without $SHARR_SOCKET a child would look for a daemon elsewhere: only the
    # socket path inside the pickle leads it to this one.
    monkeypatch.delenv("SHARR_SOCKET")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert sharr.default_socket() != sharr_socket
    a = sharr.memmap(new_name(), dtype=np.int32, mode="w+", shape=(4, 10), socket=sharr_socket)
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        pool.starmap_async(workers.fill, [(a[1], 7), (a[3, ::2], 9)]).get(HANG_GUARD_S)
    assert a[1].tolist() == [7] * 10
    assert a[3].tolist() == [9, 0] * 5
    assert not a[[0, 2]].any()


def test_process_pool_executor_writes_through_views(new_name):
    a = sharr.memmap(new_name(), dtype=np.float64, mode="w+", shape=(200, 32))
    jobs = _column_blocks(a, 4)
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=2, mp_context=mp.get_context("spawn")) as ex:
        seen = list(ex.map(workers.fill, *zip(*jobs), timeout=HANG_GUARD_S))
    assert np.array_equal(a, _expected_blocks(a.shape, 4))
    assert all(s["is_sharr"] for s in seen)


@pytest.mark.parametrize("backend", ["loky", "multiprocessing"])
def test_joblib_passes_arrays_by_name_not_by_copy(new_name, backend):
    # 2 MB: above joblib's max_nbytes (1 MB), where it would dump a plain ndarray to
    # a read-only temporary memmap. A sharr array must reach workers as itself.
    a = sharr.memmap(new_name(), dtype=np.float64, mode="w+", shape=(1000, 256))
    jobs = _column_blocks(a, 32)
    seen = joblib.Parallel(n_jobs=2, backend=backend)(
        joblib.delayed(workers.fill)(view, value) for view, value in jobs)
    assert np.array_equal(a, _expected_blocks(a.shape, 32))
    assert all(s["is_sharr"] and s["name"] == a.name for s in seen)


def test_results_come_back_by_name(new_name):
    a = sharr.memmap(new_name(), dtype=np.int64, mode="w+", shape=(6, 5))
    made = new_name("made")
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        back = pool.apply_async(workers.identity, (a[2:5, 1:],)).get(HANG_GUARD_S)
        created = pool.apply_async(workers.make_array, (made, 1000)).get(HANG_GUARD_S)
    assert isinstance(back, sharr.memmap) and back.shape == (3, 4)
    back[0, 0] = 77
    assert a[2, 1] == 77
    assert isinstance(created, sharr.memmap) and created.name == made
    assert np.array_equal(created, np.arange(1000))


@pytest.mark.parametrize("method", START_METHODS)
def test_read_only_arrays_stay_read_only_in_workers(new_name, method):
    name = new_name()
    w = sharr.memmap(name, dtype=np.float32, mode="w+", shape=100)
    w[:] = 1
    r = sharr.memmap(name, mode="r")
    ctx = mp.get_context(method)
    with ctx.Pool(1) as pool:
        got = pool.apply_async(workers.describe, (r[10:],)).get(HANG_GUARD_S)
        with pytest.raises(ValueError, match="read-only"):
            pool.apply_async(workers.fill, (r[:5], 3)).get(HANG_GUARD_S)
    assert got == {"mode": "r", "writeable": False, "sum": 90.0}
    assert np.all(w == 1)
