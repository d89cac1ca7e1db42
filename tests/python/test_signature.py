"""sharr.memmap takes numpy.memmap's arguments in numpy's order, with numpy's defaults.

numpy.memmap(filename, dtype=uint8, mode='r+', offset=0, shape=None, order='C'):
each test runs the same call on np.memmap over a temporary file as the control.
sharr's own arguments (persist, perm, wait, owner, socket) are keywords only.
"""

import inspect
import os
import subprocess

import numpy as np
import pytest

import sharr


@pytest.fixture
def npfile(tmp_path):
    return str(tmp_path / "control.bin")


def test_the_parameters_are_numpys_in_numpys_order_then_sharrs_keywords():
    ours = inspect.signature(sharr.memmap.__new__).parameters
    theirs = inspect.signature(np.memmap.__new__).parameters
    positional = [p for p in ours.values() if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in positional][2:] == list(theirs)[2:]
    keywords = {p.name for p in ours.values() if p.kind == p.KEYWORD_ONLY}
    assert keywords == {"persist", "perm", "wait", "owner", "socket", "populate", "max_len",
                        "published"}


def test_positional_arguments_as_numpy_takes_them(new_name, npfile):
    control = np.memmap(npfile, np.float32, "w+", 0, (3, 4))
    a = sharr.memmap(new_name(), np.float32, "w+", 0, (3, 4))
    assert (a.dtype, a.shape) == (control.dtype, control.shape)
    f = sharr.memmap(new_name(), np.int16, "w+", 0, (3, 4), "F")
    assert f.flags.f_contiguous == np.memmap(npfile, np.int16, "w+", 0, (3, 4), "F").flags.f_contiguous


def test_create_without_a_dtype_makes_numpys_default_uint8(new_name, npfile):
    a = sharr.memmap(new_name(), mode="w+", shape=5)
    assert a.dtype == np.memmap(npfile, mode="w+", shape=5).dtype == np.uint8


def test_create_without_a_shape_is_a_value_error_as_in_numpy(new_name, npfile):
    with pytest.raises(ValueError):
        np.memmap(npfile, mode="w+")
    name = new_name()
    with pytest.raises(ValueError, match="shape"):
        sharr.memmap(name, mode="w+")
    with pytest.raises(FileNotFoundError):
        sharr.info(name)


def test_offset_zero_is_accepted_and_reported(new_name):
    name = new_name()
    a = sharr.memmap(name, "i4", "w+", offset=0, shape=6)
    a[:] = range(6)
    b = sharr.memmap(name, offset=0)
    assert np.array_equal(a, b)
    # .offset is where the data starts in the array's .npy bytes, as numpy's is in its file.
    assert b.offset == sharr.info(name).offset


@pytest.mark.parametrize("mode", ["w+", "r+", "r", "c"])
@pytest.mark.parametrize("offset", [1, 4096, -1])
def test_a_nonzero_offset_is_a_value_error_that_says_how_to_get_a_view(new_name, mode, offset):
    name = new_name()
    if mode != "w+":
        sharr.create(name, 8, np.uint8)
    with pytest.raises(ValueError, match="offset"):
        sharr.memmap(name, np.uint8, mode, offset, 8)
    if mode == "w+":
        with pytest.raises(FileNotFoundError):
            sharr.info(name)


@pytest.mark.parametrize("offset", [1.0, "0", None])
def test_an_offset_that_is_no_integer_is_a_type_error(new_name, offset):
    with pytest.raises(TypeError, match="offset"):
        sharr.memmap(new_name(), np.uint8, "w+", offset, 8)


def test_attach_with_numpys_default_order_keeps_the_arrays_order(new_name):
    name = new_name()
    sharr.memmap(name, "f8", "w+", shape=(2, 3), order="F")
    assert sharr.memmap(name).flags.f_contiguous


@pytest.mark.parametrize("shape", [(0,), (0, 4), (3, 0)])
def test_a_zero_size_create_raises_the_exception_numpy_raises(new_name, npfile, shape):
    with pytest.raises(Exception) as control:
        np.memmap(npfile, mode="w+", shape=shape)
    name = new_name()
    with pytest.raises(control.type):
        sharr.memmap(name, mode="w+", shape=shape)
    with pytest.raises(FileNotFoundError):
        sharr.info(name)


@pytest.mark.parametrize("dtype", ["<f8", "|u1", ">c16"])
def test_a_0d_array_is_created_attached_and_saved_as_numpy_makes_it(new_name, npfile, dtype):
    control = np.memmap(npfile, dtype, "w+", shape=())
    name = new_name()
    a = sharr.memmap(name, dtype, "w+", shape=(), persist=True)
    assert (a.shape, a.ndim, a.size, a.nbytes) == (control.shape, 0, 1, control.nbytes)
    a[()] = 7
    b = sharr.memmap(name, mode="r")
    assert b.shape == () and b[()] == 7 and b.dtype == np.dtype(dtype)
    assert sharr.info(name).shape == ()
    assert np.load(sharr.info(name).path, mmap_mode="r")[()] == 7
    assert type(a.sum()) is type(control.sum())
    cli = os.path.join(os.environ["SHARR_BUILD_DIR"], "cli", "sharr")
    shown = subprocess.run([cli, "info", name], capture_output=True, text=True, check=True)
    assert "()" in shown.stdout


@pytest.mark.parametrize("dtype, shape, order", [
    (("f4", (3,)), (10,), "C"), (("f4", (3,)), (10, 2), "F"), (("<i2", (2, 3)), (), "C"),
    (np.dtype((">f8", (4,))), 5, "C"), (("u1", (3,)), (1,), "F"),
])
def test_a_subarray_dtype_folds_into_the_shape_as_numpy_folds_it(new_name, npfile, dtype,
                                                                 shape, order):
    control = np.memmap(npfile, dtype, "w+", shape=shape, order=order)
    name = new_name()
    a = sharr.memmap(name, dtype, "w+", shape=shape, order=order)
    assert (a.dtype, a.shape, a.strides) == (control.dtype, control.shape, control.strides)
    b = sharr.create(new_name(), shape, dtype, order=order)
    assert (b.dtype, b.shape, b.strides) == (control.dtype, control.shape, control.strides)
    # An attach may name the array's dtype the same way, with or without the shape.
    assert sharr.memmap(name, dtype, "r", shape=shape).shape == control.shape
    assert sharr.memmap(name, dtype, "r").shape == control.shape
    with pytest.raises(ValueError, match="shape"):
        sharr.memmap(name, (control.dtype, (7,)), "r")

