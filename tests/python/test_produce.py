"""Producers and consumers in Python: publish (complete and immutable), opens that wait
for it, grow along the first axis and refresh to see the new rows, and the events a
watcher hears of both. Each is checked against what another process sees."""

import errno
import gc
import pickle
import subprocess
import sys

import numpy as np
import pytest

import sharr

from conftest import HANG_GUARD_S


def _expected(rows, cols=64):
    return np.arange(rows * cols, dtype=np.int64).reshape(rows, cols) * 7 + 3


def test_a_consumer_waiting_for_publish_sees_every_byte(new_name):
    name = new_name()
    rows = 4096
    # The consumer starts first and waits in its open for the array to be published.
    consumer = subprocess.Popen([sys.executable, "-c", f"""
import numpy as np, sharr
a = sharr.memmap({name!r}, mode="r", wait={HANG_GUARD_S}, published=True)
want = np.arange({rows} * 64, dtype=np.int64).reshape({rows}, 64) * 7 + 3
assert sharr.info({name!r}).published
assert a.shape == want.shape and a.dtype == want.dtype, (a.shape, a.dtype)
# every byte, as bytes: not only equal values
assert a.tobytes() == want.tobytes(), "the consumer saw data before it was complete"
print("verified", a.nbytes)
"""], stdout=subprocess.PIPE, text=True)
    a = sharr.memmap(name, dtype=np.int64, mode="w+", shape=(rows, 64))
    want = _expected(rows)
    for start in range(0, rows, 512):   # written in batches, published at the end
        a[start:start + 512] = want[start:start + 512]
    assert not sharr.info(name).published
    info = a.publish()
    assert info.published and info.name == name
    out, _ = consumer.communicate(timeout=HANG_GUARD_S)
    assert consumer.returncode == 0, out
    assert out.split() == ["verified", str(rows * 64 * 8)]


def test_r_plus_is_refused_after_publish_and_r_and_c_still_attach(new_name):
    name = new_name()
    a = sharr.create(name, (3, 4), np.float32)
    a[:] = 1.5
    sharr.publish(name)
    with pytest.raises(PermissionError, match="published") as e:
        sharr.memmap(name, mode="r+")
    assert e.value.errno == errno.EROFS
    with pytest.raises(PermissionError, match="published"):
        sharr.open(name, "r+")
    r = sharr.memmap(name, mode="r")
    assert np.all(r == 1.5) and not r.flags.writeable
    c = sharr.memmap(name, mode="c")
    c[0, 0] = 9              # private pages only
    assert r[0, 0] == 1.5
    with pytest.raises(PermissionError, match="published"):
        sharr.grow(name, 5)
    # publishing again is no error; the producer's own mapping keeps writing
    assert sharr.publish(name).published


def test_an_open_for_a_published_array_that_is_not_published_yet(new_name):
    name = new_name()
    sharr.create(name, 4, np.int8)
    with pytest.raises(BlockingIOError, match="not published"):
        sharr.memmap(name, mode="r", published=True)
    with pytest.raises(TimeoutError):
        sharr.open(name, "r", wait=0.05, published=True)
    sharr.publish(name)
    assert sharr.open(name, "r", published=True).shape == (4,)


def test_publish_of_an_array_whose_name_now_names_another_publishes_neither(new_name):
    # publish() goes by name: the array this mapping shows, unlinked and its name
    # taken by a half-written array, must not publish the newcomer to the consumers
    # waiting for that name.
    name = new_name()
    old = sharr.create(name, 4, np.int8)
    sharr.unlink(name)
    new = sharr.create(name, 4, np.int8)
    with pytest.raises(FileNotFoundError, match="another array"):
        old.publish()
    assert not sharr.info(name).published
    with pytest.raises(BlockingIOError, match="not published"):
        sharr.memmap(name, mode="r", published=True)
    # overwritten in place (w+) the same holds; the newcomer's own mapping publishes it
    newer = sharr.memmap(name, dtype=np.int8, mode="w+", shape=4)
    with pytest.raises(FileNotFoundError, match="another array"):
        new.publish()
    assert not sharr.info(name).published
    assert newer.publish().published


def test_pickle_of_a_writable_array_after_publish_unpickles_read_only(new_name):
    name = new_name()
    a = sharr.memmap(name, dtype=np.int16, mode="w+", shape=6)
    a[:] = np.arange(6)
    a.publish()
    b = pickle.loads(pickle.dumps(a[2:]))
    assert b.mode == "r" and not b.flags.writeable
    assert b.tolist() == [2, 3, 4, 5]


def test_create_and_memmap_take_max_len(new_name):
    n1, n2 = new_name(), new_name()
    a = sharr.create(n1, (2, 5), np.uint8, max_len=100)
    assert a.shape == (2, 5) and sharr.info(n1).max_len == 100
    sharr.memmap(n2, dtype=np.uint8, mode="w+", shape=(3, 2), max_len=50)
    assert sharr.info(n2).max_len == 50
    with pytest.raises(OSError) as e:
        sharr.grow(n1, 101)
    assert e.value.errno == errno.EFBIG
    with pytest.raises(ValueError, match="max_len"):
        sharr.memmap(n1, mode="r", max_len=5)


