#!/usr/bin/python3
"""The seed notebook (numpy.memmap for out-of-core work and sharing), run on sharr.

Each In[...] cell of the notebook appears below with sharr.memmap in place of
np.memmap: arrays are named, not files, and reopening one needs neither dtype nor
shape. Connects to $SHARR_SOCKET or the default socket; start `sharrd` first.

    PYTHONPATH=build/python /usr/bin/python3 examples/seed_walkthrough.py [--rows N]
"""

import argparse
import multiprocessing as mp
import os
import time

import numpy as np

import sharr


def engine(name, ready, done):
    """One 'engine' of the notebook: another process opening the same buffer."""
    big_mmap = sharr.memmap(name, dtype=np.float64, mode="r+")
    ready.set()
    done.wait()  # hold the attachment while the parent looks at who uses what
    del big_mmap


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="rows of the big array (default 1,000,000)")
    parser.add_argument("--engines", type=int, default=4,
                        help="processes that open the bigger array at once")
    args = parser.parse_args()
    prefix = f"seed-{os.getpid()}"

    # In [2]: create a memory-mapped array in write mode.
    nrows, ncols = args.rows, 100
    f = sharr.memmap(f"{prefix}.memmapped", dtype=np.float32, mode="w+",
                     shape=(nrows, ncols))

    # In [3]: feed it one column at a time, because memory is limited.
    for i in range(ncols):
        f[:, i] = np.random.rand(nrows)

    # In [4]: keep the last column.
    x = f[:, -1]

    # In [5]: drop the array (the daemon keeps it; the view x keeps its mapping).
    del f

    # In [8]: reopen it by name; dtype and shape come from the daemon.
    f = sharr.memmap(f"{prefix}.memmapped")
    print(f"reopened {f.name}: dtype={f.dtype}, shape={f.shape}")

    # In [9]
    print("np.array_equal(f[:, -1], x) ->", np.array_equal(f[:, -1], x))

    # In [10]
    del f, x

    # In [11]: a small array shared between two handles (or two processes).
    mm_w = sharr.memmap(f"{prefix}.small_test", shape=10, dtype=np.float32, mode="w+")
    print(mm_w)

    # In [12]: mode 'r+' opens the same shared memory read/write.
    mm_r = sharr.memmap(f"{prefix}.small_test", dtype=np.float32, mode="r+")
    print(mm_r)

    # In [13], [14]: a write through one handle is seen through the other.
    mm_w[0] = 42
    print(mm_w)
    print(mm_r)

    # In [15], [16]: and the other way round.
    mm_r[1] = 43
    print(mm_r)

    # In [17]: they behave like ordinary numpy arrays.
    print(mm_r.sum())
    print("sum={0}, mean={1}, std={2}".format(mm_r.sum(), np.mean(mm_r), np.std(mm_r)))

    # In [18]: a bigger array; the daemon reserves the space, nothing is copied.
    bigger = f"{prefix}.bigger_test"
    sharr.memmap(bigger, shape=10 * int(1e6), dtype=np.float64, mode="w+")

    # In [19]: open new references to the same buffer from all the engines at once.
    ctx = mp.get_context("spawn")
    ready = [ctx.Event() for _ in range(args.engines)]
    done = ctx.Event()
    engines = [ctx.Process(target=engine, args=(bigger, r, done)) for r in ready]
    start = time.perf_counter()
    for p in engines:
        p.start()
    for r in ready:
        r.wait()
    print(f"{args.engines} engines attached in {time.perf_counter() - start:.3f} s; "
          f"the daemon counts {sharr.info(bigger).nattached} attachments")

    # In [20]-[22]
    big_mmap = sharr.memmap(bigger, dtype=np.float64, mode="r+")
    print(repr(big_mmap))
    for _ in range(2):
        start = time.perf_counter()
        total = np.sum(big_mmap)
        print(f"np.sum(big_mmap) = {total} in {time.perf_counter() - start:.3f} s")

    # Who uses what: the daemon's view of these arrays.
    for info in sharr.list():
        if info.name.startswith(prefix):
            print(f"  {info.name}: {info.dtype} {info.shape}, {info.nbytes} bytes, "
                  f"{info.nattached} attached")
    done.set()
    for p in engines:
        p.join()

    del mm_w, mm_r, big_mmap
    for suffix in ("memmapped", "small_test", "bigger_test"):
        sharr.unlink(f"{prefix}.{suffix}")


if __name__ == "__main__":
    main()
