"""sharr.info, sharr.list, sharr.stats, sharr.unlink: what the daemon knows by name."""

import os

import numpy as np
import pytest

import sharr
from sharr import _catalog


def test_info_describes_an_array(new_name):
    name = new_name()
    a = sharr.create(name, (6, 7), np.float32, order="F", perm=0o640)
    i = sharr.info(name)
    assert isinstance(i, sharr.ArrayInfo)
    assert (i.name, i.dtype, i.shape, i.order) == (name, np.dtype("<f4"), (6, 7), "F")
    assert (i.nbytes, i.offset, i.persist, i.perm) == (6 * 7 * 4, 4096, False, 0o640)
    assert (i.uid, i.gid) == (os.geteuid(), os.getegid())
    assert i.path is None and i.nattached == 1 and i.ctime_ns > 0
    assert a._sharr.info.ctime_ns == i.ctime_ns


def _small_array_page_size():
    """The page size sharrd gives a small volatile array: whole huge pages only where
    shmem_enabled=always (or force) makes the kernel give them to every memfd."""
    thp = "/sys/kernel/mm/transparent_hugepage/"
    try:
        with open(thp + "shmem_enabled") as f:
            mode = f.read()
        with open(thp + "hpage_pmd_size") as f:
            pmd = int(f.read())
    except OSError:
        return os.sysconf("SC_PAGESIZE")
    return pmd if "[always]" in mode or "[force]" in mode else os.sysconf("SC_PAGESIZE")


def test_info_reports_the_page_size_of_volatile_arrays_only(new_name):
    v, p = new_name("v"), new_name("p")
    sharr.create(v, 10, np.float32)
    sharr.create(p, 10, np.float32, persist=True)
    assert sharr.info(v).page_size == _small_array_page_size()
    assert sharr.info(p).page_size == 0
    assert {i.name: i.page_size for i in sharr.list()}[v] == _small_array_page_size()


def test_default_permission_is_owner_only(new_name):
    name = new_name()
    sharr.create(name, 1)
    assert sharr.info(name).perm == 0o600


def test_list_is_sorted_and_complete_across_pages(new_name, monkeypatch):
    names = [new_name(tag) for tag in ("c", "a", "b", "e", "d")]
    for n in names:
        sharr.create(n, 2, np.int8)
    whole = [i.name for i in sharr.list()]
    assert whole == sorted(whole)
    assert set(names) <= set(whole)
    monkeypatch.setattr(_catalog, "_PAGE", 2)
    assert [i.name for i in sharr.list()] == whole


def test_unlink_removes_the_name_from_list_and_info(new_name):
    name = new_name()
    sharr.create(name, 2)
    sharr.unlink(name)
    assert name not in [i.name for i in sharr.list()]
    with pytest.raises(FileNotFoundError):
        sharr.unlink(name)


def test_stats_count_arrays_bytes_and_attachments(own_daemon):
    # A daemon of its own: the session's one also counts other tests' workers.
    sock = own_daemon.socket
    a = sharr.create("v", (1000,), np.float64, socket=sock)
    b = sharr.create("p", (10,), np.int8, persist=True, socket=sock)
    r = sharr.open("p", "r", socket=sock)
    s = sharr.stats(socket=sock)
    assert isinstance(s, sharr.Stats)
    assert s.pid == own_daemon.proc.pid
    assert (s.arrays, s.arrays_volatile, s.arrays_persistent) == (2, 1, 1)
    assert (s.bytes, s.bytes_volatile, s.bytes_persistent) == (8010, 8000, 10)
    assert (s.connections, s.attachments) == (1, 3)
    assert s.uptime_ms >= 0
    assert s.arrays_damaged == 0
    del a, b, r
    assert sharr.stats(socket=sock).attachments == 0
