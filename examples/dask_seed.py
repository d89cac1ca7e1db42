#!/usr/bin/python3
"""The seed's 1,000,000 x 100 float32 array reduced by a two-worker Dask cluster, zero-copy.

The client creates the array in sharrd and fills it; a LocalCluster of two worker
processes sums its columns through sharr.dask.from_sharr: the graph holds the array's
name, each chunk is a view of the shared pages in the worker that reduces it, and no
byte of the array is copied or sent. A worker then writes into the array and the
client sees it. Connects to $SHARR_SOCKET or the default socket; start `sharrd` first.

    PYTHONPATH=build/python /usr/bin/python3 examples/dask_seed.py [--rows N]
"""

import argparse
import os

import numpy as np

import sharr
import sharr.dask
from distributed import Client, LocalCluster


def mark(block):
    """In a worker: write the worker's pid into the block's first element."""
    block[0, 0] = os.getpid()
    return block.name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    name = f"seed-dask-{os.getpid()}"
    f = sharr.create(name, (args.rows, 100), np.float32)
    try:
        f[:] = np.arange(100, dtype=np.float32)  # column j holds j
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            x = sharr.dask.from_sharr(name, chunks=(max(1, args.rows // 8), 100))
            sums = client.compute(x.sum(axis=0)).result()
            print(f"column sums equal rows * j: "
                  f"{np.array_equal(sums, args.rows * np.arange(100))}")
            seen = client.submit(mark, f).result()
            print(f"a worker wrote into {seen!r}; the client sees pid {int(f[0, 0])} "
                  f"(not its own: {int(f[0, 0]) != os.getpid()})")
    finally:
        sharr.unlink(name)


if __name__ == "__main__":
    main()
