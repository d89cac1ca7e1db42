"""sharr.memmap as numpy.memmap: modes, checks on attach, attributes, numpy results.

Each mode is checked against what the kernel enforces (read-only memory, private
copy-on-write pages), not only against flags Python sets.
"""

import numpy as np
import pytest

import sharr


def test_create_needs_a_shape_and_takes_an_int_shape(new_name):
    name = new_name()
    with pytest.raises(ValueError, match="needs a shape"):
        sharr.memmap(name, dtype=np.int8, mode="w+")
    a = sharr.memmap(name, dtype=np.int8, mode="w+", shape=np.int64(10))
    assert a.shape == (10,) and a.dtype == np.int8
    assert not a.any()


def test_create_mode_replaces_an_existing_array(new_name):
    name = new_name()
    old = sharr.memmap(name, dtype=np.int8, mode="w+", shape=10)
    old[:] = 1
    new = sharr.memmap(name, dtype=np.float64, mode="w+", shape=(3, 3))
    assert new.shape == (3, 3) and not new.any()
    assert sharr.memmap(name).dtype == np.float64
    assert np.all(old == 1)  # the replaced array stays mapped for its holder


def test_attach_takes_dtype_shape_and_order_from_the_daemon(new_name):
    name = new_name()
    a = sharr.memmap(name, dtype=">i4", mode="w+", shape=(3, 5), order="F")
    a[:] = np.arange(15).reshape(3, 5)
    b = sharr.memmap(name)
    assert b.dtype == np.dtype(">i4") and b.shape == (3, 5)
    assert b.flags.f_contiguous and not b.flags.c_contiguous
    assert np.array_equal(a, b)
    assert np.array_equal(sharr.memmap(name, dtype=">i4", shape=(3, 5), order="F"), a)


@pytest.mark.parametrize("given, why", [
    ({"dtype": np.int32}, "dtype"),
    ({"shape": (5, 3)}, "shape"),
    ({"shape": 15}, "shape"),
    ({"order": "C"}, "order"),
])
def test_attach_rejects_a_different_dtype_shape_or_order(new_name, given, why):
    name = new_name()
    sharr.memmap(name, dtype=">i4", mode="w+", shape=(3, 5), order="F")
    with pytest.raises(ValueError, match=why):
        sharr.memmap(name, mode="r+", **given)


def test_order_does_not_matter_for_one_dimension(new_name):
    name = new_name()
    sharr.memmap(name, dtype=np.int8, mode="w+", shape=4, order="C")
    assert sharr.memmap(name, order="F").shape == (4,)


def test_read_only_mode_cannot_write_by_any_means(new_name):
    name = new_name()
    w = sharr.memmap(name, dtype=np.float32, mode="w+", shape=8)
    r = sharr.memmap(name, mode="r")
    assert r.mode == "r" and not r.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        r[0] = 1
    with pytest.raises(ValueError):
        r.flags.writeable = True
    with pytest.raises(TypeError):
        r._mmap[0:1] = b"x"
    w[3] = 7
    assert r[3] == 7
    r.flush()


def test_copy_on_write_mode_keeps_writes_private(new_name):
    name = new_name()
    w = sharr.memmap(name, dtype=np.int64, mode="w+", shape=1024)  # two pages
    c = sharr.memmap(name, mode="c")
    assert c.flags.writeable
    c[0] = 10  # copies the first page only
    assert w[0] == 0
    w[1] = 11
    w[1000] = 12
    assert c[1] == 0  # the copied page is c's own
    assert c[1000] == 12  # the untouched page still shows the shared data
    assert sharr.memmap(name, mode="r")[0] == 0
    c.flush()


def test_read_write_modes_share_writes_both_ways(new_name):
    name = new_name()
    w = sharr.memmap(name, dtype=np.uint16, mode="w+", shape=(2, 2))
    rw = sharr.memmap(name, mode="r+")
    rw[1, 1] = 9
    w[0, 0] = 8
    assert w.tolist() == [[8, 0], [0, 9]] == rw.tolist()


@pytest.mark.parametrize("alias, mode", [
    ("readonly", "r"), ("readwrite", "r+"), ("copyonwrite", "c"), ("write", "w+")])
