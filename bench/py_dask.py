"""py_dask.py — moving arrays through Dask distributed: sharr by name against numpy by value.

A LocalCluster of two worker processes (one thread each) on the same sharrd as this
client. In one run, interleaved round by round, each path with a sharr array and with
a private numpy array of the same shape and values: dask.array.from_array(x).sum()
with default chunks, client.scatter(x) and a task reading one element of it, and
gathering arrays that two workers made (sharr arrays made with sharr.create, numpy
arrays with np.full). Medians of the rounds.
"""

import statistics
import time

import numpy as np

import pyharness as H
import sharr
import dask.array as da
from distributed import Client, LocalCluster

NAME = "bench.py.dask"


def _first(x):
    return float(x.reshape(-1)[:1].sum())


def _make_sharr(name, n):
    a = sharr.create(name, n, np.float64, overwrite=True)
    a[:] = 1.0
    return a


def _make_numpy(name, n):
    return np.full(n, 1.0)


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    args = H.parse_args(__doc__)
    rounds = 2 if args.quick else 5
    rows = (1 << 20) if args.quick else (1 << 24)       # float64 x 8 columns
    parts = 8
    part_n = (rows * 8) // parts
    a = sharr.create(NAME, (rows, 8), np.float64, overwrite=True)
    a[:] = 1.0
    b = np.array(a)
    size = f"{a.nbytes / 2**20:.0f} MiB"
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        client.run(lambda: None)  # workers up before the first timing
        paths = {
            "from_array(x).sum()": lambda x: lambda: client.compute(
                da.from_array(x).sum()).result(),
            "scatter(x) + a task": lambda x: lambda: client.submit(
                _first, client.scatter(x, hash=False)).result(),
            f"gather {parts} arrays made by workers": lambda x: lambda: client.gather(
                client.map(_make_sharr if isinstance(x, sharr.memmap) else _make_numpy,
                           [f"{NAME}.{i}" for i in range(parts)], [part_n] * parts,
                           pure=False)),
        }
        times = {(p, k): [] for p in paths for k in ("sharr", "numpy")}
        for _ in range(rounds + 1):  # the first round warms up and is dropped
            for p, make in paths.items():
                for k, x in (("sharr", a), ("numpy", b)):
                    times[p, k].append(timed(make(x)))
    for i in range(parts):
        sharr.unlink(f"{NAME}.{i}")
    sharr.unlink(NAME)

    H.title("Python: Dask distributed, by name against by value (py_dask.py)")
    H.text(f"A {size} float64 array (gathered: {parts} arrays of {size} / {parts}); "
           f"LocalCluster(n_workers=2, processes=True), one thread each; median of "
           f"{rounds} rounds after one warm-up, sharr and numpy interleaved. Load "
           f"average: {H.loadavg()}.")
    H.columns("path", "sharr (by name) ms", "numpy (by value) ms", "numpy / sharr")
    for p in paths:
        s = statistics.median(times[p, "sharr"][1:]) * 1e3
        n = statistics.median(times[p, "numpy"][1:]) * 1e3
        H.row(p, f"{s:.1f}", f"{n:.1f}", f"{n / s:.1f}x")
    H.end()


if __name__ == "__main__":
    main()
