"""sharr arrays under Dask: by name between processes of one sharrd, by value otherwise.

This module owns what Dask and distributed need to know of sharr arrays: a
serialization family entry (dask_serialize/dask_deserialize) that sends a name where
the receiving process is served by the same sharrd and the values where it is not,
the daemon id each process offers in distributed's connection handshake so that a
sender can tell, a constant-time token (tokenize) and a sizeof that does not count
shared pages as a worker's own. It is registered when both sharr and distributed (or
dask) are imported, in either order (install()); it never imports dask itself.
"""

import importlib.abc
import pickle
import sys
import threading
import time

import numpy as np

from . import _connection

# The key of the handshake (distributed.comm.core.Comm.handshake_info) under which a
# process names the id of the sharrd it attaches by default.
HANDSHAKE_KEY = "sharr-daemon-id"

# socket path -> (id or None, when it was asked): a process asks its default daemon
# once; a daemon that was not there is asked again after _RETRY_S.
_ids = {}
_RETRY_S = 5.0
_ids_lock = threading.Lock()


def daemon_id(path):
    """The id of the sharrd at socket path (resolved), or None when none answers there."""
    found = _ids.get(path)
    now = time.monotonic()
    if found is not None and (found[0] is not None or now - found[1] < _RETRY_S):
        return found[0]
    try:
        ident = _connection.server_id(path) or None
    except OSError:
        ident = None
    with _ids_lock:
        _ids[path] = (ident, now)
    return ident


def local_id():
    """The id of the sharrd this process attaches by default ($SHARR_SOCKET...), or None."""
    try:
        path = _connection.resolve(None)
    except (OSError, ValueError):
        return None
    return daemon_id(path)


def token(arr):
    """What tokenize() makes of a sharr array or view: the daemon's id, the name, the
    creation time of this incarnation of the name and the view's geometry.

    Constant time: no byte of data is read. The token says which array and which part
    of it, not what it holds: writes in place do not change it (as numpy.memmap's
    token, taken from its file name, does not change with the file's data), while a
    name re-created (unlinked, overwritten) gets a new creation time and so a new
    token. The mode is left out: 'r', 'r+' and 'w+' map the same pages. Copies and 'c'
    mappings, whose pages are this process's own, are hashed by value (None here), as
    numpy arrays are."""
    if not _shared(arr):
        return None
    att = arr._sharr
    offset = arr.__array_interface__["data"][0] - att.address
    return ("sharr", att.server_id, att.socket, att.name, att.ctime_ns, arr.dtype.str, arr.shape, arr.strides, offset)


def _shared(arr):
    """True when arr's pages are the daemon's shared ones (not a copy, not 'c')."""
    att = arr._sharr
    return att is not None and att.mode != "c"


def serialize(arr, context=None):
    """distributed's dask_serialize for sharr arrays: (header, frames).

    By name when the recipient (context["recipient"], its handshake) is served by the
    sharrd that serves arr; by value (distributed's numpy serializer) when it is not,
    when it offers no id (sharr not imported there) or when there is no context, and
    for 'c' mappings and copies, whose pages are this process's own."""
    from distributed.protocol.numpy import serialize_numpy_ndarray

    if _shared(arr):
        recipient = (context or {}).get("recipient") or {}
        ident = arr._sharr.server_id
        if ident and recipient.get(HANDSHAKE_KEY) == ident:
            header = {"sharr": "name", "id": ident, "socket": arr._sharr.socket,
                      "name": arr._sharr.name}
            return header, [pickle.dumps(arr, protocol=pickle.HIGHEST_PROTOCOL)]
    header, frames = serialize_numpy_ndarray(np.asarray(arr).view(np.ndarray))
    header["sharr"] = "value"
    return header, frames


def deserialize(header, frames):
    """distributed's dask_deserialize for sharr arrays: the array a header of
    serialize() describes. By name: the same array, attached here by its pickle
    (_pickle.rebuild, whose errors name the array and say why: unlinked since, or
    another sharrd). By value: a numpy array holding the values."""
    from distributed.protocol.numpy import deserialize_numpy_ndarray

    if header.get("sharr") != "name":
        return deserialize_numpy_ndarray(header, frames)
    return pickle.loads(frames[0])


def sizeof(arr):
    """dask.sizeof for sharr arrays: a mapping of shared pages is no memory of the
    worker's own (every process maps the same pages), so it counts as the small object
    it is; a 'c' mapping, whose written pages are private, and a copy count nbytes."""
    if _shared(arr):
        return 128
    return int(arr.nbytes)


def value_token(arr):
    """The token of arr's values, as dask makes it for a numpy array."""
    from dask.base import normalize_token
    return normalize_token(np.asarray(arr).view(np.ndarray))


def _normalize_token(arr):
    # Dask finds numpy's normalizer for the ndarray subclass before it would ask
    # __dask_tokenize__: registered for sharr.memmap, this one comes first.
    return token(arr) or value_token(arr)


def _preload_in_workers():
    """Have every worker that a nanny of this process starts (or restarts) import
    sharr first, before it opens a connection: a worker's handshake offers its sharrd's
    id only once sharr is imported there. Nannies hand their config to their workers;
    workers started elsewhere take `--preload sharr` (README)."""
    import dask.config

    preload = dask.config.get("distributed.worker.preload", default=None) or []
    if isinstance(preload, str):
        preload = [preload]
    if "sharr" not in preload:
        dask.config.set({"distributed.worker.preload": [*preload, "sharr"]})


def _register_distributed():
    from distributed.comm.core import Comm
    from distributed.protocol.serialize import dask_deserialize, dask_serialize

    from ._array import memmap

    dask_serialize.register(memmap)(serialize)
    dask_deserialize.register(memmap)(deserialize)
    _preload_in_workers()
    # Without the handshake's id (a distributed without handshake_info) nothing goes
    # by name through these serializers: values are always right, only copied.
    if not hasattr(Comm, "handshake_info") or getattr(Comm.handshake_info, "_sharr", False):
        return
    base = Comm.handshake_info

    def handshake_info():
        info = base()
        ident = local_id()
        if ident is not None:
            info[HANDSHAKE_KEY] = ident
        return info

    handshake_info._sharr = True
    Comm.handshake_info = staticmethod(handshake_info)


def _register_dask():
    from dask.base import normalize_token
    from dask.sizeof import sizeof as dask_sizeof

    from ._array import memmap

    normalize_token.register(memmap)(_normalize_token)
    dask_sizeof.register(memmap)(sizeof)


# Package -> (the module whose import makes registration possible: the package
# itself, whole, so that the registration imports none of it half-initialised; the
# registration). Each runs at most once.
_HOOKS = {
    "dask": ("dask", _register_dask),
    "distributed": ("distributed", _register_distributed),
}
_done = set()


def _run(top):
    if top in _done:
        return
    _done.add(top)
    _HOOKS[top][1]()


class _Finder(importlib.abc.MetaPathFinder):
    """Runs a registration right after the module it needs has been imported: it finds
    that module's spec with the other finders and wraps its loader's exec_module."""

    def find_spec(self, fullname, path, target=None):
        for top, (module, _) in _HOOKS.items():
            if fullname == module and top not in _done:
                break
        else:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, top)
                return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, top):
        self.loader = loader
        self.top = top

    def __getattr__(self, attr):  # get_source, is_package, ...: the real loader's
        return getattr(self.loader, attr)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _run(self.top)


def install():
    """Register with dask and distributed now if imported, else when they are."""
    for top, (module, _) in _HOOKS.items():
        if module in sys.modules:
            _run(top)
    if not all(top in _done for top in _HOOKS):
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
