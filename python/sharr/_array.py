"""sharr.memmap: a numpy.memmap whose bytes are a named array served by sharrd.

It owns the user-facing side of an array: argument checking, numpy's memmap
conventions (modes, .filename/.offset/.mode, reductions returning plain numpy
results), close() and pickling by name. Mapping and release live in _attachment.py,
the pickle format in _pickle.py.
"""

import errno
import operator
import pwd

import numpy as np

from . import _attachment, _catalog, _convert, _dask, _lib, _pickle, _produce
from ._info import record_descr

_MODES = {
    "r": "r", "readonly": "r",
    "r+": "r+", "readwrite": "r+",
    "w+": "w+", "write": "w+",
    "c": "c", "copyonwrite": "c",
}


def _bad_mode(mode):
    return ValueError(f"mode must be one of {sorted(_MODES)}, not {mode!r}")


def _mode(mode):
    try:
        return _MODES[mode]
    except (KeyError, TypeError):
        raise _bad_mode(mode) from None


def _order(order):
    if order not in ("C", "F", "c", "f"):
        raise ValueError(f"order must be 'C' or 'F', not {order!r}")
    return order.upper()


def _shape(shape):
    return _convert.shape(shape)


def _shape_to_create(shape):
    shape = _shape(shape)
    # numpy refuses dimensions beyond its own limit (32 before numpy 2.0) with a
    # ValueError; ask before the daemon creates an array this process cannot map.
    np.empty((0,) * len(shape))
    return shape


def _offset(offset):
    """Refuse an offset other than 0 (numpy's default, the only one a named array has)."""
    offset = _convert.integer(offset, "offset")
    if offset != 0:
        raise ValueError(f"offset must be 0, not {offset}: a sharr array starts at its "
                         "data; for the view of its bytes from k on, take "
                         "a.view(np.uint8)[k:]")


def _typestr(dtype):
    """What a create names dtype by: its typestr, or a record's description (numpy's
    list form, as np.save writes it)."""
    dt = np.dtype(dtype)
    if dt.names is not None:
        return record_descr(dt)
    if dt.subdtype is not None or dt.hasobject:
        raise ValueError(f"sharr arrays hold plain fixed-size elements, not {dt}")
    return dt.str


def _fold(dtype, shape):
    """(dtype, shape) with a subarray dtype such as ('f4', (3,)) folded into the
    shape, as numpy folds it into an array's: (float32, shape + (3,)). shape may be
    None (not given) and stays None."""
    dt = np.dtype(dtype)
    if dt.subdtype is None:
        return dt, shape
    base, sub = dt.subdtype
    return base, None if shape is None else _shape(shape) + sub


def _create_args(dtype, shape):
    """The typestr and shape a create sends, from a user's dtype and shape."""
    dt, shape = _fold(dtype, _shape(shape))
    return _typestr(dt), _shape_to_create(shape)


def _callers(dtype, att):
    """The dtype an array over att gets: the caller's own (folded) dtype, as
    numpy.memmap keeps its caller's, where it equals the array's (an aligned struct
    stays aligned, metadata stays); else the one the daemon describes. dtype may be
    None (not given)."""
    if dtype is None:
        return att.dtype
    dt = _fold(dtype, None)[0]
    return dt if dt == att.dtype else att.dtype


_wait_ms = _convert.wait_ms
_attach = _attachment.attach
_POPULATE = _lib.F_POPULATE
_PUBLISHED = _lib.F_PUBLISHED


def _max_len(max_len):
    """max_len as a create sends it (0: the array's own length)."""
    return _convert.bounded(max_len, 0, 2 ** 64 - 1, "max_len")


def _owner(owner):
    """The uid an attach requires: owner as given (a uid, or a user name looked up in
    the user database here, in the client), or None for no requirement."""
    if owner is None:
        return None
    if isinstance(owner, str):
        try:
            return pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise ValueError(f"owner: no user named {owner!r}") from None
    # numpy's bool too: np.True_ would otherwise pass operator.index as uid 1.
    if isinstance(owner, (bool, np.bool_)):
        raise TypeError("owner must be a uid (int) or a user name (str), not bool")
    try:
        uid = operator.index(owner)
    except TypeError:
        raise TypeError("owner must be a uid (int) or a user name (str), "
                        f"not {type(owner).__name__}") from None
    return _convert.ident(uid, "owner", "uid")