def test_numpy_mode_names_are_accepted(new_name, alias, mode):
    name = new_name()
    sharr.memmap(name, dtype=np.int8, mode="w+", shape=3)
    kw = {"dtype": np.int8, "shape": 3} if mode == "w+" else {}
    assert sharr.memmap(name, mode=alias, **kw).mode == mode


def test_unknown_mode_is_a_value_error(new_name):
    with pytest.raises(ValueError, match="mode"):
        sharr.memmap(new_name(), mode="rw")


def test_it_is_a_numpy_memmap_with_its_attributes(new_name):
    name = new_name()
    a = sharr.memmap(name, dtype=np.float32, mode="w+", shape=(4, 4))
    assert isinstance(a, np.memmap) and isinstance(a, np.ndarray)
    assert a.name == name and a.mode == "w+" and a.offset == 4096
    assert a.filename is None
    v = a[1:3]
    assert isinstance(v, sharr.memmap)
    assert (v.name, v.mode, v.offset, v.filename) == (name, "w+", 4096, None)


def test_persistent_array_is_an_npy_file_numpy_can_load(new_name, daemon):
    name = new_name()
    a = sharr.memmap(name, dtype="<c16", mode="w+", shape=(5, 3), order="F", persist=True)
    a[:] = np.arange(15).reshape(5, 3) * (1 + 2j)
    a.flush()
    assert a.filename is not None and a.filename == sharr.info(name).path
    on_disk = np.load(a.filename, mmap_mode="r")
    assert on_disk.dtype == a.dtype and on_disk.shape == a.shape
    assert on_disk.flags.f_contiguous
    assert np.array_equal(on_disk, a)
    assert a.filename.startswith(daemon.store)


def test_reductions_and_arithmetic_return_plain_numpy_results(new_name):
    a = sharr.memmap(new_name(), dtype=np.float64, mode="w+", shape=(3, 4))
    a[:] = np.arange(12).reshape(3, 4)
    for result in (np.sum(a), a.sum(), np.mean(a), np.std(a), a.max(), a[1, 2]):
        assert type(result) is np.float64
    assert np.sum(a) == 66.0
    for result in (a.sum(axis=0), a + 1, np.sqrt(a), a[[0, 2]], a[a > 3], a.copy().T[0]):
        assert type(result) is np.ndarray
    np.add(a, 1, out=a)
    assert a[0, 0] == 1.0 and isinstance(a, sharr.memmap)


@pytest.mark.parametrize("dtype", [
    "|b1", "|i1", "<u2", ">i8", "<f2", "<f4", ">f8", "<c8", "|S7", "<U3", "<M8[ns]", "<m8[s]"])
def test_element_types_round_trip_through_the_daemon(new_name, dtype):
    name = new_name()
    a = sharr.memmap(name, dtype=dtype, mode="w+", shape=(2, 3))
    assert a.dtype == np.dtype(dtype)
    assert sharr.memmap(name, mode="r").dtype == np.dtype(dtype)
    assert sharr.info(name).dtype == np.dtype(dtype)


def test_object_dtypes_are_refused(new_name):
    # A subarray dtype such as ("<f4", (2,)) folds into the shape (test_signature.py);
    # records are test_records.py's.
    with pytest.raises(ValueError, match="plain fixed-size"):
        sharr.memmap(new_name(), dtype=object, mode="w+", shape=3)


def test_create_is_exclusive_unless_asked_to_overwrite(new_name):
    name = new_name()
    a = sharr.create(name, (2, 2))
    assert a.dtype == np.float64 and a.mode == "w+"
    with pytest.raises(FileExistsError):
        sharr.create(name, 3, np.int8)
    b = sharr.create(name, 3, np.int8, overwrite=True)
    assert b.shape == (3,)


def test_open_attaches_and_refuses_create_mode(new_name):
    name = new_name()
    sharr.create(name, 5, np.int16)[:] = 4
    assert int(sharr.open(name).sum()) == 20
    assert sharr.open(name, "r").mode == "r"
    with pytest.raises(ValueError, match="sharr.create"):
        sharr.open(name, "w+")
