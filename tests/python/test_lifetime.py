"""When an attachment ends: close() with views alive, unlink while mapped, plain views.

The rule under test: memory a numpy object can reach stays mapped; the daemon's
attachment (nattached) ends exactly when the last array or view of it is garbage.
"""

import gc

import numpy as np
import pytest

import sharr


def _attached(name):
    gc.collect()
    return sharr.info(name).nattached


def test_close_keeps_views_valid_and_releases_with_the_last_one(new_name):
    name = new_name()
    a = sharr.memmap(name, dtype=np.int64, mode="w+", shape=(100, 100))
    v = a[10:20, ::7]
    a.close()
    a.close()  # idempotent
    v[:] = 5
    assert np.all(a[10:20, ::7] == 5)
    with pytest.raises(ValueError, match="closed"):
        a.flush()
    with pytest.raises(ValueError, match="closed"):
        v.flush()
    assert _attached(name) == 1
    del a
    assert _attached(name) == 1
    assert int(v.sum()) == 5 * v.size
    del v
    assert _attached(name) == 0


def test_plain_ndarray_views_keep_the_mapping_alive(new_name):
    name = new_name()
    a = sharr.memmap(name, dtype=np.float32, mode="w+", shape=1000)
    a[:] = 2
    plain = np.asarray(a)[500:].view(np.ndarray)
    assert type(plain) is np.ndarray
    del a
    assert _attached(name) == 1
    assert float(plain.sum()) == 1000.0
    del plain
    assert _attached(name) == 0


def test_every_attachment_is_released_when_its_arrays_are_gone(new_name):
    name = new_name()
    arrays = [sharr.memmap(name, dtype=np.uint8, mode="w+", shape=10)]
    arrays += [sharr.memmap(name, mode=m) for m in ("r", "r+", "c", "r+")]
    assert _attached(name) == 5
    views = [x[::2] for x in arrays]
    del arrays
    assert _attached(name) == 5
    del views
    assert _attached(name) == 0


def test_unlinked_array_stays_usable_by_those_who_hold_it(new_name):
    name = new_name()
    a = sharr.memmap(name, dtype=np.int32, mode="w+", shape=(64, 64))
    a[:] = 3
    sharr.unlink(name)
    with pytest.raises(FileNotFoundError):
        sharr.info(name)
    with pytest.raises(FileNotFoundError):
        sharr.memmap(name)
    a[0, 0] = 4
    assert int(a.sum()) == 3 * 64 * 64 + 1
    a.flush()


def test_mismatch_on_attach_releases_the_attachment_at_once(new_name):
    name = new_name()
    a = sharr.memmap(name, dtype=np.int16, mode="w+", shape=(4, 4))
    with pytest.raises(ValueError, match="shape"):
        sharr.memmap(name, shape=(16,))
    assert _attached(name) == 1
    del a
