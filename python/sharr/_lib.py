"""The ctypes binding of libsharr: finding the library, its structs, its prototypes.

This module mirrors include/sharr.h and nothing else: it speaks no protocol of its
own (the C library is the one implementation of the wire format) and raises no
sharr errors (see _errors.py). The library is loaded once, at import.
"""

import ctypes
import ctypes.util
import os

NAME_MAX = 255
NDIM_MAX = 64
DTYPE_MAX = 31
DESCR_MAX = 3584
PATH_MAX = 1024
SOCKET_MAX = 108

F_NOMAP = 0x1
F_POPULATE = 0x2
F_OWNER = 0x4
F_PUBLISHED = 0x8
ID_KEEP = 2 ** 32 - 1


# The structs below mirror sharr.h field for field; tests/python/test_layout.py checks
# every offset and size against the C compiler's (tests/python/layout.c). The structs
# libsharr fills never change size: new fields come out of "reserved".


class Info(ctypes.Structure):
    """struct sharr_info."""
    _fields_ = [
        ("name", ctypes.c_char * (NAME_MAX + 1)),
        ("dtype", ctypes.c_char * (DTYPE_MAX + 1)),
        ("itemsize", ctypes.c_uint64),
        ("ndim", ctypes.c_int),
        ("shape", ctypes.c_uint64 * NDIM_MAX),
        ("order", ctypes.c_char),
        ("nbytes", ctypes.c_uint64),
        ("offset", ctypes.c_uint64),
        ("persist", ctypes.c_int),
        ("perm", ctypes.c_uint32),
        ("uid", ctypes.c_uint32),
        ("gid", ctypes.c_uint32),
        ("ctime_ns", ctypes.c_int64),
        ("nattached", ctypes.c_uint32),
        ("path", ctypes.c_char * PATH_MAX),
        ("grown", ctypes.c_uint64),
        ("damaged", ctypes.c_int),
        ("descr_len", ctypes.c_uint32),
        ("published", ctypes.c_int),
        ("max_len", ctypes.c_uint64),
        ("page_size", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32 * 29),
    ]


class Server(ctypes.Structure):
    """struct sharr_server."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("server", ctypes.c_char * 64),
        ("pid", ctypes.c_uint32),
        ("max_name", ctypes.c_uint32),
        ("max_ndim", ctypes.c_uint32),
        ("max_request", ctypes.c_uint32),
        ("list_page_max", ctypes.c_uint32),
        ("id", ctypes.c_uint64),
        ("store_id", ctypes.c_uint64),
        ("reserved", ctypes.c_uint32 * 6),
    ]


class Stats(ctypes.Structure):
    """struct sharr_stats."""
    _fields_ = [(f, ctypes.c_uint64) for f in (
        "arrays", "arrays_volatile", "arrays_persistent",
        "bytes", "bytes_volatile", "bytes_persistent",
        "connections", "attachments",
        "persist_capacity", "persist_free",
        "volatile_capacity", "volatile_free")] + [
        ("pid", ctypes.c_uint32),
        ("uptime_ms", ctypes.c_int64),
    ] + [(f, ctypes.c_uint64) for f in (
        "volatile_limit", "volatile_limit_per_uid", "volatile_reserved",
        "bytes_grown", "arrays_damaged", "watches", "queued_bytes", "requests",
        "volatile_huge", "huge_page_size", "arrays_watched", "sweeps")] + [
        ("reserved", ctypes.c_uint64 * 6),
    ]


class Event(ctypes.Structure):
    """struct sharr_event."""
    _fields_ = [
        ("kind", ctypes.c_int),
        ("reserved0", ctypes.c_uint32),
        ("lost", ctypes.c_uint64),
        ("info", Info),
        ("reserved", ctypes.c_uint64 * 8),
    ]


class Holder(ctypes.Structure):
    """struct sharr_holder."""
    _fields_ = [
        ("handle", ctypes.c_uint64),
        ("name", ctypes.c_char * (NAME_MAX + 1)),
        ("pid", ctypes.c_uint32),
        ("uid", ctypes.c_uint32),
        ("gid", ctypes.c_uint32),
        ("comm", ctypes.c_char * 16),
        ("mode", ctypes.c_char * 4),
        ("since_ns", ctypes.c_int64),
        ("nbytes", ctypes.c_uint64),
        ("persist", ctypes.c_int),
        ("unlinked", ctypes.c_int),
        ("reserved", ctypes.c_uint32 * 16),
    ]


class _Sized(ctypes.Structure):
    """An option struct that starts with its size (sharr.h): set when it is made, so
    the other fields are given as usual, by keyword or in order after size."""

    def __init__(self, *args, **kwargs):
        super().__init__(ctypes.sizeof(self), *args, **kwargs)


class CreateOpts(_Sized):
    """struct sharr_create_opts."""
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("order", ctypes.c_char),
        ("persist", ctypes.c_int),
        ("perm", ctypes.c_uint32),
        ("overwrite", ctypes.c_int),
        ("flags", ctypes.c_int),
        ("max_len", ctypes.c_uint64),
    ]


class OpenOpts(_Sized):
    """struct sharr_open_opts."""
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("wait_ms", ctypes.c_int64),
        ("flags", ctypes.c_int),
        ("owner", ctypes.c_uint32),
    ]


def _candidates():
    """Where libsharr may be, best first, each with where the idea came from.

    An explicit $SHARR_LIBRARY is the only candidate when set: falling back to some
    other copy would hide the user's mistake."""
    explicit = os.environ.get("SHARR_LIBRARY")
    if explicit:
        return [(explicit, "$SHARR_LIBRARY")]
    found = []
    try:
        from . import _paths
        if os.path.exists(_paths.LIBRARY):
            found.append((_paths.LIBRARY, "the path CMake wrote in sharr/_paths.py"))
    except ImportError:
        pass
    system = ctypes.util.find_library("sharr")
    if system:
        found.append((system, "ctypes.util.find_library('sharr')"))
    return found


