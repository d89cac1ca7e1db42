"""sharr arrays under Dask: by name between processes of one sharrd, by value otherwise.

This module owns what Dask and distributed need to know of sharr arrays: a
serialization family entry (dask_serialize/dask_deserialize) and a decision for the
pickles distributed makes (by_value), both sending a name only where every process
that may unpickle it is served by the same sharrd; the daemon id each process offers
in distributed's connection handshake and each worker publishes to the scheduler, so
that a sender can tell; a constant-time token (tokenize) and a sizeof that does not
count shared pages as a worker's own. It is registered when both sharr and
distributed (or dask) are imported, in either order (install()); it never imports
dask itself.

The rule, for a shared array of sharrd D (copies and 'c' mappings always go by value):
- to a peer that computes with what it gets (a worker, a client: distributed says
  which in the serializer's context), by name iff the peer's handshake names D;
- to a scheduler (which hands it on to workers it picks later), or where
  distributed pickles with no peer (graphs, spilling): by name iff this process, and
  the scheduler and every worker of each cluster this process is a client of, name D
  (at least one worker known); otherwise by value.
"""

import contextvars
import importlib.abc
import pickle
import sys
import threading
import time
import warnings

import numpy as np

from . import _connection

# The key of the handshake (distributed.comm.core.Comm.handshake_info) under which a
# process names the id of the sharrd it attaches by default; a worker's identity at
# the scheduler carries it under the same key (setup()).
HANDSHAKE_KEY = "sharr-daemon-id"
# The key of a scheduler's handshake (its listeners'): what is sent there is handed on.
FORWARDS_KEY = "sharr-forwards"

