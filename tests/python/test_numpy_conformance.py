"""sharr.memmap does what numpy.memmap does, behaviour by behaviour of numpy's own
numpy/core/tests/test_memmap.py, each test run twice: on np.memmap over a temporary
file (the control) and on sharr.memmap over a name.

Behaviours of numpy's tests that cannot apply to a named array, and why:
- a file object or a pathlib.Path as the first argument (test_unnamed_file,
  test_filename_fileobj, test_path): a sharr array is named, not a file; .filename is
  the .npy path of a persistent array, and test_filename_is_absolute_and_views_keep_it
  checks that part.
- a nonzero offset (test_attributes' offset, test_mmap_offset_greater_than_allocation_
  granularity): a named array has no bytes before its data; sharr raises ValueError
  (test_signature.py), and the rest of test_attributes runs here with offset 0.
- the shape taken from the file's length (test_no_shape): an attach takes the shape the
  array was created with, checked here as attaching with no shape.
- an empty file that becomes usable once a byte is written (second half of
  test_empty_array): a zero-size create is refused either way, checked here.
"""

import numpy as np
import pytest

import sharr

SHAPE = (3, 4)
DTYPE = "float32"


def _data():
    return np.arange(12, dtype=DTYPE).reshape(SHAPE)


class NumpyKind:
    """np.memmap over a file in tmp_path."""
    cls = np.memmap

    def __init__(self, tmp_path, new_name):
        self.path = str(tmp_path / "mmap")

    def make(self, cls=None, **kw):
        return (cls or self.cls)(self.path, **kw)

    def persistent(self, **kw):
        return self.make(**kw)

    def filename(self):
        return self.path


class SharrKind:
    """sharr.memmap over a name of the test's own."""
    cls = sharr.memmap

    def __init__(self, tmp_path, new_name):
        self.name = new_name()

    def make(self, cls=None, **kw):
        return (cls or self.cls)(self.name, **kw)

    def persistent(self, **kw):
        return self.make(persist=True, **kw)

    def filename(self):
        return sharr.info(self.name).path


@pytest.fixture(params=[NumpyKind, SharrKind], ids=["numpy", "sharr"])
def kind(request, tmp_path, new_name):
    return request.param(tmp_path, new_name)


@pytest.fixture
def fp(kind):
    """A new 3x4 float32 array of the kind, mode 'w+', holding 0..11."""
    a = kind.make(dtype=DTYPE, mode="w+", shape=SHAPE)
    a[:] = _data()
    return a


def test_roundtrip_through_a_new_attach_in_read_mode(kind, fp):
    del fp
    back = kind.make(dtype=DTYPE, mode="r", shape=SHAPE)
    assert np.array_equal(back, _data())
    assert not back.flags.writeable


def test_attributes_mode_and_offset(kind):
    a = kind.make(dtype=DTYPE, mode="w+", shape=SHAPE, offset=0)
    assert a.mode == "w+"
    # numpy's offset is its argument; sharr's, where the data starts in the .npy bytes.
    assert a.offset == (0 if kind.cls is np.memmap else sharr.info(kind.name).offset)


def test_filename_is_absolute_and_views_keep_it(kind):
    a = kind.persistent(dtype=DTYPE, mode="w+", shape=SHAPE)
    path = kind.filename()
    assert path.startswith("/") and str(a.filename) == path
    assert str(a[:1].filename) == path


def test_flush_after_writes(kind, fp):
    assert np.array_equal(fp[0], _data()[0])
    fp.flush()


def test_deleting_a_view_leaves_the_base_usable(fp):
    fp[0] = 5
    view = fp[0:1]
    assert np.all(view[0] == 5)
    del view
    assert np.all(fp[0] == 5)
    fp[0] = 6
    assert np.all(fp[0] == 6)


def test_arithmetic_results_hold_no_mapping(fp):
    tmp = fp + 10
    if isinstance(tmp, np.memmap):
        assert tmp._mmap is not fp._mmap


def test_fancy_indexing_results_hold_no_mapping(fp):
    tmp = fp[(1, 2), (2, 3)]
    if isinstance(tmp, np.memmap):
        assert tmp._mmap is not fp._mmap


def test_slices_keep_the_mapping(fp):
    assert fp[:2, :2]._mmap is fp._mmap


def test_views_and_asarray_have_the_array_as_base(kind, fp):
    new1 = fp.view()
    new2 = new1.view()
    assert new1.base is fp
    assert new2.base is fp
    assert np.asarray(fp).base is fp


@pytest.mark.parametrize("op", [np.sum, np.average, np.prod])
def test_reductions_give_numpy_scalars_and_arrays(fp, op):
    result = op(fp)
    assert np.isscalar(result)
    assert result.__class__ is _data()[0, 0].__class__
    assert op(fp, axis=0).__class__ is np.ndarray
    assert op(fp, axis=1).__class__ is np.ndarray


@pytest.mark.parametrize("op", [np.add, np.subtract, np.multiply])
def test_binary_ufuncs_give_ndarrays(fp, op):
    data = _data()
    assert op(fp, data).__class__ is np.ndarray
    assert op(data, fp).__class__ is np.ndarray
    assert op(fp, fp).__class__ is np.ndarray


def test_in_place_ufuncs_keep_the_class(kind, fp):
    fp += 1
    assert fp.__class__ is kind.cls
    np.add(fp, 1, out=fp)
    assert fp.__class__ is kind.cls
    assert np.array_equal(fp, _data() + 2)


def test_slicing_keeps_the_class_and_fancy_indexing_copies_to_ndarray(kind, fp):
    assert fp[1:, :-1].__class__ is kind.cls
    assert fp[[0, 1]].__class__ is np.ndarray


def test_subclasses_keep_their_class_through_ufuncs_and_indexing(kind, fp):
    class MemmapSubClass(kind.cls):
        pass

    sub = kind.make(MemmapSubClass, dtype=DTYPE, shape=SHAPE)
    sub[:] = _data()
    assert np.sum(sub, axis=0).__class__ is MemmapSubClass
    assert np.sum(sub).__class__ is MemmapSubClass
    assert sub[1:, :-1].__class__ is MemmapSubClass
    assert sub[[0, 1]].__class__ is MemmapSubClass


def test_attach_without_shape_gives_the_whole_array(kind, fp):
    whole = kind.make(dtype=DTYPE)
    assert whole.size == fp.size


@pytest.mark.parametrize("shape", [(0, 4), (0,)])
def test_an_empty_create_is_a_value_error(kind, shape):
    with pytest.raises(ValueError):
        kind.make(mode="w+", shape=shape)
