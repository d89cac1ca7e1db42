"""One attachment: a libsharr array handle, its mapping in this process, and their end.

libsharr is asked not to map (SHARR_F_NOMAP); the descriptor it received is mapped
here with Python's mmap, so every numpy array over it holds the mmap object by
reference. The mapping is unmapped only when the last such array is garbage, and
only then is the handle closed (sharr_close), which releases the attachment in the
daemon. Nothing here ever unmaps memory that a numpy object can still reach.
"""

import ctypes
import mmap
import weakref

import numpy as np

from . import _connection, _errors, _lib
from ._info import ArrayInfo

_ACCESS = {
    "r": mmap.ACCESS_READ,    # O_RDONLY descriptor, PROT_READ, MAP_SHARED
    "r+": mmap.ACCESS_WRITE,  # PROT_READ|PROT_WRITE, MAP_SHARED
    "w+": mmap.ACCESS_WRITE,
    "c": mmap.ACCESS_COPY,    # PROT_READ|PROT_WRITE, MAP_PRIVATE
}


class _Handle:
    """The sharr_array_t * of one attachment; None once closed. Shared between the
    attachment and its finalizer so the finalizer need not keep the mapping alive."""
    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr


def _release(handle):
    """Close the handle once. Runs when the mmap object is collected (or at exit).

    Errors are dropped: there is no caller left to tell, and the daemon releases
    whatever a connection still holds when the connection closes. In a forked child
    this only closes the child's copy of the descriptor (libsharr's fork contract)."""
    ptr, handle.ptr = handle.ptr, None
    if ptr is not None:
        _lib.close(ptr)


def encode_name(name):
    """The name as libsharr takes it. Its syntax is libsharr's and the daemon's to
    judge; only what a C string cannot carry is refused here."""
    if isinstance(name, bytes):
        name = name.decode()
    if not isinstance(name, str):
        raise TypeError(f"array name must be str, not {type(name).__name__}")
    if "\0" in name:
        raise ValueError("array name contains a NUL byte")
    return name.encode()


class Attachment:
    """An open array in this process: handle, metadata, mmap and a flat uint8 view.

    raw is a plain ndarray over the whole mapping; every sharr array is a view of it.
    It being a plain ndarray (not a numpy.memmap) keeps joblib's memmap detection,
    which walks .base chains, from mistaking plain views of sharr arrays for files."""
    __slots__ = ("socket", "name", "mode", "info", "mmap", "raw", "closed", "_handle")

    def __init__(self, socket, name, mode, ptr):
        self._handle = _Handle(ptr)
        try:
            info = ArrayInfo.from_c(_lib.array_info(ptr).contents)
            # An adopted numpy file has its data at 128, say, which mmap cannot
            # take as an offset (not page aligned): map from byte 0.
            mm = mmap.mmap(_lib.array_fd(ptr), info.offset + info.nbytes,
                           access=_ACCESS[mode])
        except BaseException:
            _release(self._handle)
            raise
        weakref.finalize(mm, _release, self._handle)
        self.socket = socket
        self.name = name
        self.mode = mode
        self.info = info
        self.mmap = mm
        self.raw = np.ndarray((info.nbytes,), np.uint8, buffer=mm, offset=info.offset)
        self.closed = False

    @property
    def address(self):
        """Where the data starts in this process (asked only by pickling)."""
        return self.raw.__array_interface__["data"][0]

    def flush(self):
        """Write the data back (msync) and, for persistent arrays, have the daemon
        fsync it. Nothing to do for 'r' and 'c' mappings, as with numpy.memmap."""
        if self.closed:
            raise ValueError(f"sharr array {self.name!r} is closed")
        if self.mode not in ("r+", "w+"):
            return
        self.mmap.flush()
        _errors.check(_lib.sync(self._handle.ptr), self.name)

    def close(self):
        """Mark the attachment closed. The release itself follows the mapping's end."""
        self.closed = True


def create(socket, name, typestr, shape, order, persist, perm, overwrite):
    """Create the array name and attach it read/write. typestr is a numpy typestr,
    shape a tuple of ints, order 'C' or 'F'. Raises the daemon's error."""
    path = _connection.resolve(socket)
    conn = _connection.get(path)
    c_name = encode_name(name)
    c_shape = (ctypes.c_uint64 * len(shape))(*shape)
    opts = _lib.CreateOpts(order=order.encode(), persist=int(bool(persist)),
                           perm=perm, overwrite=int(bool(overwrite)), flags=_lib.F_NOMAP)
    ptr = ctypes.c_void_p()
    _errors.check(_lib.create(conn, c_name, typestr.encode(), len(shape), c_shape,
                              ctypes.byref(opts), ctypes.byref(ptr)), name)
    return Attachment(path, name, "w+", ptr.value)


def open_(socket, name, mode, wait_ms):
    """Attach the existing array name in mode 'r', 'r+' or 'c', waiting up to wait_ms
    for it to be created (0: no wait, -1: forever). Raises the daemon's error."""
    path = _connection.resolve(socket)
    conn = _connection.get(path)
    c_name = encode_name(name)
    opts = _lib.OpenOpts(wait_ms=wait_ms, flags=_lib.F_NOMAP)
    ptr = ctypes.c_void_p()
    _errors.check(_lib.open_(conn, c_name, mode.encode(), ctypes.byref(opts),
                             ctypes.byref(ptr)), name)
    return Attachment(path, name, mode, ptr.value)

