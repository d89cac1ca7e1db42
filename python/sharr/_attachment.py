"""One attachment: a libsharr array handle, its mapping in this process, and their end.

The extension sharr._cattach (python/cattach*.c) attaches and builds the array in one
call and closes the handle when the mapping's memoryview is garbage; the ctypes code
below does the same, slower, only where the package was built without the extension
(or $SHARR_LIBRARY names another libsharr than the one it links). NATIVE says which.

libsharr maps the array, from byte 0 of its .npy bytes (an adopted numpy file has
its data at 128, say, which is no page-aligned offset). Every numpy array over it
holds, by reference, one memoryview of that mapping (read-only for mode 'r'), and
only when that memoryview is garbage is the handle closed (sharr_close: unmap, then
release the attachment in the daemon). A refresh that finds the array grown
(sharr_array_refresh) gives a second Attachment of the same handle with a memoryview
of the longer mapping; the handle is then closed when every memoryview of it is
garbage. Nothing here ever unmaps memory that a numpy object can still reach.
"""

import ctypes
import threading
import weakref

from . import _connection, _convert, _errors, _lib
from ._info import ArrayInfo, numpy_dtype

try:
    from . import _cattach
except ImportError:  # configured with -DSHARR_PYTHON_EXTENSION=OFF
    _cattach = None
# A handle passes between the extension and ctypes (create, pickling): both must be
# one libsharr, not two copies of it.
if _cattach is not None and \
        _cattach.open_address() != ctypes.cast(_lib.open_, ctypes.c_void_p).value:
    _cattach = None
NATIVE = _cattach is not None

# A memoryview of memory that the caller keeps valid for as long as the memoryview
# lives, and its flags (Python's PyBUF_READ, PyBUF_WRITE) by mode.
_memoryview = ctypes.pythonapi.PyMemoryView_FromMemory
_memoryview.restype = ctypes.py_object
_memoryview.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int)
_BUFFER_FLAGS = {
    "r": 0x100,   # read-only: libsharr maps it PROT_READ
    "r+": 0x200,
    "w+": 0x200,
    "c": 0x200,   # libsharr maps 'c' MAP_PRIVATE: writes stay in this process
}

# Serialises what reads or changes a handle's mapping from several threads: a refresh
# (which may move it) against another refresh or a flush (which msyncs it).
_mapping_lock = threading.Lock()


class _Handle:
    """A sharr_array_t * and the number of memoryviews of its mappings still alive."""
    __slots__ = ("ptr", "views")

    def __init__(self, ptr):
        self.ptr = ptr
        self.views = 0


class _Mapping(weakref.ref):
    """A weakref to an attachment's memoryview that carries its _Handle."""
    __slots__ = ("handle",)


# id of a _Mapping -> that _Mapping, until its memoryview is garbage; the weakref lives
# here so that its callback runs. (A writable memoryview cannot be hashed, so neither
# can a weakref to it.)
_open_handles = {}


def _release(ref):
    """Close the handle of the memoryview just collected once no other memoryview of
    it (a refresh's) is left.

    Errors are dropped: there is no caller left to tell, and the daemon releases
    whatever a connection still holds when the connection closes. In a forked child
    this only unmaps and closes the child's copies (libsharr's fork contract)."""
    if _open_handles.pop(id(ref), None) is not None:
        ref.handle.views -= 1
        if ref.handle.views == 0:
            _lib.close(ref.handle.ptr)


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