def test_grow_then_refresh_sees_the_new_rows_and_old_views_keep_working(new_name):
    name = new_name()
    a = sharr.create(name, (4, 3), np.int32, max_len=64)
    a[:] = 1
    b = sharr.memmap(name, mode="r")
    head = a[1:3]                 # a view of the old length
    info = sharr.grow(name, 10)
    assert info.shape == (10, 3)
    assert a.shape == (4, 3)      # numpy arrays never change shape in place
    a2 = a.refresh()
    assert a2.shape == (10, 3) and a2.name == name and a2.mode == "w+"
    assert a2[4:].tolist() == [[0] * 3] * 6      # the new rows, zero-filled
    a2[4:] = np.arange(18).reshape(6, 3)
    a[0] = 5                      # the old array writes the same memory
    head[0] = 6
    assert a2[0].tolist() == [5] * 3 and a2[1].tolist() == [6] * 3
    # another process's attach sees the new rows after its own refresh
    out = subprocess.run([sys.executable, "-c", f"""
import sharr
print(sharr.memmap({name!r}, mode="r")[9].tolist())
"""], capture_output=True, text=True, timeout=HANG_GUARD_S, check=True).stdout
    assert out.strip() == "[15, 16, 17]"
    assert b.shape == (4, 3)
    b2 = b.refresh()
    assert b2.shape == (10, 3) and not b2.flags.writeable
    assert np.array_equal(b2, a2)
    # nothing grew: the same array back
    assert b2.refresh() is b2
    # a view refreshes to the whole array
    assert b2[3:5].refresh().shape == (10, 3)


def test_dropping_the_old_array_keeps_the_refreshed_one_mapped(new_name):
    name = new_name()
    a = sharr.create(name, (2, 4096), np.uint8, max_len=8)
    sharr.grow(name, 8)
    a2 = a.refresh()
    del a
    gc.collect()
    a2[:] = 7                     # the handle stays open while a2 lives
    assert int(a2.sum()) == 7 * 8 * 4096
    assert sharr.info(name).nattached == 1
    del a2
    gc.collect()
    assert sharr.info(name).nattached == 0


def test_a_persistent_array_grows_and_refreshes(new_name):
    name = new_name()
    a = sharr.create(name, (3, 2), np.float64, persist=True)
    a[:] = 2.0
    sharr.grow(name, 1000)
    a2 = a.refresh()
    assert a2.shape == (1000, 2) and a2.filename == a.filename
    a2[999] = 4.0
    a2.flush()
    on_disk = np.load(a2.filename, mmap_mode="r")
    assert on_disk.shape == (1000, 2) and on_disk[999].tolist() == [4.0, 4.0]
    assert on_disk[:3].tolist() == [[2.0, 2.0]] * 3


def test_refresh_of_a_copy_is_refused(new_name):
    a = sharr.create(new_name(), 4, np.int8)
    with pytest.raises(ValueError, match="no attachment"):
        (a + 1).view(sharr.memmap).refresh()


def test_grow_and_refresh_without_the_extension():
    # The ctypes fallback shares one handle between the old and the new mapping too.
    script = """
import sys
sys.modules['sharr._cattach'] = None  # import fails, as when not built
import gc, numpy as np, os, sharr
from sharr import _attachment
assert not _attachment.NATIVE
name = f"fallback-grow-{os.getpid()}"
a = sharr.create(name, (2, 3), np.int16, max_len=6)
a[:] = 1
sharr.grow(name, 6)
a2 = a.refresh()
del a
gc.collect()
a2[2:] = 2
print(a2.shape, int(a2.sum()), sharr.info(name).nattached, a2.refresh() is a2)
del a2
gc.collect()
print(sharr.info(name).nattached)
sharr.unlink(name)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=HANG_GUARD_S)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["(6, 3) 30 1 True", "0"]


def test_a_watcher_in_another_process_hears_resized_and_published(new_name):
    name = new_name()
    watcher = subprocess.Popen([sys.executable, "-c", f"""
import sharr
with sharr.watch({name!r}) as w:
    print("ready", flush=True)
    for ev in w:
        print(ev.kind, ev.info.shape[0], ev.info.published, flush=True)
        if ev.kind == "published":
            break
"""], stdout=subprocess.PIPE, text=True)
    assert watcher.stdout.readline().strip() == "ready"
    a = sharr.create(name, (2, 2), np.float32, max_len=9)
    sharr.grow(name, 5)
    a = a.refresh()
    a.publish()
    out, _ = watcher.communicate(timeout=HANG_GUARD_S)
    assert watcher.returncode == 0
    assert out.splitlines() == ["created 2 False", "resized 5 False", "published 5 True"]


@pytest.mark.parametrize("kind", [[], ["--persist"]], ids=["volatile", "persistent"])
def test_the_stream_example_readers_see_consistent_rows(kind):
    # examples/stream_grow.py: a producer appends batches (grow, write, publish at the
    # end) while readers refresh and check every final row, and a watcher follows.
    import os
    script = os.path.join(os.environ["SHARR_SOURCE_DIR"], "examples", "stream_grow.py")
    run = subprocess.run([sys.executable, script, "--batches", "25", "--batch", "500",
                          "--readers", "3"] + kind,
                         capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    readers = [line for line in lines if line.startswith("reader ")]
    assert len(readers) == 3
    assert all("checked 12500 rows" in line and line.endswith(", consistent")
               for line in readers), readers
    assert "watcher: created, 24 x resized, published: in order" in lines
    assert "producer: wrote 12500 rows in 25 batches, published shape (12500, 16)" in lines
