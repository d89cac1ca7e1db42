"""What the daemon reports, as small immutable Python records.

ArrayInfo mirrors struct sharr_info (one array), Holder struct sharr_holder (one
attachment) and Stats struct sharr_stats (the whole daemon); all are built from
the ctypes structs of _lib.
"""

import ast
import dataclasses
import typing

import numpy as np
import numpy.lib.format


# numpy dtypes by the daemon's canonical typestr: np.dtype() parses the string each
# time, and an attach needs one. Bounded by the few dozen typestrs in use.
_DTYPES = {}
_DTYPES_MAX = 256


def numpy_dtype(typestr):
    """The numpy dtype of a canonical typestr as libsharr reports it (bytes), or of a
    record's description in numpy's list form (bytes starting with b'[', as
    sharr_array_descr gives it; libsharr checked it), built as numpy.load builds it."""
    dt = _DTYPES.get(typestr)
    if dt is None:
        if typestr.startswith(b"["):
            dt = numpy.lib.format.descr_to_dtype(ast.literal_eval(typestr.decode()))
        else:
            dt = np.dtype(typestr.decode())
        if len(_DTYPES) < _DTYPES_MAX:
            _DTYPES[typestr] = dt
    return dt


def record_descr(dtype):
    """The text a create sends for a record (structured) dtype: numpy's list form as a
    .npy header holds it (repr of numpy.lib.format.dtype_to_descr). ValueError for a
    dtype numpy cannot describe so (overlapping or out-of-order fields) or holding
    Python objects."""
    if dtype.hasobject:
        raise ValueError(f"sharr arrays hold fixed-size elements, not Python objects: {dtype}")
    try:
        return repr(numpy.lib.format.dtype_to_descr(dtype))
    except ValueError as e:
        raise ValueError(f"a sharr array cannot hold dtype {dtype}: {e} (np.save cannot "
                         "either)") from None


@dataclasses.dataclass(frozen=True)
class ArrayInfo:
    """One array as the daemon knows it."""
    name: str
    dtype: np.dtype
    shape: typing.Tuple[int, ...]
    order: str          # 'C' or 'F'
    nbytes: int         # bytes of data
    offset: int         # where the data starts in the .npy bytes (4096; adopted: 128...)
    persist: bool       # on disk (True) or in memory (False)
    perm: int           # permission bits, as a file's (e.g. 0o600)
    uid: int
    gid: int
    ctime_ns: int       # creation time, ns since the epoch
    nattached: int      # attachments currently held by clients
    path: typing.Optional[str]  # the .npy file of a persistent array, else None
    grown: int          # persistent: bytes a writer allocated in the file beyond its
                        # data, counted in the owner's quota; else 0
    damaged: bool       # persistent: a writer cut the file below its data
    published: bool     # complete and immutable (publish): no r+ any more
    max_len: int        # volatile: the length the first axis can grow to; else 0
    page_size: int      # volatile: bytes of the pages backing it (4096, or a huge page
                        # size); 0 for persistent arrays or when the daemon does not say

    @classmethod
    def from_c(cls, c, descr=None):
        """From a struct sharr_info; descr is a record's description (bytes) when
        c.descr_len is not 0 (the struct has no room for its text)."""
        # Fills the fields directly rather than through the frozen dataclass's
        # __init__ (one object.__setattr__ per field), which doubled an attach's cost
        # of building this record. ctypes returns integer fields as int already.
        info = object.__new__(cls)
        info.__dict__.update(
            name=c.name.decode(),
            dtype=numpy_dtype(descr if c.descr_len and descr else c.dtype),
            shape=tuple(c.shape[:c.ndim]),
            order=c.order.decode(),
            nbytes=c.nbytes,
            offset=c.offset,
            persist=bool(c.persist),
            perm=c.perm,
            uid=c.uid,
            gid=c.gid,
            ctime_ns=c.ctime_ns,
            nattached=c.nattached,
            path=c.path.decode() or None,
            grown=c.grown,
            damaged=bool(c.damaged),
            published=bool(c.published),
            max_len=c.max_len,
            page_size=c.page_size,
        )
        return info


@dataclasses.dataclass(frozen=True)
class Holder:
    """One attachment of an array by a process, as the daemon reports it."""
    handle: int         # daemon-unique
    name: str           # the array
    pid: int            # the attached process
    uid: int
    gid: int
    comm: str           # its command name when it connected, or ""
    mode: str           # 'r', 'r+' or 'c'
    since_ns: int       # when it attached, ns since the epoch
    nbytes: int         # the array's data bytes
    persist: bool
    unlinked: bool      # its name was removed since

    @classmethod
    def from_c(cls, c):
        return cls(handle=c.handle, name=c.name.decode(), pid=c.pid, uid=c.uid, gid=c.gid,
                   comm=c.comm.decode("utf-8", "replace"), mode=c.mode.decode(),
                   since_ns=c.since_ns, nbytes=c.nbytes, persist=bool(c.persist),
                   unlinked=bool(c.unlinked))


@dataclasses.dataclass(frozen=True)
class Stats:
    """Daemon-wide counters; free/capacity are 0 when the daemon cannot tell."""
    arrays: int
    arrays_volatile: int
    arrays_persistent: int
    bytes: int
    bytes_volatile: int
    bytes_persistent: int
    connections: int
    attachments: int
    persist_capacity: int
    persist_free: int
    volatile_capacity: int
    volatile_free: int
    pid: int
    uptime_ms: int
    volatile_limit: int          # memory all volatile arrays may hold; 0: no limit
    volatile_limit_per_uid: int  # memory one uid's volatile arrays may hold; 0: none
    volatile_reserved: int       # memory volatile arrays hold or are being given
    bytes_grown: int             # bytes writers added to persistent files beyond data
    arrays_damaged: int          # persistent arrays kept aside at start or cut short
    watches: int                 # connections watching for events
    queued_bytes: int            # replies and events held for clients yet to read them
    requests: int                # requests sharrd answered since it started
    volatile_huge: int           # of volatile_reserved, the memory in huge pages
    huge_page_size: int          # huge page size a large new array would get; 0: none
    arrays_watched: int          # persistent files still looked at for a writer
    sweeps: int                  # passes of that look since sharrd started

    @classmethod
    def from_c(cls, c):
        return cls(**{f.name: int(getattr(c, f.name)) for f in dataclasses.fields(cls)})