def _mismatch(info, dtype, shape, order):
    """Why the caller's dtype/shape/order (normalized; None: not given) disagree
    with the array's, or None."""
    if dtype is not None and dtype != info.dtype:
        return f"sharr array {info.name!r} has dtype {info.dtype}, not {dtype}"
    if shape is not None and shape != info.shape:
        return f"sharr array {info.name!r} has shape {info.shape}, not {shape}"
    # Order is only a layout for ndim >= 2; a 1-d array is both C and F.
    if order is not None and order != info.order and len(info.shape) > 1:
        return f"sharr array {info.name!r} has order {info.order!r}, not {order!r}"
    return None


class memmap(np.memmap):
    """A named array of sharrd, mapped into this process; an ndarray like numpy.memmap.

    memmap(name, dtype=None, mode='r+', offset=0, shape=None, order=None, *,
           persist=False, perm=0o600, wait=None, owner=None, socket=None,
           populate=False, max_len=0, published=False)

    The arguments are numpy.memmap's, in numpy's order; sharr's own are keywords.
    mode 'w+' creates the array (shape required, an int or a tuple; dtype uint8 and
    order 'C' unless given, as numpy's defaults), replacing an existing one of that
    name as numpy's 'w+' truncates a file. Modes 'r+', 'r' and 'c' attach an
    existing array and take dtype, shape and order from the daemon; those given are
    checked (ValueError on mismatch). A dtype given is kept as given, as numpy.memmap
    keeps it (an aligned struct stays aligned); with none, a record dtype is the one
    numpy.load gives for the array's .npy header. offset must be 0: a sharr array has no bytes
    before its data to skip (ValueError otherwise; a.view(np.uint8)[k:] is the view
    of its bytes from k on). persist (keep on disk) and perm (permission bits) apply
    to 'w+'; wait (seconds, math.inf for ever) lets an attach wait for the name to
    appear. owner (a uid or a user name) makes an attach accept only an array of
    that user: any user may create a free name, also one you wait for, so name the
    owner you trust; another owner's array raises PermissionError, also at the end
    of a wait. socket is the daemon's socket path (default: $SHARR_SOCKET, then the
    usual places). populate=True prefaults the whole mapping at attach or create
    (MAP_POPULATE): the attach takes longer, and the first pass over the data then
    takes no page faults. max_len ('w+', volatile arrays) is the length the first
    axis may grow to with sharr.grow (its memory is set aside, not allocated; 0: no
    growth). published=True (attaching) accepts only an array its producer
    published (sharr.publish, a.publish()): with wait, the attach returns once it is
    published (TimeoutError when not in time); without, BlockingIOError while it is
    not. A published array refuses mode 'r+' (PermissionError).

    .name is the array's name, .filename the .npy path of a persistent array (None
    for a volatile one), .offset the data offset in it (4096, or where numpy's header ends in an
    adopted file), .mode the mode.
    flush() makes writes durable. close() ends this array's use of the attachment;
    memory stays valid for every view until the last one is garbage (see README).
    publish() marks the array complete; refresh() returns the array over its
    current length after a grow (this one keeps its shape: numpy arrays never
    change shape in place).
    Pickling carries the name, not the data, except in mode 'c', whose private
    pages pickle by value (np.asarray(a) pickles any array by value).
    """

    # What numpy.memmap.__array_finalize__ sets on an array over no mapping (and _sharr
    # likewise): as class attributes they need not be set on every new array.
    _sharr = None
    _mmap = None
    filename = None
    offset = None
    mode = None

    def __new__(cls, name, dtype=None, mode="r+", offset=0, shape=None, order=None, *,
                persist=False, perm=0o600, wait=None, owner=None, socket=None,
                populate=False, max_len=0, published=False):
        try:  # _mode(), without a call: an attach is a few µs of Python in all
            mode = _MODES[mode]
        except (KeyError, TypeError):
            raise _bad_mode(mode) from None
        if offset != 0 or type(offset) is not int:
            _offset(offset)
        flags = _POPULATE if populate else 0
        if published:
            if mode == "w+":
                raise ValueError("published applies to attaching ('r', 'r+', 'c'), not "
                                 "'w+': a create makes an unpublished array")
            flags |= _PUBLISHED
        if max_len and mode != "w+":
            raise ValueError("max_len applies to creating ('w+'): an existing array's "
                             "room to grow was set when it was made")
        if mode == "w+":
            if shape is None:
                raise ValueError("mode 'w+' needs a shape (shape must be given)")
            if dtype is None:
                dtype = np.uint8
            if wait is not None:
                raise ValueError("wait applies to attaching ('r', 'r+', 'c'), not 'w+'")
            if owner is not None:
                raise ValueError("owner applies to attaching ('r', 'r+', 'c'), not 'w+': "
                                 "a create makes the array yours")
            att = _attachment.create(socket, name, *_create_args(dtype, shape),
                                     _order(order or "C"), persist, perm, True, flags,
                                     _max_len(max_len))
            return cls._over(att, att.shape, _callers(dtype, att), 0, None, att.order)
        elif owner is not None:
            att = cls._open_checked(socket, name, mode, dtype, shape, order, wait,
                                    _owner(owner), flags)
        elif dtype is None and shape is None and order is None:
            # The usual attach: nothing given to check; one call builds the array.
            return _attach(cls, socket, name, mode, 0 if wait is None else _wait_ms(wait),
                           flags)
        else:
            att = cls._open_checked(socket, name, mode, dtype, shape, order, wait, None,
                                    flags)
        return cls._over(att, att.shape, _callers(dtype, att), 0, None, att.order)

    @staticmethod
    def _open_checked(socket, name, mode, dtype, shape, order, wait, owner, flags):
        """The attach that checks what the caller gave (dtype, shape, order: None when
        not given) against the array, and asks for owner (a uid, or None)."""
        # Arguments are checked before the daemon is asked anything.
        shape = _shape(shape) if shape is not None else None
        given = sub = ()
        if dtype is not None:
            given = np.dtype(dtype)
            sub = given.shape
            dtype, shape = _fold(given, shape)
        order = _order(order) if order is not None else None
        att = _attachment.open_(socket, name, mode, _wait_ms(wait), owner, flags)
        why = _mismatch(att.info, dtype, shape, order)
        if why is None and sub and (len(sub) > len(att.shape) or
                                    att.shape[-len(sub):] != sub):
            why = (f"sharr array {name!r} has shape {att.shape}, which does not end in "
                   f"the subarray shape {sub} of dtype {given}")
        if why is not None:
            del att  # release now, not when the traceback dies
            raise ValueError(why)
        return att

    @classmethod
    def _over(cls, att, shape, dtype, offset, strides, order="C"):
        """An array of this class over att's mapping, offset bytes into it."""
        # Over the memoryview itself, as numpy.memmap is over its mmap, so that
        # np.asarray(arr).base is arr (numpy collapses .base chains only through
        # ndarrays). Positional arguments: numpy parses keywords at a cost like the
        # array's own.
        arr = np.ndarray.__new__(cls, shape, dtype, att.mmap, att.offset + offset, strides,
                                 order)
        arr._sharr = att
        arr._mmap = att.mmap
        arr.filename = att.path
        arr.offset = att.offset
        arr.mode = att.mode
        return arr

    def __array_finalize__(self, obj):
        # No obj (an array made over a buffer, as _over makes them) or a plain ndarray
        # passes no mapping on, and the class attributes above already say so:
        # numpy.memmap's rule, a np.may_share_memory, is for an obj that may have one.
        if obj is None or type(obj) is np.ndarray:
            return
        super().__array_finalize__(obj)
        # A view shares obj's attachment; a copy (numpy sets _mmap None) has none.
        self._sharr = getattr(obj, "_sharr", None) if self._mmap is not None else None

    if _attachment.NATIVE:
        # With the extension, the usual attach (a name, a mode, perhaps a socket) is
        # parsed and done in C, with no Python frame; any other call goes to the
        # __new__ above as given. __array_finalize__ is a C method that does nothing,
        # with no Python frame, where the rule above returns at once, and calls it,
        # as _array_finalize, otherwise.
        __new__ = _attachment.New(__new__, _MODES)
        _array_finalize = __array_finalize__
        __array_finalize__ = _attachment.array_finalize()

    def __array_wrap__(self, arr, context=None, *args):
        # numpy.memmap unwraps results for its exact type only, and leaves those of
        # subclasses as they are; likewise for ours: np.sum() gives a numpy scalar
        # and a + 1 a plain ndarray, a subclass's results keep the subclass.
        arr = np.ndarray.__array_wrap__(self, arr, context, *args)
        if self is arr or type(self) is not memmap:
            return arr
        if arr.shape == ():
            return arr[()]
        return arr.view(np.ndarray)

    def __getitem__(self, index):
        res = np.ndarray.__getitem__(self, index)
        # As numpy.memmap: a copy (fancy indexing) of this very class is a plain
        # ndarray; a subclass's stays of the subclass.
        if type(res) is memmap and res._sharr is None:
            return res.view(np.ndarray)
        return res

    @property
    def name(self):
        """The array's name in the daemon; None for a copy that owns its memory."""
        return self._sharr.name if self._sharr is not None else None

    def flush(self):
        """Write changes back: msync, and for a persistent array an fsync by the
        daemon. Raises ValueError after close()."""
        if self._sharr is not None:
            self._sharr.flush()

    def _attachment(self, what):
        att = self._sharr
        if att is None:
            raise ValueError(f"{what}: this array has no attachment (a copy owns its "
                             "memory)")
        return att

    def publish(self):
        """sharr.publish of this array's name: complete and immutable from now on
        (see sharr.publish); returns its ArrayInfo. This mapping keeps writing, as
        any mapping writable before the publish: publish when the writing is done
        (and flush() first if a persistent array's data must be on disk).
        FileNotFoundError when this array was unlinked and its name now names another
        array (sharr.publish goes by name; this checks the creation time first, so
        only a replacement in between that check and the publish escapes it)."""
        att = self._attachment("publish")
        if _catalog.info(att.name, socket=att.socket).ctime_ns != att.ctime_ns:
            raise FileNotFoundError(errno.ENOENT, f"{att.name} was unlinked and its name "
                                    "now names another array: publish that one through "
                                    "its own mapping or sharr.publish", att.name)
        return _produce.publish(att.name, socket=att.socket)

    def refresh(self):
        """The whole array over its current length, after sharr.grow made it longer:
        a new memmap over the new rows (a numpy array cannot change shape in place),
        or this very array when it is the whole array and nothing grew. Called on a
        view, it gives the whole array. This array and its views keep working over the
        old length and share memory with the new one, except in mode 'c' when the
        mapping had to move: private changes stay in the old pages. Reads the length
        from the array's own descriptor, no daemon round trip."""
        att = self._attachment("refresh")
        new = _attachment.refresh(att)
        if (new is att and self.shape == att.shape and self.dtype == att.dtype and
                self.__array_interface__["data"][0] == att.address and
                (self.flags.f_contiguous if att.order == "F" else self.flags.c_contiguous)):
            return self
        return type(self)._over(new, new.shape, new.dtype, 0, None, new.order)

    def close(self):
        """Declare this array's attachment done. Never invalidates memory: the mapping
        is unmapped and the daemon told when the last array or view of it is garbage
        (at once, in CPython, when the last reference goes). Idempotent."""
        att = self._sharr
        if att is not None:
            att.closed = True

    def __reduce_ex__(self, protocol):
        # A copy owns its values; a 'c' array's values are its private pages, which
        # no attach elsewhere could see: both pickle by value, as numpy.memmap does.
        if self._sharr is None or self._sharr.mode == "c":
            return self.view(np.ndarray).__reduce_ex__(protocol)
        return _pickle.reduce(self, protocol)

    def __reduce__(self):
        return self.__reduce_ex__(2)

    def __dask_tokenize__(self):
        # Dask's token: the array's name and incarnation and the view, not its bytes
        # (_dask.token says what it means); a copy or a 'c' mapping, by value.
        return _dask.token(self) or _dask.value_token(self)


