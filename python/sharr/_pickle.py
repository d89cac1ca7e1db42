"""Pickling sharr arrays by name, so worker processes share memory instead of copying.

A pickle holds the daemon's socket path, the array's name and mode, the creation
time that identifies this incarnation of the name, the view's geometry (dtype,
shape, strides, byte offset into the mapping), the daemon's id and, for a
persistent array, its store's id (hello): a few hundred bytes whatever the array's
size. Unpickling attaches the name again, in whatever process that is. The store id
must match the store that serves the name there (it survives restarts of the
daemon; another store, even a copy, is another array's); the daemon id, drawn at
each start, only serves to say, when an attach fails, that the pickle came from
another sharrd (another host's, or before a restart). Where Dask distributed pickles
for a process another sharrd may serve, an array goes by value (_dask.by_value);
where it unpickles, an array that cannot be attached becomes a Missing (_missing.py).
Arrays in mode 'c' never come here: their private pages are no name's data, and
memmap.__reduce_ex__ pickles them by value.
"""

import errno
import os

import numpy as np

from . import _attachment, _connection, _dask
from ._missing import Missing


def _portable_dtype(dtype):
    # A plain dtype travels as its typestr (a few bytes); structured ones as themselves.
    if dtype.names is None and dtype.subdtype is None:
        return dtype.str
    return dtype


def reduce(arr, protocol=2):
    """The pickle (__reduce_ex__'s value for protocol) of arr, a sharr memmap (or
    view) that has an attachment in mode 'r', 'r+' or 'w+': by name, except where
    Dask distributed pickles it for a process that another sharrd may serve
    (_dask.by_value), where it is numpy's pickle of its values. 'w+' travels as
    'r+': unpickling must never create or truncate."""
    if _dask.by_value(arr):
        return arr.view(np.ndarray).__reduce_ex__(protocol)
    att = arr._sharr
    mode = "r+" if att.mode == "w+" else att.mode
    offset = arr.__array_interface__["data"][0] - att.address
    args = (type(arr), att.socket, att.name, mode, att.ctime_ns,
            _portable_dtype(arr.dtype), arr.shape, arr.strides, offset,
            bool(arr.flags.writeable), att.server_id, att.store_id)
    return rebuild, args


def _elsewhere(socket, server_id):
    """Why a pickle from sharrd server_id may not be for the daemon at socket here: a
    sentence, or "" when that daemon is the pickle's (or the pickle has no id)."""
    if not server_id:
        return ""
    try:
        here = _connection.server_id(_connection.resolve(socket))
    except OSError as e:
        return f"; it was pickled by sharrd {server_id:016x} at {socket}, which this " \
               f"process cannot reach ({e.strerror})"
    if here == server_id:
        return ""
    return f"; it was pickled by sharrd {server_id:016x}, and {socket} here is served by " \
           f"sharrd {here:016x} (another host's, or the daemon restarted)"


def _other_store(socket, att, store_id):
    """Why the persistent array att, attached for a pickle of an array of store
    store_id, is not that array: a sentence, or "" when it is (or either is volatile
    or the pickle has no store id)."""
    if not store_id or not att.path:
        return ""
    here = att.store_id
    if here == store_id:
        return ""
    return f"{socket} here serves it from store {here:016x}, and it was pickled from " \
           f"store {store_id:016x}: another store (another host's, or a copy)"


def rebuild(*args):
    """Attach name again and return the view the pickle describes (_rebuild), or,
    where Dask distributed unpickles (_dask.unpickling) and that fails, a Missing
    that raises the error when a task uses it: raised there, the error would break
    the connection distributed reads from. Elsewhere (pickle, multiprocessing,
    joblib) the error is raised."""
    try:
        return _rebuild(*args)
    except (OSError, ValueError) as e:
        if not _dask.unpickling():
            raise
        return Missing(e, args)


def _rebuild(cls, socket, name, mode, ctime_ns, dtype, shape, strides, offset, writeable,
             server_id=0, store_id=0):
    """Attach name again and return the view the pickle describes.

    Raises FileNotFoundError when the name is gone (unlinked since the pickling), or
    no daemon listens at socket any more (the connect's error, which says so), and
    ValueError when the name now belongs to another array (unlinked or overwritten
    since): handing out a view of different data under the old geometry would be
    wrong. Both messages name the array and say when the pickle came from another
    sharrd than the one at socket here. A persistent array's pickle names its store
    (store_id, kept across restarts): the same name in another store, even with the
    same creation time (a copy of the store), raises ValueError too. server_id and
    store_id are absent from older pickles. A writable array published since it
    was pickled comes back read-only, attached in mode 'r'."""
    try:
        try:
            att = _attachment.open_(socket, name, mode, 0)
        except PermissionError as e:
            # Published since it was pickled: immutable, so read-only is what it is.
            if mode != "r+" or e.errno != errno.EROFS:
                raise
            att = _attachment.open_(socket, name, "r", 0)
            writeable = False
    except FileNotFoundError as e:
        # No socket: no daemon to have unlinked anything (stopped, or not started).
        if not os.path.exists(socket):
            raise
        # From another sharrd, the name was never this daemon's: "unlinked" would mislead.
        elsewhere = _elsewhere(socket, server_id)
        why = f"it is not at {socket}{elsewhere}" if elsewhere else \
            "it was unlinked after it was pickled, before this process unpickled it"
        raise FileNotFoundError(e.errno, f"sharr array {name!r} does not exist any "
                                f"more: {why}", name) from None
    other = _other_store(socket, att, store_id)
    if other:
        del att
        raise ValueError(f"sharr array {name!r} is not the array that was pickled: {other}")
    if att.ctime_ns != ctime_ns:
        del att  # release before raising, not when the traceback dies
        elsewhere = _elsewhere(socket, server_id)
        why = f"another array has its name at {socket}{elsewhere}" if elsewhere else \
            "it was replaced after it was pickled"
        raise ValueError(f"sharr array {name!r} is not the array that was pickled: {why}")
    arr = cls._over(att, shape, dtype, offset, strides)
    if not writeable:
        arr.flags.writeable = False
    return arr
