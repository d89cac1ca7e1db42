"""populate=True: the whole mapping is prefaulted at attach or create (MAP_POPULATE).

What is mapped is read from /proc/self/smaps (Rss of the array's mapping), before
any element is touched: pages counted, not time.
"""

import numpy as np
import pytest

import sharr

NBYTES = 4 << 20


def _rss_kib(arr):
    """Rss (KiB) of the mapping that holds arr's data, from /proc/self/smaps."""
    addr = arr.__array_interface__["data"][0]
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= addr < hi
            elif inside and head == "Rss:":
                return int(line.split()[1])
    raise AssertionError(f"no mapping holds address {addr:#x}")


@pytest.fixture
def filled(new_name):
    """A 4 MiB array whose pages exist (written through another attachment)."""
    name = new_name()
    w = sharr.memmap(name, dtype="<u1", mode="w+", shape=(NBYTES,))
    w[:] = 1
    yield name
    del w


@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_populate_maps_every_page_at_attach(filled, mode):
    plain = sharr.memmap(filled, mode=mode)
    full = sharr.memmap(filled, mode=mode, populate=True)
    assert _rss_kib(plain) < 64
    assert _rss_kib(full) >= (NBYTES + 4096) // 1024
    assert int(full.sum()) == NBYTES


def test_populate_applies_to_open_and_to_a_checked_attach(filled):
    assert _rss_kib(sharr.open(filled, mode="r", populate=True)) >= NBYTES // 1024
    a = sharr.memmap(filled, dtype="<u1", mode="r", populate=True)
    assert _rss_kib(a) >= NBYTES // 1024


def test_populate_at_create_maps_the_new_array(new_name):
    a = sharr.memmap(new_name(), dtype="<f8", mode="w+", shape=(NBYTES // 8,), populate=True)
    b = sharr.create(new_name(), (NBYTES // 8,), populate=True)
    assert _rss_kib(a) >= NBYTES // 1024 and _rss_kib(b) >= NBYTES // 1024
    assert not a.any() and not b.any()
