"""py_dask_memory.py — a Dask worker that maps a large shared array under memory_limit.

A LocalCluster of one worker process whose memory_limit is half the array. The worker
attaches the array, sums it (every page resident in its RSS) and holds it a few
seconds while its nanny measures. Once with distributed's default measure (RSS) and
once with the README's recipe, dask.config "sharr.worker-memory": "private" (RssAnon);
with `distributed.scheduler.allowed-failures` 0, a worker the nanny restarts ends the
task with KilledWorker. Reports, for each, whether the worker was restarted, and its
RSS, RssShmem and RssAnon while it held the array. Not timed: counts and bytes.
"""

import os
import time

import dask
import numpy as np
from distributed import Client, KilledWorker, LocalCluster

import pyharness as H
import sharr

NAME = "bench.py.dask_memory"


def _status(pid="self"):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                fields[key] = int(value.split()[0]) << 10
    return fields


def _sum_and_hold(name, hold_s):
    a = sharr.memmap(name, mode="r")
    total = int(a.sum(dtype=np.uint64))
    seen = _status()
    time.sleep(hold_s)
    return total, os.getpid(), seen


def main():
    args = H.parse_args(__doc__)
    # The limit must sit well above a worker's own RSS (about 105 MiB: Python, numpy,
    # distributed), or the worker pauses at 80% before the task and never runs it.
    size = (1 << 30) if args.quick else (2 << 30)
    limit = size // 2
    a = sharr.create(NAME, size, np.uint8, overwrite=True)
    a[::4096] = 1
    want = size // 4096
    rows = []
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=1, processes=True, threads_per_worker=1,
                         memory_limit=limit, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        for measure in ("rss", "private"):
            with dask.config.set({"sharr.worker-memory": measure}):
                client.wait_for_workers(1)
                before = list(client.run(os.getpid).values())
                try:
                    total, pid, seen = client.submit(_sum_and_hold, NAME, 5,
                                                     pure=False).result(timeout=300)
                    outcome = "kept" if total == want and [pid] == before else "wrong"
                except KilledWorker:
                    outcome, seen = "restarted by its nanny", {}
                except TimeoutError:
                    outcome, seen = "no result in 300 s (worker paused?)", {}
                rows.append((measure, outcome, seen))
    sharr.unlink(NAME)

    H.title("Python: a Dask worker mapping a shared array under memory_limit "
            "(py_dask_memory.py)")
    H.text(f"A {size >> 20} MiB volatile sharr array; one worker process with "
           f"memory_limit {limit >> 20} MiB (the nanny restarts it above 95%) sums it "
           f"and holds it 5 s. Load average: {H.loadavg()}.")
    H.columns("sharr.worker-memory", "worker", "RSS MiB", "RssShmem MiB", "RssAnon MiB")
    for measure, outcome, seen in rows:
        mib = [f"{seen[k] >> 20}" if k in seen else "-" for k in ("VmRSS", "RssShmem",
                                                                    "RssAnon")]
        H.row(f'"{measure}"', outcome, *mib)
    H.end()


if __name__ == "__main__":
    main()
