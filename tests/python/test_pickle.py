"""Pickling by name: small pickles for any view, same data and mode after loading.

The round trips here stay in one process; the same pickles crossing process
boundaries are in test_multiprocessing.py.
"""

import pickle

import numpy as np
import pytest

import sharr

PROTOCOLS = sorted({2, 4, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL})


def _views(a):
    """A spread of views of a 2-d array: offsets, steps, negative strides, transposes,
    reinterpreted dtypes, added axes."""
    return {
        "whole": a,
        "rows": a[100:200],
        "strided": a[::3, 1:7],
        "reversed": a[::-2, ::-1],
        "transposed": a.T,
        "column": a[:, 3],
        "row": a[5],
        "bytes": a[7].view(np.uint8),
        "newaxis": a[np.newaxis, 10:12, :, np.newaxis],
    }


@pytest.fixture
def grid(new_name):
    a = sharr.memmap(new_name(), dtype=np.float64, mode="w+", shape=(1000, 10))
    a[:] = np.arange(a.size, dtype=np.float64).reshape(a.shape)
    return a


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pickles_of_views_are_small_and_load_the_same_view(grid, protocol):
    for what, view in _views(grid).items():
        data = pickle.dumps(view, protocol=protocol)
        assert len(data) < 1024, what
        back = pickle.loads(data)
        assert type(back) is sharr.memmap, what
        assert back.name == grid.name, what
        assert (back.shape, back.strides, back.dtype) == (view.shape, view.strides,
                                                          view.dtype), what
        assert np.array_equal(back, view), what


def test_loaded_view_is_a_new_attachment_of_the_same_memory(grid):
    view = grid[::-2, 4]
    back = pickle.loads(pickle.dumps(view))
    assert back._sharr is not view._sharr
    assert sharr.info(grid.name).nattached == 2
    back[0] = -1.0
    assert grid[-1, 4] == -1.0
    grid[1, 4] = -2.0
    assert back[-1] == -2.0
    del back
    assert sharr.info(grid.name).nattached == 1


def test_created_array_travels_as_read_write(grid):
    back = pickle.loads(pickle.dumps(grid[3:4]))
    assert grid.mode == "w+" and back.mode == "r+"
    back[0, 0] = 5.0
    assert grid[3, 0] == 5.0


def test_read_only_arrays_and_views_load_read_only(grid):
    r = sharr.memmap(grid.name, mode="r")
    back = pickle.loads(pickle.dumps(r[2:]))
    assert back.mode == "r" and not back.flags.writeable
    with pytest.raises(ValueError):
        back[0, 0] = 1.0

    frozen = grid[:4]
    frozen.flags.writeable = False
    back = pickle.loads(pickle.dumps(frozen))
    assert back.mode == "r+" and not back.flags.writeable


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_copy_on_write_arrays_pickle_their_private_values_as_numpys_do(grid, tmp_path,
                                                                         protocol):
    # The control: numpy.memmap in mode 'c' pickles its values, private changes included.
    path = tmp_path / "control.bin"
    np.asarray(grid).tofile(path)
    control = np.memmap(path, dtype=grid.dtype, mode="c", shape=grid.shape)
    c = sharr.memmap(grid.name, mode="c")
    for a in (control, c):
        a[0, 0] = 123.0  # private to this process
    for view in (lambda a: a, lambda a: a[:2], lambda a: a[::-3, 1:4].T):
        want = pickle.loads(pickle.dumps(view(control), protocol))
        back = pickle.loads(pickle.dumps(view(c), protocol))
        assert type(back) is np.ndarray
        assert np.array_equal(back, want) and np.array_equal(back, view(c))
    back = pickle.loads(pickle.dumps(c, protocol))
    assert back[0, 0] == 123.0 and grid[0, 0] == 0.0
    back[1, 1] = 9.0  # the loaded copy is the receiver's own
    assert grid[1, 1] == 11.0 and c[1, 1] == 11.0


def test_a_pickle_by_value_of_any_array_is_one_asarray_away(grid):
    data = pickle.dumps(np.asarray(grid[:3]))
    grid[0, 0] = -1.0
    back = pickle.loads(data)
    assert type(back) is np.ndarray and back[0, 0] == 0.0


def test_pickle_of_a_replaced_name_fails_to_load(new_name):
    name = new_name()
    a = sharr.memmap(name, dtype=np.int8, mode="w+", shape=10)
    data = pickle.dumps(a[2:])
    sharr.memmap(name, dtype=np.int8, mode="w+", shape=10)
    with pytest.raises(ValueError, match="replaced"):
        pickle.loads(data)
    sharr.unlink(name)
    with pytest.raises(FileNotFoundError):
        pickle.loads(data)


def test_copies_results_and_empty_views_pickle_by_value_as_plain_arrays(grid):
    # An empty view shares no memory, so, as with numpy.memmap, it is a plain array.
    for value in (grid.copy(), grid + 1, grid[[1, 2]], grid[5:5]):
        back = pickle.loads(pickle.dumps(value))
        assert type(back) is np.ndarray
        assert np.array_equal(back, value)
