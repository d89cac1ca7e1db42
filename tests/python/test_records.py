"""Record (structured) dtypes: created, written, attached by name in another process
with no dtype given, loaded from the persistent .npy by numpy.load.

numpy is the control throughout: each dtype also goes through np.save/np.load, whose
dtype is what an attach must rebuild (numpy.load's is the one a .npy can carry: an
aligned struct comes back with its padding explicit, as from numpy.load), and the
values are those np.memmap holds after the same writes.
"""

import io
import json
import multiprocessing as mp
import os
import pickle
import re
import subprocess

import numpy as np
import numpy.lib.format
import pytest

import sharr

import workers

DTYPES = {
    "plain": [("x", "<f4"), ("y", "<i8")],
    "one_field": [("x", "<f4")],
    "aligned": np.dtype([("x", "<f4"), ("y", "<i8"), ("c", "u1")], align=True),
    "nested_subarray": [("p", [("a", "<i4"), ("b", "u1", (2, 3))]), ("s", "S5"),
                        ("v", ">f8", (2,))],
    "offsets": np.dtype({"names": ["a", "b"], "formats": ["<i4", "<f8"],
                         "offsets": [0, 8], "itemsize": 24}),
    "times_text": [("t", "<M8[ns]"), ("u", "<U3"), ("ok", "?"), ("z", "<c16")],
    "records_in_subarray": [("r", [("x", "<f2"), ("y", "<u2")], (3,))],
}


def numpy_loaded(dtype):
    """The dtype np.load gives back for an array of dtype that np.save wrote."""
    buf = io.BytesIO()
    np.save(buf, np.zeros(1, dtype))
    buf.seek(0)
    return np.load(buf).dtype


def filled(dtype, n):
    """n records with every byte of every field set from a counter (padding included)."""
    raw = (np.arange(n * np.dtype(dtype).itemsize) * 7 % 251).astype(np.uint8)
    return raw.view(dtype).copy()


@pytest.mark.parametrize("kind", sorted(DTYPES))
def test_record_created_and_attached_elsewhere_with_no_dtype(new_name, tmp_path, kind):
    dtype = np.dtype(DTYPES[kind])
    control = np.memmap(tmp_path / "control", dtype=dtype, mode="w+", shape=(4,))
    name = new_name()
    a = sharr.memmap(name, dtype=dtype, mode="w+", shape=(4,))
    assert a.dtype == dtype and a.shape == (4,)
    for arr in (control, a):
        arr[...] = filled(dtype, 4)
        first = dtype.names[0]
        arr[first][2] = arr[first][3]
    assert a.tobytes() == control.tobytes()

    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        descr, shape, data = pool.apply(workers.record_attach, (name,))
    assert np.dtype(numpy.lib.format.descr_to_dtype(descr)) == numpy_loaded(dtype)
    assert descr == numpy_loaded(dtype).descr
    assert shape == (4,)
    assert data == control.tobytes()
    control[0] = control[1]
    assert a.tobytes() == control.tobytes()
    assert sharr.memmap(name, mode="r").dtype == numpy_loaded(dtype)
    assert sharr.info(name).dtype == numpy_loaded(dtype)


@pytest.mark.parametrize("kind", sorted(DTYPES))
def test_persistent_record_loads_with_numpy_load(new_name, kind):
    dtype = np.dtype(DTYPES[kind])
    name = new_name()
    a = sharr.memmap(name, dtype=dtype, mode="w+", shape=(2, 3), persist=True)
    a[...] = filled(dtype, 6).reshape(2, 3)
    a.flush()
    for mmap_mode in (None, "r"):
        loaded = np.load(a.filename, mmap_mode=mmap_mode)
        assert loaded.dtype == numpy_loaded(dtype)
        assert loaded.shape == (2, 3)
        assert loaded.tobytes() == a.tobytes()
    with open(a.filename, "rb") as f:
        assert numpy.lib.format.read_magic(f) == (1, 0)
        header = numpy.lib.format.read_array_header_1_0(f)
        assert header[2] == numpy_loaded(dtype)
        assert f.tell() == 4096


