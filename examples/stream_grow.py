#!/usr/bin/python3
"""A stream that grows in place: one process appends rows while others read and one watches.

The producer creates a volatile array with room to grow (max_len), then writes one
batch of rows at a time at its end and grows it by the next batch (sharr.grow);
after the last batch it publishes the array: complete and immutable. Readers attach
it as it is, refresh() to see the rows added since, and check every row against
what the producer writes. A watcher hears the array's life as events: created,
resized after each batch, published.

Which rows may a reader trust before the publish? The producer writes a batch and
only then grows the array past it, so every row below (length - batch) is final;
after the publish every row is. The grow (a request to sharrd, which rewrites the
header the reader's refresh reads) orders the producer's writes before the reader's
reads, with no lock or flag of the example's own.

Connects to $SHARR_SOCKET or the default socket; start `sharrd` first.

    PYTHONPATH=build/python /usr/bin/python3 examples/stream_grow.py [--batches N]
"""

import argparse
import multiprocessing as mp
import os
import sys
import time

import numpy as np

import sharr

COLS = 16
WAIT_S = 120  # how long a reader waits for the array to appear


def say(line):
    """Print line with one write(2): lines of several processes on one pipe do not
    run into each other."""
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), (line + "\n").encode())


def rows(lo, hi):
    """The rows lo..hi-1 the producer writes: row r holds r * COLS + 0..COLS-1."""
    return np.arange(lo * COLS, hi * COLS, dtype=np.int64).reshape(hi - lo, COLS)


def producer(name, batch, batches, persist):
    """Write batch rows, grow by the next batch, ...; publish after the last."""
    total = batch * batches
    a = sharr.create(name, (batch, COLS), np.int64, persist=persist, max_len=total)
    for i in range(batches):
        lo = i * batch
        a[lo:lo + batch] = rows(lo, lo + batch)   # the batch at the end
        if i + 1 < batches:
            sharr.grow(name, lo + 2 * batch)      # room for the next batch
            a = a.refresh()                       # the array over the new length
    a.flush()
    info = a.publish()
    say(f"producer: wrote {total} rows in {batches} batches, published "
          f"shape {info.shape}")


def reader(k, name, batch, total, results):
    """Follow the array until it is published, checking every row once it is final."""
    a = sharr.memmap(name, mode="r", wait=WAIT_S)
    checked, refreshes, bad = 0, 0, 0
    while True:
        # Published first, then refresh: the length seen after a publish is the last.
        done = sharr.info(name).published
        a = a.refresh()
        refreshes += 1
        final = a.shape[0] if done else max(a.shape[0] - batch, 0)
        if final > checked:
            if not np.array_equal(a[checked:final], rows(checked, final)):
                bad += 1
            checked = final
        if done:
            break
        time.sleep(0.001)
    ok = bad == 0 and checked == total
    say(f"reader {k}: checked {checked} rows over {refreshes} refreshes, "
          f"{'consistent' if ok else 'INCONSISTENT'}")
    results.put((k, ok))


def watcher(name, total, ready, results):
    """Print the array's events until it is published; check their order."""
    lengths = []
    with sharr.watch(name) as w:
        ready.set()
        kinds = []
        for ev in w:
            kinds.append(ev.kind)
            if ev.kind == "resized":
                lengths.append(ev.info.shape[0])
            if ev.kind in ("published", "removed", "overflow"):
                break
    ok = (kinds[0] == "created" and kinds[-1] == "published" and
          lengths == sorted(set(lengths)) and (not lengths or lengths[-1] == total))
    say(f"watcher: {kinds[0]}, {len(lengths)} x resized, {kinds[-1]}: "
          f"{'in order' if ok else 'OUT OF ORDER'}")
    results.put(("watcher", ok))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="batches (default 40)")
    parser.add_argument("--batch", type=int, default=2000,
                        help="rows per batch (default 2000)")
    parser.add_argument("--readers", type=int, default=3, help="reader processes (default 3)")
    parser.add_argument("--persist", action="store_true",
                        help="a persistent array (on disk) instead of a volatile one")
    args = parser.parse_args()
    name = f"stream-{os.getpid()}"
    total = args.batch * args.batches

    results = mp.Queue()
    ready = mp.Event()
    procs = [mp.Process(target=watcher, args=(name, total, ready, results))]
    procs[0].start()
    ready.wait(WAIT_S)            # subscribed before the array exists
    procs += [mp.Process(target=reader, args=(k, name, args.batch, total, results))
              for k in range(args.readers)]
    for p in procs[1:]:
        p.start()
    try:
        producer(name, args.batch, args.batches, args.persist)
        outcome = [results.get(timeout=WAIT_S) for _ in procs]
        for p in procs:
            p.join(WAIT_S)
    finally:
        sharr.unlink(name)
    failed = [who for who, ok in outcome if not ok]
    failed += [p.name for p in procs if p.exitcode != 0]
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
        return 1
    say("all readers saw consistent rows; the watcher saw created, resized, published")
    return 0


if __name__ == "__main__":
    sys.exit(main())