def _load():
    tried = []
    for path, origin in _candidates():
        try:
            return path, ctypes.CDLL(path, use_errno=True)
        except OSError as e:
            tried.append(f"{path} (from {origin}): {e}")
    detail = "; ".join(tried) if tried else "no candidate found"
    raise ImportError("sharr: cannot load libsharr: " + detail +
                      ". Set SHARR_LIBRARY to the path of libsharr.so.")


PATH, _dll = _load()

_handle = ctypes.c_void_p
_p_handle = ctypes.POINTER(ctypes.c_void_p)


def _proto(name, restype, *argtypes):
    fn = getattr(_dll, name)
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


connect = _proto("sharr_connect", ctypes.c_int, ctypes.c_char_p, _p_handle)
disconnect = _proto("sharr_disconnect", None, _handle)
server_info = _proto("sharr_server_info", ctypes.c_int, _handle, ctypes.POINTER(Server))
create = _proto("sharr_create", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.c_char_p,
                ctypes.c_int, ctypes.POINTER(ctypes.c_uint64),
                ctypes.POINTER(CreateOpts), _p_handle)
adopt = _proto("sharr_adopt", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.c_int,
               ctypes.POINTER(CreateOpts), ctypes.POINTER(Info))
open_ = _proto("sharr_open", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.c_char_p,
               ctypes.POINTER(OpenOpts), _p_handle)
close = _proto("sharr_close", ctypes.c_int, _handle)
# The address of the handle's struct sharr_info (Info.from_address reads it).
array_info = _proto("sharr_array_info", ctypes.c_void_p, _handle)
array_data = _proto("sharr_array_data", ctypes.c_void_p, _handle)
array_fd = _proto("sharr_array_fd", ctypes.c_int, _handle)
array_mode = _proto("sharr_array_mode", ctypes.c_char_p, _handle)
array_descr = _proto("sharr_array_descr", ctypes.c_char_p, _handle)
sync = _proto("sharr_sync", ctypes.c_int, _handle)
publish = _proto("sharr_publish", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.POINTER(Info))
grow = _proto("sharr_grow", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.c_uint64,
              ctypes.POINTER(Info))
array_refresh = _proto("sharr_array_refresh", ctypes.c_int, _handle)
stat = _proto("sharr_stat", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.POINTER(Info))
describe = _proto("sharr_describe", ctypes.c_int, _handle, ctypes.c_char_p,
                  ctypes.POINTER(Info), ctypes.c_char_p, ctypes.c_size_t)
list_ = _proto("sharr_list", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.POINTER(Info),
               ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t),
               ctypes.POINTER(ctypes.c_int))
unlink = _proto("sharr_unlink", ctypes.c_int, _handle, ctypes.c_char_p)
stats = _proto("sharr_stats", ctypes.c_int, _handle, ctypes.POINTER(Stats))
holders = _proto("sharr_holders", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.c_uint64,
                 ctypes.POINTER(Holder), ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t),
                 ctypes.POINTER(ctypes.c_int))
chmod = _proto("sharr_chmod", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.c_uint32)
chown = _proto("sharr_chown", ctypes.c_int, _handle, ctypes.c_char_p, ctypes.c_uint32,
               ctypes.c_uint32)
watch_open = _proto("sharr_watch_open", ctypes.c_int, _handle, ctypes.c_char_p, _p_handle)
watch_fd = _proto("sharr_watch_fd", ctypes.c_int, _handle)
watch_next = _proto("sharr_watch_next", ctypes.c_int, _handle, ctypes.POINTER(Event))
watch_close = _proto("sharr_watch_close", None, _handle)
event_name = _proto("sharr_event_name", ctypes.c_char_p, ctypes.c_int)
strerror = _proto("sharr_strerror", ctypes.c_char_p, ctypes.c_int)
default_socket = _proto("sharr_default_socket", ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t)
last_error = _proto("sharr_last_error", ctypes.c_char_p)
