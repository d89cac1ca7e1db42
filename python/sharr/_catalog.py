"""Questions and orders about names, not mappings: info, list, stats, unlink.

Each call goes to the daemon on this process's connection for the socket and
returns plain records from _info.py; none of them attaches or maps anything.
"""

import builtins
import ctypes

from . import _attachment, _connection, _errors, _lib
from ._info import ArrayInfo, Stats

# Arrays asked for per sharr_list call; the daemon may return fewer (its page limit).
_PAGE = 256


def info(name, *, socket=None):
    """The daemon's ArrayInfo of the array name (FileNotFoundError if none)."""
    conn = _connection.get(_connection.resolve(socket))
    out = _lib.Info()
    _errors.check(_lib.stat(conn, _attachment.encode_name(name), ctypes.byref(out)), name)
    return ArrayInfo.from_c(out)


def list(*, socket=None):
    """ArrayInfo of every array the caller may see, sorted by name."""
    conn = _connection.get(_connection.resolve(socket))
    page = (_lib.Info * _PAGE)()
    n = ctypes.c_size_t()
    more = ctypes.c_int()
    result = []
    after = None
    while True:
        _errors.check(_lib.list_(conn, after, page, _PAGE, ctypes.byref(n),
                                 ctypes.byref(more)))
        result.extend(ArrayInfo.from_c(page[i]) for i in builtins.range(n.value))
        if not more.value or n.value == 0:
            return result
        after = page[n.value - 1].name


def stats(*, socket=None):
    """The daemon's Stats."""
    conn = _connection.get(_connection.resolve(socket))
    out = _lib.Stats()
    _errors.check(_lib.stats(conn, ctypes.byref(out)))
    return Stats.from_c(out)


def unlink(name, *, socket=None):
    """Remove the name at once. Processes that have it mapped keep valid memory
    until their last view of it is gone, as with an unlinked file."""
    conn = _connection.get(_connection.resolve(socket))
    _errors.check(_lib.unlink(conn, _attachment.encode_name(name)), name)
