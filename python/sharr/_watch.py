"""sharr.watch: the events on the arrays under a prefix, as libsharr's sharr_watch_*
reads them: a connection of its own to sharrd, a descriptor to poll and a
non-blocking read, no thread. Iterating blocks until each event; fileno() and
next_event() serve selectors and asyncio (loop.add_reader) instead.
"""

import ctypes
import dataclasses
import select
import typing

from . import _attachment, _connection, _errors, _lib
from ._info import ArrayInfo

CREATED = "created"
PUBLISHED = "published"
RESIZED = "resized"
REMOVED = "removed"
CHMOD = "chmod"
CHOWN = "chown"
OVERFLOW = "overflow"


@dataclasses.dataclass(frozen=True)
class Event:
    """One event. kind is one of "created", "published", "resized", "removed", "chmod",
    "chown" (then info is the array after it; info.name its name), or "overflow":
    the watcher fell behind and lost events were dropped (info None, lost their
    number): list again to catch up."""
    kind: str
    info: typing.Optional[ArrayInfo]
    lost: int = 0

    @property
    def name(self):
        return self.info.name if self.info is not None else None


class Watch:
    """The events on the arrays whose names start with prefix ("" for all) that the
    caller may see. Iterate to wait for each; close() (or a with block) ends it. When
    sharrd stops, iteration raises ConnectionResetError."""

    _handle = None

    def __init__(self, prefix="", *, socket=None):
        conn = _connection.get(_connection.resolve(socket))
        handle = ctypes.c_void_p()
        encoded = _attachment.encode_name(prefix) if prefix else b""
        _errors.check(_lib.watch_open(conn, encoded, ctypes.byref(handle)), prefix or None)
        self._handle = handle
        self._event = _lib.Event()

    def fileno(self):
        """The descriptor to poll for reading; then call next_event() until None."""
        self._check_open()
        return _lib.watch_fd(self._handle)

    def next_event(self):
        """The next event that has arrived, or None when none has: never blocks."""
        self._check_open()
        rc = _errors.check(_lib.watch_next(self._handle, ctypes.byref(self._event)))
        if rc == 0:
            return None
        ev = self._event
        kind = _lib.event_name(ev.kind).decode()
        info = None if kind == OVERFLOW else ArrayInfo.from_c(ev.info)
        return Event(kind, info, int(ev.lost))

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            ev = self.next_event()
            if ev is not None:
                return ev
            select.select([self], [], [])

    def close(self):
        """End the watch (idempotent)."""
        if self._handle:
            _lib.watch_close(self._handle)
            self._handle = None

    def _check_open(self):
        if not self._handle:
            raise ValueError("the watch is closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def watch(prefix="", *, socket=None):
    """A Watch of the arrays under prefix: `for ev in sharr.watch("jobs.")`."""
    return Watch(prefix, socket=socket)