def test_info_and_cli_show_numpys_notation(new_name, sharr_socket):
    dtype = np.dtype(DTYPES["nested_subarray"])
    name = new_name()
    sharr.memmap(name, dtype=dtype, mode="w+", shape=5)
    descr = repr(numpy.lib.format.dtype_to_descr(dtype))
    assert sharr.info(name).dtype == dtype
    assert [i.dtype for i in sharr.list() if i.name == name] == [dtype]
    cli = os.path.join(os.environ["SHARR_BUILD_DIR"], "cli", "sharr")
    out = subprocess.run([cli, "info", name, "--json"], check=True, capture_output=True,
                         text=True).stdout
    got = json.loads(out)
    assert got["descr"] == descr
    assert got["dtype"] == f"|V{dtype.itemsize}"  # what a reader that knows no records sees
    out = subprocess.run([cli, "info", name], check=True, capture_output=True,
                         text=True).stdout
    assert re.search(r"^dtype +" + re.escape(descr) + "$", out, re.M), out


def test_fields_views_and_pickles_by_name(new_name):
    dtype = np.dtype([("x", "<f4"), ("y", "<i8")])
    name = new_name()
    a = sharr.memmap(name, dtype=dtype, mode="w+", shape=(3,))
    a["x"] = [1.5, 2.5, 3.5]
    a["y"][1] = 7
    b = sharr.memmap(name, mode="r+")
    np.testing.assert_array_equal(b["x"], [1.5, 2.5, 3.5])
    b["y"] += 1
    np.testing.assert_array_equal(a["y"], [1, 8, 1])
    assert np.shares_memory(a["x"], a)
    # the dtype the caller names is checked, as for any attach
    assert sharr.memmap(name, dtype=dtype, mode="r").shape == (3,)
    with pytest.raises(ValueError, match="dtype"):
        sharr.memmap(name, dtype=[("x", "<f4"), ("z", "<i8")], mode="r")
    # a pickle is a reference to the name; field views too
    c = pickle.loads(pickle.dumps(a))
    c["x"][0] = 9
    assert a["x"][0] == 9
    x = pickle.loads(pickle.dumps(a["x"]))
    x[2] = -1
    assert a["x"][2] == -1
    # a single-field record is a record, not its field's type
    one = sharr.memmap(new_name(), dtype=[("x", "<f4")], mode="w+", shape=2)
    assert sharr.memmap(one.name, mode="r").dtype.names == ("x",)


def test_records_in_a_subarray_dtype_fold_into_the_shape_as_numpy_folds_them(new_name,
                                                                             tmp_path):
    dtype = np.dtype(([("x", "<f4")], (3,)))
    control = np.memmap(tmp_path / "c", dtype=dtype, mode="w+", shape=2)
    a = sharr.memmap(new_name(), dtype=dtype, mode="w+", shape=2)
    assert (a.dtype, a.shape) == (control.dtype, control.shape) == (np.dtype([("x", "<f4")]),
                                                                     (2, 3))


@pytest.mark.parametrize("dtype, why", [
    ([("x", "<f4"), ("o", object)], "objects"),
    (np.dtype({"names": ["a", "b"], "formats": ["<i4", "<i4"], "offsets": [4, 0]}),
     "overlapping or out-of-order"),
    (np.dtype({"names": ["a", "b"], "formats": ["<i4", "<i4"], "offsets": [0, 2]}),
     "overlapping or out-of-order"),
    ([(("title", "x"), "<f4")], "titles"),
    ([("caf\u00e9", "<f4")], "ASCII"),
    (np.dtype([("a", "<f4")] * 0 + [("a" * 3600, "u1")]), "longer than"),
])
def test_records_sharr_cannot_hold_are_refused_and_nothing_is_created(new_name, dtype, why):
    name = new_name()
    with pytest.raises(ValueError, match=why):
        sharr.memmap(name, dtype=dtype, mode="w+", shape=2)
    with pytest.raises(FileNotFoundError):
        sharr.info(name)


def test_records_nested_deeper_than_the_limit_are_refused(new_name):
    dtype = np.dtype("<f4")
    for _ in range(8):
        dtype = np.dtype([("a", dtype)])
    sharr.memmap(new_name(), dtype=dtype, mode="w+", shape=1)
    name = new_name()
    with pytest.raises(ValueError, match="nested more than 8"):
        sharr.memmap(name, dtype=[("a", dtype)], mode="w+", shape=1)
