"""What a producer does to a named array after creating it, as libsharr's produce.c:
publish (complete and immutable) and grow (a longer growing axis). Both ask the
daemon by name and return the array's new ArrayInfo; attaching and mapping are not
theirs (memmap.publish and memmap.refresh in _array.py use them).
"""

import ctypes

from . import _attachment, _connection, _convert, _errors, _lib
from ._catalog import _from_c


def publish(name, *, socket=None):
    """Mark the array name complete and immutable (its owner or root only: else
    PermissionError) and return its ArrayInfo. From then on, until it is unlinked,
    mode 'r+' is refused (PermissionError, errno EROFS; 'r' and 'c' attach), grow too,
    and the opens waiting with published=True return. A volatile array is sealed by
    the kernel against new writable mappings; a persistent one's file loses its write
    bits. Mappings writable before the publish (the producer's own) keep writing:
    publish when the writing is done. Publishing a published array is no error."""
    conn = _connection.get(_connection.resolve(socket))
    out = _lib.Info()
    _errors.check(_lib.publish(conn, _attachment.encode_name(name), ctypes.byref(out)), name)
    return _from_c(conn, out)


def grow(name, length, *, socket=None):
    """Make the growing axis of the array name (the first in C order, the last in F
    order) length long, in place, and return its new ArrayInfo. Arrays already
    mapped keep their shape and stay valid; a.refresh() gives the array over the new
    length. Never shrinks (ValueError); a published array is immutable
    (PermissionError); a volatile array grows up to the max_len it was created with
    (OSError EFBIG beyond); quotas apply as to a create."""
    # Checked here only so that ctypes cannot wrap it; libsharr judges the rest.
    length = _convert.bounded(length, 1, 2 ** 64 - 1, "length")
    conn = _connection.get(_connection.resolve(socket))
    out = _lib.Info()
    _errors.check(_lib.grow(conn, _attachment.encode_name(name), length, ctypes.byref(out)),
                  name)
    return _from_c(conn, out)
