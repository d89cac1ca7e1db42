"""Pickling sharr arrays by name, so worker processes share memory instead of copying.

A pickle holds the daemon's socket path, the array's name and mode, the creation
time that identifies this incarnation of the name, and the view's geometry (dtype,
shape, strides, byte offset into the mapping): a few hundred bytes whatever the
array's size. Unpickling attaches the name again, in whatever process that is.
Arrays in mode 'c' never come here: their private pages are no name's data, and
memmap.__reduce_ex__ pickles them by value.
"""

from . import _attachment


def _portable_dtype(dtype):
    # A plain dtype travels as its typestr (a few bytes); structured ones as themselves.
    if dtype.names is None and dtype.subdtype is None:
        return dtype.str
    return dtype


def reduce(arr):
    """The (callable, args) pickle of arr, a sharr memmap (or view) that has an
    attachment in mode 'r', 'r+' or 'w+'. 'w+' travels as 'r+': unpickling must
    never create or truncate."""
    att = arr._sharr
    mode = "r+" if att.mode == "w+" else att.mode
    offset = arr.__array_interface__["data"][0] - att.address
    args = (type(arr), att.socket, att.name, mode, att.ctime_ns,
            _portable_dtype(arr.dtype), arr.shape, arr.strides, offset,
            bool(arr.flags.writeable))
    return rebuild, args


def rebuild(cls, socket, name, mode, ctime_ns, dtype, shape, strides, offset, writeable):
    """Attach name again and return the view the pickle describes.

    Raises FileNotFoundError when the name is gone, and ValueError when the name now
    belongs to another array (it was unlinked or overwritten since the pickling):
    handing out a view of different data under the old geometry would be wrong."""
    att = _attachment.open_(socket, name, mode, 0)
    if att.ctime_ns != ctime_ns:
        del att  # release before raising, not when the traceback dies
        raise ValueError(f"sharr array {name!r} was replaced after it was pickled")
    arr = cls._over(att, shape, dtype, offset, strides)
    if not writeable:
        arr.flags.writeable = False
    return arr
