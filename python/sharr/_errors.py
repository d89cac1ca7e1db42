"""Turning libsharr's negative errno results into Python exceptions.

The exception carries the daemon's or library's own message (sharr_last_error(),
read on the thread that made the call) and the array name it concerns. Which
exception class a caller sees is decided here and nowhere else.
"""

import errno

from . import _lib

# Bad arguments are ValueError in Python, as numpy raises for a bad shape or dtype.
_VALUE_ERRNOS = {errno.EINVAL, errno.EOVERFLOW}
# A published array refuses writers (EROFS): a permission, as a read-only file's is.
_PERMISSION_ERRNOS = {errno.EROFS}


def from_result(rc, name=None):
    """The exception for a negative result rc of a libsharr call about name.

    Must be called on the thread that made the call, before any other libsharr call,
    because the message is per thread. OSError() itself picks FileNotFoundError,
    FileExistsError, PermissionError, TimeoutError, ... from the errno; EROFS (a
    published array refuses writers) is a PermissionError too, errno EROFS."""
    code = -rc
    message = _lib.last_error().decode("utf-8", "replace")
    if not message:
        message = _lib.strerror(rc).decode("utf-8", "replace")
    if code in _VALUE_ERRNOS:
        return ValueError(f"{name}: {message}" if name is not None else message)
    cls = PermissionError if code in _PERMISSION_ERRNOS else OSError
    if name is None:
        return cls(code, message)
    return cls(code, message, name)


def check(rc, name=None):
    """Return rc when it is >= 0; raise the matching exception otherwise."""
    if rc < 0:
        raise from_result(rc, name)
    return rc