if _attachment.NATIVE:
    # memmap.close's rule in C, with no Python frame (a method descriptor: a.close()
    # makes no bound method either).
    memmap.close = _attachment.Close(memmap.close)


def create(name, shape, dtype=np.float64, *, order="C", persist=False, perm=0o600,
           overwrite=False, socket=None, populate=False, max_len=0):
    """Create the array name, zero-filled, and return it mapped read/write.

    Unlike memmap(mode='w+'), an existing name raises FileExistsError unless
    overwrite is true. populate prefaults the mapping and max_len sets a volatile
    array's room to grow, as for memmap."""
    att = _attachment.create(socket, name, *_create_args(dtype, shape),
                             _order(order), persist, perm, overwrite,
                             _POPULATE if populate else 0, _max_len(max_len))
    return memmap._over(att, att.shape, _callers(dtype, att), 0, None, att.order)


def open(name, mode="r+", *, wait=None, owner=None, socket=None, populate=False,
         published=False):
    """Attach the existing array name in mode 'r', 'r+' or 'c'; wait (seconds,
    math.inf for ever) for it to be created if it does not exist yet; owner (a uid
    or a user name) to accept only an array of that user (PermissionError else);
    populate prefaults the mapping and published=True waits for (or requires) its
    publish, as for memmap."""
    mode = _mode(mode)
    if mode == "w+":
        raise ValueError("sharr.open attaches existing arrays; use sharr.create")
    return memmap(name, mode=mode, wait=wait, owner=owner, socket=socket,
                  populate=populate, published=published)
