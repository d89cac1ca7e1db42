"""sharr — numpy arrays shared between processes by name, through the sharrd daemon.

    import sharr
    a = sharr.memmap("frames", dtype="float32", mode="w+", shape=(1000, 100))
    b = sharr.memmap("frames")          # any process: dtype/shape come from sharrd

The arrays are numpy.memmap instances over pages every process shares; they pickle
by name, so multiprocessing, concurrent.futures and joblib pass them without copying.
This package binds libsharr with a small C extension and ctypes; see python/README.md.
"""

from ._array import create, memmap, open
from ._catalog import adopt, chmod, chown, holders, info, list, stats, unlink
from ._connection import default_socket
from ._info import ArrayInfo, Holder, Stats
from ._watch import Event, Watch, watch
from . import _dask

_dask.install()

# open and list stay attributes (sharr.open, sharr.list) but are left out here, so
# that `from sharr import *` does not shadow the builtins of those names.
__all__ = ["memmap", "create", "adopt", "info", "holders", "stats", "unlink", "chmod",
           "chown", "default_socket", "ArrayInfo", "Holder", "Stats", "watch", "Watch",
           "Event"]
