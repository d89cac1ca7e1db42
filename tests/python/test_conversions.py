"""Every integer the Python package hands to libsharr is range-checked first.

ctypes converts a Python int to a C integer by keeping its low bits: without a
check, a shape of 2**64 + 5 becomes 5, a perm of 2**32 + 0o644 becomes 0o644 and a
wait of 1.8e16 s becomes no wait. Each such value must raise (ValueError or
OverflowError, as numpy raises for a shape it cannot hold) and change nothing.
"""

import math

import numpy as np
import pytest

import sharr


def _absent(name):
    with pytest.raises(FileNotFoundError):
        sharr.info(name)


@pytest.mark.parametrize("shape", [
    (2 ** 64 + 5,), (3, 2 ** 64 + 2), (2 ** 64,), (-1,), (3, -2), (-(2 ** 64) + 5,),
])
def test_create_refuses_a_shape_that_does_not_fit_64_bits(new_name, shape):
    name = new_name()
    with pytest.raises((ValueError, OverflowError)):
        sharr.memmap(name, "u1", "w+", shape=shape)
    with pytest.raises((ValueError, OverflowError)):
        sharr.create(name, shape, np.uint8)
    _absent(name)


def test_a_shape_too_big_for_numpy_is_refused_as_numpy_refuses_it(new_name):
    # 2**63 fits uint64 but no numpy array can have it.
    name = new_name()
    with pytest.raises((ValueError, OverflowError)):
        sharr.memmap(name, "u1", "w+", shape=(2 ** 63,))
    _absent(name)


@pytest.mark.parametrize("perm", [2 ** 32 + 0o644, 2 ** 64 + 0o600, -1, -(2 ** 32) + 0o644,
                                  0o1777, 0])
def test_create_refuses_perm_outside_the_permission_bits(new_name, perm):
    name = new_name()
    with pytest.raises((ValueError, OverflowError), match="perm"):
        sharr.memmap(name, "u1", "w+", shape=4, perm=perm)
    with pytest.raises((ValueError, OverflowError), match="perm"):
        sharr.create(name, 4, np.uint8, perm=perm)
    _absent(name)


@pytest.mark.parametrize("perm", [True, 1.5, "0644"])
def test_create_refuses_a_perm_that_is_no_integer(new_name, perm):
    name = new_name()
    with pytest.raises(TypeError, match="perm"):
        sharr.create(name, 4, np.uint8, perm=perm)
    _absent(name)


@pytest.mark.parametrize("wait", [1.8e16, 2.0 ** 63, 1e300])
def test_a_wait_beyond_what_c_holds_is_an_overflow_error(new_name, wait):
    with pytest.raises(OverflowError, match="wait"):
        sharr.open(new_name(), wait=wait)


@pytest.mark.parametrize("wait", [math.nan, -math.inf, -1e-9])
def test_a_nan_or_negative_wait_is_a_value_error(new_name, wait):
    with pytest.raises(ValueError, match="wait"):
        sharr.open(new_name(), wait=wait)


def test_a_wait_that_fits_still_waits_and_times_out(new_name):
    with pytest.raises(TimeoutError):
        sharr.open(new_name(), wait=0.01)


@pytest.mark.parametrize("wait", ["1", b"1", " 0.01 "])
def test_a_wait_given_as_text_is_a_type_error_not_seconds(new_name, wait):
    # float() reads "1" as 1.0; a number of seconds is a number, as perm is an integer.
    with pytest.raises(TypeError, match="wait"):
        sharr.open(new_name(), wait=wait)


@pytest.mark.parametrize("shape", [np.array(4), np.int16(4), 4])
def test_a_shape_given_as_one_integer_of_any_kind_is_a_1d_shape_as_in_numpy(new_name,
                                                                            tmp_path, shape):
    control = np.memmap(tmp_path / "c", "u1", "w+", shape=shape)
    assert sharr.create(new_name(), shape, np.uint8).shape == control.shape == (4,)
    assert sharr.memmap(new_name(), "u1", "w+", shape=shape).shape == (4,)


def test_a_shape_that_is_neither_an_integer_nor_a_sequence_names_shape(new_name):
    name = new_name()
    with pytest.raises(TypeError, match="shape"):
        sharr.memmap(name, "u1", "w+", shape=3.0)
    _absent(name)
