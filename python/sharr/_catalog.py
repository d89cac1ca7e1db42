"""Questions and orders about names, not mappings: info, list, holders, stats,
unlink, chmod, chown, adopt.

Each call goes to the daemon on this process's connection for the socket and
returns plain records from _info.py; none of them attaches or maps anything.
"""

import builtins
import ctypes
import os

from . import _attachment, _connection, _convert, _errors, _lib
from ._info import ArrayInfo, Holder, Stats

# Arrays asked for per sharr_list call; the daemon may return fewer (its page limit).
_PAGE = 256


def info(name, *, socket=None):
    """The daemon's ArrayInfo of the array name (FileNotFoundError if none)."""
    conn = _connection.get(_connection.resolve(socket))
    out = _lib.Info()
    descr = ctypes.create_string_buffer(_lib.DESCR_MAX + 1)
    _errors.check(_lib.describe(conn, _attachment.encode_name(name), ctypes.byref(out),
                                descr, len(descr)), name)
    return ArrayInfo.from_c(out, descr.value)


def _from_c(conn, c):
    """ArrayInfo of c, asking the daemon for a record's description, which a struct
    sharr_info has no room for."""
    if not c.descr_len:
        return ArrayInfo.from_c(c)
    descr = ctypes.create_string_buffer(_lib.DESCR_MAX + 1)
    if _lib.describe(conn, c.name, None, descr, len(descr)) < 0:
        return ArrayInfo.from_c(c)  # gone since: its raw bytes' dtype ("|V<n>")
    return ArrayInfo.from_c(c, descr.value)


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
        result.extend(_from_c(conn, page[i]) for i in builtins.range(n.value))
        if not more.value or n.value == 0:
            return result
        after = page[n.value - 1].name


def holders(name=None, *, socket=None):
    """Holder records of the attachments the caller may see (of arrays it may read,
    and its own), in handle order; name None for every array's, else only that
    one's (none for a name nobody holds, or no array has)."""
    conn = _connection.get(_connection.resolve(socket))
    c_name = _attachment.encode_name(name) if name is not None else None
    page = (_lib.Holder * _PAGE)()
    n = ctypes.c_size_t()
    more = ctypes.c_int()
    result = []
    after = 0
    while True:
        _errors.check(_lib.holders(conn, c_name, after, page, _PAGE, ctypes.byref(n),
                                   ctypes.byref(more)), name)
        result.extend(Holder.from_c(page[i]) for i in builtins.range(n.value))
        if not more.value or n.value == 0:
            return result
        after = page[n.value - 1].handle


def chmod(name, perm, *, socket=None):
    """Set the array's permission bits (0..0o777). Its owner or root only
    (PermissionError). Descriptors handed out keep their access; later opens are
    checked against the new bits."""
    perm = _convert.perm(perm)
    conn = _connection.get(_connection.resolve(socket))
    _errors.check(_lib.chmod(conn, _attachment.encode_name(name), perm), name)


def chown(name, uid=None, gid=None, *, socket=None):
    """Give the array to owner uid (root only) and/or group gid (its owner or root);
    None leaves that one as it is (PermissionError when not allowed)."""
    if uid is None and gid is None:
        raise ValueError("chown needs a uid or a gid")
    c_uid = _lib.ID_KEEP if uid is None else _convert.ident(uid, "uid", "uid")
    c_gid = _lib.ID_KEEP if gid is None else _convert.ident(gid, "gid", "gid")
    conn = _connection.get(_connection.resolve(socket))
    _errors.check(_lib.chown(conn, _attachment.encode_name(name), c_uid, c_gid), name)


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


def adopt(path, name, *, perm=0o600, overwrite=False, socket=None):
    """Make the .npy file at path the persistent array name without copying it, as
    `sharr import --move` does: sharrd links that very file into its store, and its
    old path is then removed. The file must be a regular .npy file with one link,
    owned by the daemon's user and on the store's filesystem (else PermissionError,
    or OSError with EMLINK or EXDEV: copy it instead). Returns the new ArrayInfo;
    the data stays where numpy's header ends (.offset, usually 128)."""
    opts = _lib.CreateOpts(perm=_convert.create_perm(perm), overwrite=int(bool(overwrite)))
    conn = _connection.get(_connection.resolve(socket))
    out = _lib.Info()
    fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        sent = os.fstat(fd)
        _errors.check(_lib.adopt(conn, _attachment.encode_name(name), fd, ctypes.byref(opts),
                                 ctypes.byref(out)), name)
    finally:
        os.close(fd)
    # Only the name of the very file sent: another file put there since stays.
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return _from_c(conn, out)
    if (now.st_dev, now.st_ino) == (sent.st_dev, sent.st_ino):
        os.unlink(path)
    return _from_c(conn, out)
