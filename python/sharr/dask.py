"""sharr.dask: dask.array over sharr arrays, and names whose lifetime is a computation's.

    import sharr.dask
    x = sharr.dask.from_sharr("frames", chunks=(100_000, 100))   # the graph holds names
    sharr.dask.to_sharr(x * 2, "doubled")                         # workers write in place
    with sharr.dask.scope() as s:                                 # names unlinked at exit
        part = sharr.create(s.name("part-3"), 1000)

Importing this module imports dask.array; `import sharr` alone imports no dask (the
serializers of _dask.py register themselves when dask or distributed is imported).
"""

import contextlib
import os
import secrets

import dask.array as da

from . import _connection, _dask
from ._array import create, memmap
from ._catalog import list as list_arrays, unlink


def dask_setup(server):
    """distributed's preload hook: `dask worker --preload sharr.dask` (and the workers
    that nannies of a process with sharr imported start) publish the id of their
    sharrd to the scheduler, so that clients can tell whether a graph may carry
    names (README, "With Dask")."""
    _dask.setup(server)


def from_sharr(source, chunks="auto", *, mode="r+", socket=None, **kwargs):
    """A dask array over the sharr array source (a name, or a sharr array or view).

    The graph holds the array by name (a pickle of a few hundred bytes) and each chunk
    is a view of it in the worker that computes it, so neither the client nor the
    scheduler ever holds its bytes. A name is attached in mode (default 'r+'). Other
    keywords go to dask.array.from_array."""
    arr = source if isinstance(source, memmap) else memmap(source, mode=mode, socket=socket)
    if arr.name is None:
        raise ValueError("from_sharr needs a sharr array, not a copy of one")
    return da.from_array(arr, chunks=chunks, asarray=False, **kwargs)


def to_sharr(x, name, *, persist=False, perm=0o600, overwrite=False, socket=None,
             compute=True):
    """Store the dask array x into a new sharr array name and return that array.

    The array is created here with x's shape and dtype; each worker writes its chunks
    into it in place (dask.array.store with the array as target, which the graph holds
    by name), in parallel, and nothing is gathered. compute=False returns (array,
    delayed) instead, the delayed to be computed by the caller. Raises ValueError,
    before creating anything, when a distributed Client of this process has workers
    (or a scheduler) that another sharrd serves: those would write into copies; and
    when x reads the array name itself (overwrite=True would replace it before the
    workers attach it: its data lost, and the tasks failing)."""
    if name in _names_read(x, socket):
        raise ValueError(f"to_sharr cannot store into {name!r}: the dask array reads "
                         f"{name!r}, which creating the target would replace")
    if _dask.writers_elsewhere(socket):
        raise ValueError(f"to_sharr cannot store into {name!r}: a distributed cluster of "
                         "this process has workers that another sharrd serves (another "
                         "host's), which would write into copies of it")
    target = create(name, x.shape, x.dtype, persist=persist, perm=perm,
                    overwrite=overwrite, socket=socket)
    stored = da.store(x, target, lock=False, compute=compute)
    return target if compute else (target, stored)


def _names_read(x, socket):
    """The names of the sharr arrays of the daemon at socket that x's graph holds, in
    its tasks (tuples, lists, dicts) or as values of its own."""
    here = _connection.resolve(socket)
    names, todo = set(), list(dict(x.__dask_graph__()).values())
    while todo:
        v = todo.pop()
        if isinstance(v, memmap):
            att = v._sharr
            if att is not None and v.name is not None and att.socket == here:
                names.add(v.name)
        elif isinstance(v, (tuple, list)):
            todo.extend(v)
        elif isinstance(v, dict):
            todo.extend(v.values())
    return names


class Scope:
    """Array names that live as long as a computation: name() gives names under this
    scope's prefix, for any process (client or workers) to create; close() (the end of
    a `with` block) unlinks every array of the daemon under the prefix, whoever made it."""

    def __init__(self, prefix=None, *, socket=None):
        if prefix is None:
            prefix = f"dask-{os.getpid()}-{secrets.token_hex(4)}"
        self.prefix = prefix + "."
        self.socket = socket

    def name(self, tag):
        """The array name for tag in this scope."""
        return self.prefix + str(tag)

    def close(self):
        """Unlink every array under the prefix; returns how many. Mappings that
        processes still hold stay valid, as after any unlink."""
        n = 0
        for info in list_arrays(socket=self.socket):
            if info.name.startswith(self.prefix):
                with contextlib.suppress(FileNotFoundError):
                    unlink(info.name, socket=self.socket)
                    n += 1
        return n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def scope(prefix=None, *, socket=None):
    """A Scope: `with sharr.dask.scope() as s:` unlinks s's arrays when the block ends."""
    return Scope(prefix, socket=socket)
