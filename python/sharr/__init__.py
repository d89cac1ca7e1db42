"""sharr — numpy arrays shared between processes by name, through the sharrd daemon.

    import sharr
    a = sharr.memmap("frames", dtype="float32", mode="w+", shape=(1000, 100))
    b = sharr.memmap("frames")          # any process: dtype/shape come from sharrd

The arrays are numpy.memmap instances over pages every process shares; they pickle
by name, so multiprocessing, concurrent.futures and joblib pass them without copying.
This package binds libsharr with ctypes; see python/README.md for lifetimes.
"""

from ._array import create, memmap, open
from ._catalog import adopt, info, list, stats, unlink
from ._connection import default_socket
from ._info import ArrayInfo, Stats
from . import _dask

_dask.install()

__all__ = ["memmap", "create", "open", "adopt", "info", "list", "stats", "unlink",
           "default_socket", "ArrayInfo", "Stats"]