class _Methods:
    """What an Attachment does beyond its fields, with or without the extension."""
    __slots__ = ()

    @property
    def info(self):
        """The array's ArrayInfo as the attach reported it (built on first use)."""
        if self._info is None:
            self._info = ArrayInfo.from_c(_lib.Info.from_address(_lib.array_info(self._ptr)),
                                          _lib.array_descr(self._ptr))
        return self._info

    @property
    def server_id(self):
        """The id of the daemon that served this attachment (hello), as its
        connection knows it when first asked (by pickling)."""
        if self._server_id is None:
            self._server_id = _connection.server_id(self.socket)
        return self._server_id

    @property
    def store_id(self):
        """For a persistent array, the identity of the store that holds it (hello's
        store_id, kept across restarts, which the connection keeps); 0 for a volatile
        one."""
        return _connection.store_id(self.socket) if self.path else 0

    def flush(self):
        """Write the data back (sharr_sync: msync and, for persistent arrays, an
        fsync by the daemon). Nothing to do for 'r' and 'c' mappings, as with numpy.memmap."""
        if self.closed:
            raise ValueError(f"sharr array {self.name!r} is closed")
        if self.mode not in ("r+", "w+"):
            return
        with _mapping_lock:
            _errors.check(_lib.sync(self._ptr), self.name)


_ATTACHMENT_DOC = """An open array in this process: handle, metadata and the memoryview of its mapping.

    mmap is the memoryview of the whole mapping (numpy.memmap's _mmap): every sharr
    array is made over it, offset bytes in, so its .base is that memoryview, as a
    numpy.memmap's is its mmap (no numpy.memmap or mmap.mmap in the chain: joblib,
    which walks .base chains for those, leaves sharr arrays to their own pickling).
    socket, name and mode are the attach's; dtype, shape, order, offset and path the
    array's, as in info, which is built only when asked for; address is where the
    data starts in this process; ctime_ns the array's creation time, which tells this
    incarnation of the name from later ones. closed is set by memmap.close() and only
    makes flush() refuse: the release itself follows the mapping's end."""

if NATIVE:
    class Attachment(_Methods, _cattach.Attachment):
        __doc__ = _ATTACHMENT_DOC
        __slots__ = ()

    _cattach.setup(Attachment, _errors.from_result, numpy_dtype, _connection.find,
                   _connection._found, _connection._ENVIRON)

    def wrap(socket, name, ptr):
        """The Attachment of handle ptr (a sharr_array_t * as int), which it takes over."""
        return _cattach.wrap(socket, name, ptr)

    # memmap.__new__, __array_finalize__ and close in C (see memmap).
    New = _cattach.New
    Close = _cattach.Close
    array_finalize = _cattach.array_finalize
else:
    class Attachment(_Methods):
        __doc__ = _ATTACHMENT_DOC
        __slots__ = ("socket", "name", "mode", "mmap", "address", "closed", "dtype",
                     "shape", "order", "offset", "path", "_info", "_ptr", "_server_id",
                     "_handle")

        def __init__(self, socket, name, ptr, handle=None):
            """The attachment of handle ptr, which it takes over; handle, the _Handle
            of ptr when a refresh makes another Attachment of it."""
            try:
                # The handle's own struct sharr_info, valid as long as the handle,
                # which self.mmap keeps open. Only what an array needs is read here.
                c = _lib.Info.from_address(_lib.array_info(ptr))
                mode = _lib.array_mode(ptr).decode()
                offset = c.offset
                nbytes = c.nbytes
                self.dtype = numpy_dtype(_lib.array_descr(ptr) if c.descr_len else c.dtype)
                self.shape = tuple(c.shape[:c.ndim])
                self.order = c.order.decode()
                self.path = c.path.decode() or None
                address = _lib.array_data(ptr)
                mm = _memoryview(address - offset, offset + nbytes, _BUFFER_FLAGS[mode])
            except BaseException:
                if handle is None:
                    _lib.close(ptr)
                raise
            if handle is None:
                handle = _Handle(ptr)
            ref = _Mapping(mm, _release)
            ref.handle = handle
            handle.views += 1
            _open_handles[id(ref)] = ref
            self._handle = handle
            self.socket = socket
            self.name = name
            self.mode = mode
            self.offset = offset
            self.mmap = mm
            self.address = address
            self.closed = False
            self._info = None
            self._ptr = ptr
            self._server_id = None

        @property
        def ctime_ns(self):
            return _lib.Info.from_address(_lib.array_info(self._ptr)).ctime_ns

    wrap = Attachment

    def _refreshed(att):
        """sharr_array_refresh of att's handle and the Attachment of its current
        length (att itself when its mapping covers it): see refresh."""
        _errors.check(_lib.array_refresh(att._ptr), att.name)
        c = _lib.Info.from_address(_lib.array_info(att._ptr))
        address = _lib.array_data(att._ptr)
        if address == att.address and tuple(c.shape[:c.ndim]) == att.shape:
            return att
        new = Attachment(att.socket, att.name, att._ptr, att._handle)
        new._server_id = att._server_id
        return new


