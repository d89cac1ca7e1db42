"""The seed notebook's three scenes, with sharr names instead of files.

1. A 1,000,000 x 100 float32 array filled column by column, the last column kept,
   the array closed and reopened by name with no dtype or shape.
2. Two engines on a 10-element array: 42 and 43 written and seen both ways, and
   sum, mean and std agreeing.
3. A 10,000,000-element float64 array opened by four processes at once.
"""

import multiprocessing as mp

import numpy as np

import sharr
import workers
from conftest import HANG_GUARD_S


def test_seed_array_filled_by_columns_reopens_by_name_alone(new_name):
    nrows, ncols = 1_000_000, 100
    name = new_name()
    f = sharr.memmap(name, dtype=np.float32, mode="w+", shape=(nrows, ncols))
    rng = np.random.default_rng(12345)
    col_sums = np.empty(ncols)
    for i in range(ncols):
        col = rng.random(nrows, dtype=np.float32)
        f[:, i] = col
        col_sums[i] = col.sum(dtype=np.float64)
    x = f[:, -1]
    kept = np.array(x)
    assert isinstance(x, sharr.memmap) and x.name == name
    f.close()
    del f
    assert sharr.info(name).nattached == 1  # x still maps it

    f = sharr.memmap(name)
    assert f.dtype == np.float32
    assert f.shape == (nrows, ncols)
    assert np.array_equal(f[:, -1], x)
    assert np.array_equal(f[:, -1], kept)
    np.testing.assert_allclose(f.sum(axis=0, dtype=np.float64), col_sums, rtol=1e-9)
    del f, x
    assert sharr.info(name).nattached == 0


def test_engines_see_each_others_writes_and_agree_on_stats(new_name):
    name = new_name()
    mm_w = sharr.memmap(name, shape=10, dtype=np.float32, mode="w+")
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    p = ctx.Process(target=workers.engine, args=(name, there), daemon=True)
    p.start()
    there.close()
    try:
        assert here.recv() == ("attached", [0.0] * 10)
        assert sharr.info(name).nattached == 2

        mm_w[0] = 42
        here.send("read")
        assert here.recv() == [42.0] + [0.0] * 9

        here.send("write43")
        assert here.recv() == "done"
        assert mm_w[1] == 43
        assert mm_w.tolist() == [42.0, 43.0] + [0.0] * 8

        here.send("stats")
        their_sum, their_mean, their_std = here.recv()
        assert (their_sum, their_mean, their_std) == (mm_w.sum(), np.mean(mm_w), np.std(mm_w))
        assert their_sum == 85.0
        here.send("bye")
        p.join(HANG_GUARD_S)
        assert p.exitcode == 0
    finally:
        if p.is_alive():
            p.kill()
    assert sharr.info(name).nattached == 1


def test_bigger_array_opened_by_four_processes_at_once(new_name):
    name = new_name()
    n, parties = 10 * int(1e6), 4
    big = sharr.memmap(name, shape=n, dtype=np.float64, mode="w+")
    big[:] = np.arange(n, dtype=np.float64)
    expected_sum = float(np.sum(big))

    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(parties + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=workers.big_engine, args=(name, i, parties, barrier, results),
                         daemon=True) for i in range(parties)]
    for p in procs:
        p.start()
    try:
        barrier.wait(HANG_GUARD_S)  # every engine is attached now
        assert sharr.info(name).nattached == parties + 1
        seen = sorted(results.get(timeout=HANG_GUARD_S) for _ in range(parties))
        assert seen == [(i, (n,), "<f8", expected_sum) for i in range(parties)]
        barrier.wait(HANG_GUARD_S)
        for p in procs:
            p.join(HANG_GUARD_S)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
    quarter = n // parties
    for i in range(parties):
        assert np.all(big[i * quarter:(i + 1) * quarter] == -(i + 1))
    assert sharr.info(name).nattached == 1
