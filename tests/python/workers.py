"""Functions the tests run in other processes (pools, executors, joblib, Process).

They live in a plain module, not in a test file, so that spawn and forkserver
children can import them by name without importing pytest's test modules.
"""

import os

import numpy as np

import sharr


def fill(view, value):
    """Write value into a view the worker received by pickle; describe what arrived."""
    view[...] = value
    return {
        "pid": os.getpid(),
        "type": type(view).__name__,
        "is_sharr": isinstance(view, sharr.memmap),
        "shape": view.shape,
        "strides": view.strides,
        "name": view.name,
    }


def fill_columns(arr, j0, j1):
    """Write column numbers into columns j0..j1 of the whole array arr."""
    arr[:, j0:j1] = np.arange(j0, j1, dtype=arr.dtype)
    return os.getpid()


def identity(arr):
    """Send arr straight back: results travel by name too."""
    return arr


def make_array(name, n):
    """Create an array in the worker and return it to the parent by name."""
    a = sharr.memmap(name, dtype=np.int64, mode="w+", shape=n)
    a[:] = np.arange(n)
    return a


def describe(arr):
    """What a worker sees of a read-only or read/write array."""
    return {"mode": arr.mode, "writeable": bool(arr.flags.writeable),
            "sum": float(np.sum(arr))}


def engine(name, conn):
    """One engine of the seed notebook: attach by name, then obey the parent."""
    mm_r = sharr.memmap(name, dtype=np.float32, mode="r+")
    conn.send(("attached", mm_r.tolist()))
    while True:
        cmd = conn.recv()
        if cmd == "read":
            conn.send(mm_r.tolist())
        elif cmd == "write43":
            mm_r[1] = 43
            conn.send("done")
        elif cmd == "stats":
            conn.send((mm_r.sum(), np.mean(mm_r), np.std(mm_r)))
        elif cmd == "bye":
            # Dropping the array sends its release without waiting; a round trip on
            # this process's connection after it means the daemon has applied it
            # before the parent hears this engine is gone.
            del mm_r
            sharr.stats()
            conn.close()
            return


def big_engine(name, index, parties, barrier, results):
    """Attach the big array with no dtype/shape, sum it while all are attached, then
    write this engine's quarter."""
    big = sharr.memmap(name, mode="r+")
    barrier.wait()
    results.put((index, big.shape, big.dtype.str, float(np.sum(big))))
    barrier.wait()
    n = big.shape[0] // parties
    big[index * n:(index + 1) * n] = -(index + 1)
    # As in engine: the release is applied before this process ends.
    del big
    sharr.stats()


def record_attach(name):
    """Attach name with no dtype given, as another process does: report what came back
    (dtype description, shape, bytes), then copy record 1 over record 0."""
    a = sharr.memmap(name, mode="r+")
    seen = (a.dtype.descr, a.shape, a.tobytes())
    a[0] = a[1]
    a.flush()
    return seen
