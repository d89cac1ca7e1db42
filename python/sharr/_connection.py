"""Which sharrd socket to use, and this process's one connection to each.

Connections are opened lazily, one per process per socket path, and shared by all
threads (libsharr multiplexes requests on one connection). A forked child never
uses its parent's connection: it opens its own on first use. Socket paths are
resolved here, once, so that a pickled array can name the exact daemon it came from.
"""

import ctypes
import os
import threading

from . import _errors, _lib

_lock = threading.Lock()
# socket path -> sharr_t * as int. Emptied in a child of os.fork; a child forked
# around it (a C extension's fork()) keeps the parent's entries, and libsharr's own
# fork handler has each of those sharr_t open a fresh connection on its first call
# there. So no getpid() (a system call) per lookup.
_connections = {}


def _reset_after_fork():
    # The parent's lock may have been held by another thread at fork time, and its
    # connections belong to the parent: the child starts afresh. The parent's
    # sharr_t structs are deliberately not disconnected here: touching them could
    # block on a mutex some parent thread held at fork, and libsharr promises a
    # child never talks on its parent's socket anyway.
    # _found is emptied, not replaced: sharr._cattach reads this very dict.
    global _lock, _connections
    _lock = threading.Lock()
    _connections = {}
    _found.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def default_socket():
    """The socket a client uses when given none: what libsharr's sharr_connect(NULL)
    dials (sharr_default_socket, the one resolver of the project).

    $SHARR_SOCKET when set (even if nothing listens there yet: falling back to
    another daemon would hand out someone else's arrays); else the first existing
    socket of $XDG_RUNTIME_DIR/sharr/sharr.sock, /run/sharr/sharr.sock and
    /tmp/sharr-<euid>/sharr.sock; else where a daemon started by this user would
    listen."""
    buf = ctypes.create_string_buffer(_lib.SOCKET_MAX)
    _errors.check(_lib.default_socket(buf, len(buf)))
    return os.fsdecode(buf.value)


# $SHARR_SOCKET values already resolved (a few): an absolute path resolves the same
# in any directory, so each is looked at once.
_absolute = {}


def resolve(socket):
    """The absolute socket path for a user's socket argument (None: the default).

    Absolute, so that a pickle carrying it still names the same daemon in a worker
    that runs in another directory."""
    if socket is None:
        env = os.environ.get("SHARR_SOCKET")
        path = _absolute.get(env) if env else None
        if path is not None:
            return path
        if env and env.startswith("/") and "\0" not in env:
            path = os.path.abspath(env)
            if len(_absolute) < 16:
                _absolute[env] = path
            return path
    path = os.fsdecode(socket) if socket is not None else default_socket()
    if "\0" in path:
        raise ValueError("socket path contains a NUL byte")
    return os.path.abspath(path)


# os.environ's own dict of encoded names to encoded values (POSIX), which its get,
# set and del read and write. One dict read, where os.environ.get makes five Python
# calls to encode the name and decode the value: half of what find() cost an attach.
_ENVIRON = os.environ._data
_SHARR_SOCKET = os.fsencode("SHARR_SOCKET")

# Socket arguments (absolute; a few) -> (the path, this process's connection there),
# keyed by the socket given (str or bytes) or, for none, by $SHARR_SOCKET's encoded
# value: an attach finds both with one environment read and one dict read.
# sharr._cattach reads it too (its memmap.__new__). Emptied in a child of os.fork,
# as _connections.
_found = {}


def find(socket):
    """(resolve(socket), get() of that path) in one call; raises as they do."""
    key = _ENVIRON.get(_SHARR_SOCKET) if socket is None else socket
    cacheable = type(key) is bytes or type(key) is str
    if cacheable:
        found = _found.get(key)
        if found is not None:
            return found
    path = resolve(socket)
    found = (path, get(path))
    # A relative path, or one with a NUL byte (refused by resolve), is not kept.
    if cacheable and key.startswith("/" if type(key) is str else b"/") and len(_found) < 16:
        _found[key] = found
    return found


def get(path):
    """This process's connection (sharr_t * as an int) to the daemon at path, which
    must come from resolve(). Connects on first use; raises the connect error."""
    conn = _connections.get(path)  # a dict read is atomic: no lock needed to find it
    if conn is not None:
        return conn
    with _lock:
        conn = _connections.get(path)
        if conn is not None:
            return conn
        conn = ctypes.c_void_p()
        _errors.check(_lib.connect(os.fsencode(path), ctypes.byref(conn)), path)
        _connections[path] = conn.value
        return conn.value


def server_id(path):
    """The id of the daemon at path (from resolve()), as its hello gave it: drawn at
    random at each start of that sharrd, so two paths with one id are served by the same
    daemon, and a pickle carrying it can tell the daemon it names from another host's.
    0 from a daemon that sends none. Connects on first use; raises the connect error."""
    srv = _lib.Server()
    _errors.check(_lib.server_info(get(path), ctypes.byref(srv)), path)
    return srv.id


def store_id(path):
    """The identity of the persistent store of the daemon at path (from resolve()), as
    its hello gave it: kept in the store's directory, so the same across restarts of
    the daemon on that store and different on another store. 0 from a daemon that
    sends none. Connects on first use; raises the connect error."""
    srv = _lib.Server()
    _errors.check(_lib.server_info(get(path), ctypes.byref(srv)), path)
    return srv.store_id