def refresh(att):
    """The Attachment over att's array at its current length, after a grow: att
    itself when nothing grew since att was made, else a new Attachment of the same
    handle over the longer mapping (libsharr extends the mapping in place, or maps
    it anew and keeps the old one: att's memoryview stays valid either way). The
    handle is closed when the memoryviews of all of them are garbage."""
    with _mapping_lock:
        if NATIVE:
            return _cattach.refresh(att)
        return _refreshed(att)


def create(socket, name, typestr, shape, order, persist, perm, overwrite, flags=0,
           max_len=0):
    """Create the array name and attach it read/write. typestr is a numpy typestr,
    shape a tuple of ints, order 'C' or 'F'; flags _lib.F_POPULATE or 0; max_len the
    length the growing axis may reach (0: its own). Raises the daemon's error."""
    # Checked before anything is sent: ctypes would wrap what does not fit.
    c_shape = (ctypes.c_uint64 * len(shape))(*_convert.shape(shape))
    opts = _lib.CreateOpts(order=order.encode(), persist=int(bool(persist)),
                           perm=_convert.create_perm(perm), overwrite=int(bool(overwrite)),
                           flags=flags, max_len=max_len)
    path = _connection.resolve(socket)
    conn = _connection.get(path)
    c_name = encode_name(name)
    ptr = ctypes.c_void_p()
    _errors.check(_lib.create(conn, c_name, typestr.encode(), len(shape), c_shape,
                              ctypes.byref(opts), ctypes.byref(ptr)), name)
    return wrap(path, name, ptr.value)


# The mode as libsharr takes it, for the modes open_ is given.
_C_MODES = {"r": b"r", "r+": b"r+", "c": b"c"}


def open_(socket, name, mode, wait_ms, owner=None, flags=0):
    """Attach the existing array name in mode 'r', 'r+' or 'c', waiting up to wait_ms
    for it to be created (0: no wait, -1: forever); owner (a uid, or None) is the
    one uid the array may belong to; flags _lib.F_POPULATE, _lib.F_PUBLISHED or 0.
    Raises the daemon's error."""
    path, conn = _connection.find(socket)
    # The usual name, a str without NUL, is encoded here; encode_name judges the rest.
    if type(name) is str and "\0" not in name:
        c_name = name.encode()
    else:
        c_name = encode_name(name)
    # NULL options are libsharr's defaults: no wait, no flags. ctypes passes a
    # struct or c_void_p by reference where the prototype wants a pointer to it.
    if owner is not None:
        opts = _lib.OpenOpts(wait_ms, flags | _lib.F_OWNER, owner)
    else:
        opts = _lib.OpenOpts(wait_ms, flags) if wait_ms or flags else None
    ptr = ctypes.c_void_p()
    rc = _lib.open_(conn, c_name, _C_MODES[mode], opts, ptr)
    if rc < 0:
        raise _errors.from_result(rc, name)
    return wrap(path, name, ptr.value)


if NATIVE:
    def attach(cls, socket, name, mode, wait_ms=0, flags=0):
        """An array of class cls (a memmap) over the existing array name, attached in
        mode 'r', 'r+' or 'c' as open_ does, in one call of the extension."""
        path, conn = _connection.find(socket)
        return _cattach.attach(cls, path, conn, name, mode, wait_ms, -1, flags)
else:
    def attach(cls, socket, name, mode, wait_ms=0, flags=0):
        att = open_(socket, name, mode, wait_ms, None, flags)
        return cls._over(att, att.shape, att.dtype, 0, None, att.order)