# What distributed is pickling for in this thread: None (not distributed: pickles go
# by name, as for multiprocessing), _ANY (no single known peer) or the peer's
# handshake; and the daemon ids of the processes _ANY stands for, once computed.
_tls = threading.local()
_ANY = {}

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
    creation time of this incarnation of the name, the view's geometry and whether
    it may be written (its mode, 'w+' as 'r+', and its writeable flag).

    Constant time: no byte of data is read. The token says which array and which part
    of it, not what it holds: writes in place do not change it (as numpy.memmap's
    token, taken from its file name, does not change with the file's data), while a
    name re-created (unlinked, overwritten) gets a new creation time and so a new
    token. A read-only and a writable view of the same pages get different tokens:
    dask keeps one object per key when it merges graphs, and a read-only one standing
    in for a writable one fails the task that writes in place. Copies and 'c'
    mappings, whose pages are this process's own, are hashed by value (None here), as
    numpy arrays are."""
    if not _shared(arr):
        return None
    att = arr._sharr
    offset = arr.__array_interface__["data"][0] - att.address
    mode = "r+" if att.mode == "w+" else att.mode
    # A record dtype's str is only its size ('|V8'): its repr has the fields.
    dtype = arr.dtype
    dtype = dtype.str if dtype.names is None and dtype.subdtype is None else repr(dtype)
    return ("sharr", att.server_id, att.socket, att.name, att.ctime_ns, dtype,
            arr.shape, arr.strides, offset, mode, bool(arr.flags.writeable))


def _shared(arr):
    """True when arr's pages are the daemon's shared ones (not a copy, not 'c')."""
    att = arr._sharr
    return att is not None and att.mode != "c"


def _cluster_ids(with_self=True):
    """The daemon ids of every process a pickle with no single peer may reach: this
    one (unless with_self is false), and the scheduler and workers of every running
    Client of this process, as it last heard of them (None for one that names none,
    or a cluster with no worker)."""
    ids = {local_id()} if with_self else set()
    client_cls = getattr(sys.modules.get("distributed.client"), "Client", None)
    for client in list(getattr(client_cls, "_instances", ())):
        if getattr(client, "status", None) not in ("running", "connecting"):
            continue
        workers = (getattr(client, "_scheduler_identity", None) or {}).get("workers") or {}
        ids.update(w.get(HANDSHAKE_KEY) for w in workers.values())
        comm = getattr(getattr(client, "scheduler_comm", None), "comm", None)
        ids.add((getattr(comm, "remote_info", None) or {}).get(HANDSHAKE_KEY))
        if not workers:
            ids.add(None)
    return ids


def _by_name(arr, recipient):
    """True when the shared array arr may go by name to recipient (a handshake, or
    _ANY), by the rule of this module's docstring."""
    ident = arr._sharr.server_id
    if not ident:
        return False
    if recipient is not _ANY and not recipient.get(FORWARDS_KEY):
        return recipient.get(HANDSHAKE_KEY) == ident
    ids = getattr(_tls, "ids", None)
    if ids is None:
        ids = _cluster_ids()
        if getattr(_tls, "recipient", None) is not None:
            _tls.ids = ids  # for the rest of this pickling
    return ids == {ident}


def writers_elsewhere(socket):
    """True when a distributed Client of this process has a scheduler or worker that
    is not served by the sharrd at socket (a path, or None: the default): tasks
    there would write into copies of that daemon's arrays (sharr.dask.to_sharr)."""
    ids = _cluster_ids(with_self=False)
    return bool(ids) and ids != {daemon_id(_connection.resolve(socket))}


def by_value(arr):
    """True when distributed is pickling in this thread and the shared array arr must
    go by value (_pickle.reduce asks); False outside distributed's pickling."""
    recipient = getattr(_tls, "recipient", None)
    return recipient is not None and not _by_name(arr, recipient)


def _pickling_for(recipient, dumps, *args, **kwargs):
    """dumps(*args, **kwargs) with recipient as what distributed pickles for, unless
    an outer call already said."""
    if getattr(_tls, "recipient", None) is not None:
        return dumps(*args, **kwargs)
    _tls.recipient = recipient
    try:
        return dumps(*args, **kwargs)
    finally:
        _tls.recipient = None
        _tls.ids = None


def unpickling():
    """True when distributed is unpickling in this thread (its pickle module's loads,
    the "pickle" family, sharr's dask_deserialize): _pickle.rebuild then returns a
    Missing for an array it cannot attach, instead of raising where distributed
    reads a message."""
    return getattr(_tls, "unpickling", 0) > 0


def _unpickling(loads, *args, **kwargs):
    """loads(*args, **kwargs) with this thread marked as distributed's unpickling."""
    _tls.unpickling = getattr(_tls, "unpickling", 0) + 1
    try:
        return loads(*args, **kwargs)
    finally:
        _tls.unpickling -= 1


def _name_pickle(arr):
    """arr's pickle by name, whatever distributed is pickling around this call."""
    saved = getattr(_tls, "recipient", None), getattr(_tls, "ids", None)
    _tls.recipient = None
    try:
        return pickle.dumps(arr, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        _tls.recipient, _tls.ids = saved


def serialize(arr, context=None):
    """distributed's dask_serialize for sharr arrays: (header, frames).

    By name when the rule of this module's docstring allows it for the recipient
    (context["recipient"], its handshake; no context: no single peer); otherwise,
    and for 'c' mappings and copies, whose pages are this process's own, by value
    (distributed's numpy serializer)."""
    from distributed.protocol.numpy import serialize_numpy_ndarray

    if _shared(arr):
        recipient = (context or {}).get("recipient") or _ANY
        if _by_name(arr, recipient):
            header = {"sharr": "name", "id": arr._sharr.server_id,
                      "socket": arr._sharr.socket, "name": arr._sharr.name}
            return header, [_name_pickle(arr)]
    header, frames = serialize_numpy_ndarray(np.asarray(arr).view(np.ndarray))
    header["sharr"] = "value"
    return header, frames


def deserialize(header, frames):
    """distributed's dask_deserialize for sharr arrays: the array a header of
    serialize() describes. By name: the same array, attached here by its pickle, or,
    when it cannot be attached, a Missing (_pickle.rebuild) whose use raises the
    error, which names the array and says why (unlinked since, replaced, another
    sharrd). By value: a numpy array holding the values."""
    from distributed.protocol.numpy import deserialize_numpy_ndarray

    if header.get("sharr") != "name":
        return deserialize_numpy_ndarray(header, frames)
    return _unpickling(pickle.loads, frames[0])


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


# The module a worker preloads: its dask_setup publishes the worker's daemon id.
PRELOAD = "sharr.dask"

# The dask config key that says how a worker's memory is measured against its
# memory_limit: "rss" (distributed's own: every resident page, shared ones too) or
# "private" (the process's private anonymous pages, RssAnon: no shared array's, no
# mapped file's, no library's pages). Read at each measurement, by the nanny (its
# terminate threshold) and by the worker (spill and pause thresholds, and the memory
# it reports).
MEMORY_KEY = "sharr.worker-memory"


def _private():
    import dask.config
    return dask.config.get(MEMORY_KEY, default="rss") == "private"


# Where a process's status is read (formatted with its pid, or "self"); and the status
# files found without RssAnon, each warned of once.
PROC_STATUS = "/proc/{pid}/status"
_no_rss_anon = set()


def private_memory(pid="self"):
    """The private anonymous memory of process pid in bytes (RssAnon of
    /proc/PID/status): what a worker holds of its own, where RSS also counts each
    page of a shared array (RssShmem, RssFile) it touched. None where the status has
    no RssAnon (Linux before 4.5). Raises OSError."""
    with open(PROC_STATUS.format(pid=pid), "rb") as f:
        for line in f:
            if line.startswith(b"RssAnon:"):
                return int(line.split()[1]) * 1024
    return None


def _measured(pid, rss):
    """A process's memory as MEMORY_KEY says: private_memory(pid) for "private", where
    the kernel tells it; else rss() (distributed's measure, RSS). A status without
    RssAnon is warned of once (RuntimeWarning, on the measuring process's stderr):
    the measure silently counting shared arrays again would restart workers that
    merely map them."""
    if not _private():
        return rss()
    try:
        private = private_memory(pid)
    except OSError:  # the process is gone: distributed's measure says so its way
        return rss()
    if private is not None:
        return private
    path = PROC_STATUS.format(pid=pid)
    if path not in _no_rss_anon:
        _no_rss_anon.add(path)
        warnings.warn(f"sharr: {MEMORY_KEY} is 'private' but {path} has no RssAnon "
                      "(Linux before 4.5): this worker's memory is measured as RSS, "
                      "every page of a shared array it touched included",
                      RuntimeWarning, stacklevel=2)
    return rss()


class _Process:
    """A psutil.Process whose memory_info().rss is private_memory() when MEMORY_KEY
    says "private" (_measured)."""

    def __init__(self, proc):
        self._proc = proc

    def __getattr__(self, attr):
        return getattr(self._proc, attr)

    def memory_info(self):
        info = self._proc.memory_info()
        return info._replace(rss=_measured(self._proc.pid, lambda: info.rss))


class _Psutil:
    """psutil as distributed.worker_memory sees it: its Process is _Process."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, attr):
        return getattr(self._real, attr)

    def Process(self, *args, **kwargs):
        return _Process(self._real.Process(*args, **kwargs))


def _patch_nanny_memory():
    """A nanny measures its worker with psutil.Process(pid).memory_info().rss, inline
    in distributed.worker_memory: that module's psutil becomes _Psutil, so that
    MEMORY_KEY decides there too."""
    module = sys.modules.get("distributed.worker_memory")
    real = getattr(module, "psutil", None)
    if real is not None and not isinstance(real, _Psutil):
        module.psutil = _Psutil(real)


def setup(server):
    """distributed's preload hook (sharr.dask.dask_setup): a worker publishes the id of
    its default sharrd in its identity at the scheduler (startup_information, which
    the scheduler keeps in WorkerState.extra), where clients read it (_cluster_ids),
    and measures its memory as MEMORY_KEY says (its monitor's get_process_memory)."""
    info = getattr(server, "startup_information", None)
    if info is not None:
        info[HANDSHAKE_KEY] = lambda worker: local_id()
    monitor = getattr(server, "monitor", None)
    base = getattr(monitor, "get_process_memory", None)
    if info is not None and base is not None and not getattr(base, "_sharr", False):
        def get_process_memory():
            return _measured("self", base)
        get_process_memory._sharr = True
        monitor.get_process_memory = get_process_memory


def _preload_in_workers():
    """Have every worker that a nanny of this process starts (or restarts) preload
    sharr.dask, before it opens a connection: a worker's handshake offers its
    sharrd's id only once sharr is imported there, and it publishes the id only
    through the preload. Nannies hand their config to their workers; workers
    started elsewhere take `--preload sharr.dask` (README)."""
    import dask.config

    preload = dask.config.get("distributed.worker.preload", default=None) or []
    if isinstance(preload, str):
        preload = [preload]
    if PRELOAD not in preload:
        dask.config.set({"distributed.worker.preload": [*preload, PRELOAD]})


def _patch_handshake(Comm):
    """Comm.handshake_info, wrapped to add this process's daemon id: a staticmethod
    in distributed 2022.12, a method of the comm in later releases."""
    raw = Comm.__dict__.get("handshake_info")
    if raw is None or getattr(Comm.handshake_info, "_sharr", False):
        return
    base = Comm.handshake_info

    def handshake_info(*args):
        info = base(*args)
        ident = local_id()
        if ident is not None:
            info[HANDSHAKE_KEY] = ident
        return info

    handshake_info._sharr = True
    Comm.handshake_info = staticmethod(handshake_info) if isinstance(raw, staticmethod) \
        else handshake_info


def _patch_scheduler(Scheduler, Listener):
    """Mark a scheduler's listeners, and have a marked listener add FORWARDS_KEY to
    the handshake it sends: what a peer sends a scheduler is handed on to workers the
    scheduler picks. (distributed's listeners take no handshake overrides of their
    own: Listener.on_connection is given none.)"""
    if getattr(Scheduler.listen, "_sharr", False):
        return
    base_listen = Scheduler.listen
    base_on_connection = Listener.on_connection

    async def listen(self, *args, **kwargs):
        result = await base_listen(self, *args, **kwargs)
        for listener in self.listeners:
            listener._sharr_forwards = True
        return result

    async def on_connection(self, comm, handshake_overrides=None):
        if getattr(self, "_sharr_forwards", False):
            handshake_overrides = {**(handshake_overrides or {}), FORWARDS_KEY: True}
        return await base_on_connection(self, comm, handshake_overrides)

    listen._sharr = True
    Scheduler.listen = listen
    Listener.on_connection = on_connection


# Set while Future._result(raiseit=False) gathers (as_completed with results): the
# gather then hands a Missing back, which _result turns into the error it returns.
_keep_missing = contextvars.ContextVar("sharr_keep_missing", default=False)


class _Failure(tuple):
    """(type, error, None): what Future._result(raiseit=False), and so as_completed with
    results, gives for a future whose value holds a Missing, as it gives (type, error,
    traceback) for a failed future."""


def _patch_client(Client, Future, as_completed):
    """Client._restart, wrapped to refresh the client's view of its workers when the
    restart is done: between two of distributed's periodic refreshes, a view taken
    while the workers were away (none: by value) would outlive them. And where the
    client hands out what it gathered, a value that holds a Missing (a sharr array
    gathered after it could not be attached) is its error, as a failed future's:
    Client._gather (result(), gather(), compute()) raises it, or with errors="skip"
    leaves the value out (_skip_missing); Future._result(raiseit=False) returns it
    (a _Failure), which Future.result() raises and as_completed with results raises
    as it raises a failed future's (or yields it, raise_errors=False);
    Client._get_dataset raises it."""
    if hasattr(Client, "_restart") and not getattr(Client._restart, "_sharr", False):
        base = Client._restart

        async def _restart(self, *args, **kwargs):
            result = await base(self, *args, **kwargs)
            update = getattr(self, "_update_scheduler_info", None)
            if update is not None:
                await update()
            return result

        _restart._sharr = True
        Client._restart = _restart
    if hasattr(Client, "_gather") and not getattr(Client._gather, "_sharr", False):
        base_gather = Client._gather

        async def _gather(self, futures, errors="raise", *args, **kwargs):
            result = await base_gather(self, futures, errors, *args, **kwargs)
            if errors == "raise" and not _keep_missing.get():
                _raise_missing(result)
            elif errors == "skip":
                result = _skip_missing(result)
            return result

        _gather._sharr = True
        Client._gather = _gather
    if hasattr(Future, "_result") and not getattr(Future._result, "_sharr", False):
        base_result = Future._result

        async def _result(self, raiseit=True):
            if raiseit:
                return await base_result(self, raiseit)
            keep = _keep_missing.set(True)
            try:
                result = await base_result(self, raiseit)
            finally:
                _keep_missing.reset(keep)
            error = _missing_error(result)
            return result if error is None else _Failure((type(error), error, None))

        _result._sharr = True
        Future._result = _result
    if hasattr(Future, "result") and not getattr(Future.result, "_sharr", False):
        base_sync_result = Future.result

        # distributed's own result() asks _result(raiseit=False) and raises what a
        # failed future returns: a _Failure is raised too.
        def result(self, *args, **kwargs):
            value = base_sync_result(self, *args, **kwargs)
            if isinstance(value, _Failure):
                raise value[1]
            return value

        result.__doc__ = base_sync_result.__doc__
        result._sharr = True
        Future.result = result
    get_and_raise = getattr(as_completed, "_get_and_raise", None)
    if get_and_raise is not None and not getattr(get_and_raise, "_sharr", False):
        def _get_and_raise(self):
            res = get_and_raise(self)
            if self.with_results and self.raise_errors and isinstance(res[1], _Failure):
                raise res[1][1]
            return res

        _get_and_raise._sharr = True
        as_completed._get_and_raise = _get_and_raise
    if hasattr(Client, "_get_dataset") and not getattr(Client._get_dataset, "_sharr", False):
        base_dataset = Client._get_dataset

        async def _get_dataset(self, *args, **kwargs):
            result = await base_dataset(self, *args, **kwargs)
            _raise_missing(result)
            return result

        _get_dataset._sharr = True
        Client._get_dataset = _get_dataset


def _missing_error(value):
    """The error (a fresh copy) of the first Missing in value (itself, or in the lists,
    tuples, sets and dicts it holds, their subclasses too: named tuples...), or None.
    Searched only while a Missing is alive in this process: a gather of a million
    records is not walked for nothing."""
    from . import _missing

    if not _missing.live():
        return None
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, _missing.Missing):
            return v.error()
        if isinstance(v, (list, tuple, set, frozenset)):
            todo.extend(v)
        elif isinstance(v, dict):
            todo.extend(v.values())
    return None


def _raise_missing(result):
    """Raise the error of the first Missing in result (a value, or the structure of
    values Client.gather returns): a sharr array that was gathered after it could not
    be attached fails the gather, as a task that uses it fails."""
    error = _missing_error(result)
    if error is not None:
        raise error


def _skip_missing(result):
    """What Client.gather(errors="skip") returns for result: each value (each element
    of the list, tuple, set or dict gathered, or result itself) that holds a Missing
    is left out as a failed future's is: dropped from a list, None elsewhere."""
    if _missing_error(result) is None:
        return result
    if type(result) is list:
        return [v for v in result if _missing_error(v) is None]
    if type(result) in (tuple, set, frozenset):
        return type(result)(v if _missing_error(v) is None else None for v in result)
    if type(result) is dict:
        return {k: v if _missing_error(v) is None else None for k, v in result.items()}
    return None


def _register_distributed():
    from distributed.client import Client, Future, as_completed
    from distributed.comm.core import Comm, Listener
    from distributed.protocol import pickle as dpickle
    from distributed.protocol.serialize import (dask_deserialize, dask_serialize, families,
                                                register_serialization_family)
    from distributed.scheduler import Scheduler

    from ._array import memmap

    dask_serialize.register(memmap)(serialize)
    dask_deserialize.register(memmap)(deserialize)
    _preload_in_workers()
    _patch_handshake(Comm)
    _patch_scheduler(Scheduler, Listener)
    _patch_client(Client, Future, as_completed)
    _patch_nanny_memory()
    # distributed's pickles: with no peer (graphs, spilling) through its pickle
    # module, and for a peer through the "pickle" family, which is told the peer.
    # (client.run's arguments too, which the client module pickles with the dumps it
    # imported by name.)
    base_dumps = dpickle.dumps
    if not getattr(base_dumps, "_sharr", False):
        def dumps(*args, **kwargs):
            return _pickling_for(_ANY, base_dumps, *args, **kwargs)
        dumps._sharr = True
        dpickle.dumps = dumps
        for module in ("distributed.client", "distributed.scheduler"):
            if getattr(sys.modules.get(module), "dumps", None) is base_dumps:
                sys.modules[module].dumps = dumps
    # distributed 2022.12 pickles a graph's tasks in the client with dumps_task,
    # through a warn_dumps that bound pickle.dumps when it was defined.
    worker = sys.modules.get("distributed.worker")
    base_task = getattr(worker, "dumps_task", None)
    if base_task is not None and not getattr(base_task, "_sharr", False):
        def dumps_task(*args, **kwargs):
            return _pickling_for(_ANY, base_task, *args, **kwargs)
        dumps_task._sharr = True
        worker.dumps_task = dumps_task
    # Its unpickling, of task arguments, graphs and data, by the same two ways: an
    # array that cannot be attached there becomes a Missing (unpickling()).
    base_loads = dpickle.loads
    if not getattr(base_loads, "_sharr", False):
        def loads(*args, **kwargs):
            return _unpickling(base_loads, *args, **kwargs)
        loads._sharr = True
        dpickle.loads = loads
        if getattr(sys.modules.get("distributed.client"), "loads", None) is base_loads:
            sys.modules["distributed.client"].loads = loads
    family_dumps, family_loads, _ = families["pickle"]
    if not getattr(family_dumps, "_sharr", False):
        def pickle_dumps(x, context=None):
            recipient = (context or {}).get("recipient") or _ANY
            return _pickling_for(recipient, family_dumps, x, context=context)

        def pickle_loads(header, frames):
            return _unpickling(family_loads, header, frames)
        pickle_dumps._sharr = True
        register_serialization_family("pickle", pickle_dumps, pickle_loads)


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
