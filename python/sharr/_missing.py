"""What a sharr array's pickle becomes inside Dask distributed when its name cannot be
attached: a stand-in that raises the attach's error when a task uses it.

distributed unpickles task arguments, graphs and scattered data while it reads a
message from a connection; an error there breaks the connection (the worker's to
the scheduler: every worker dies, and the computation never ends). A Missing takes
the error to the task that uses the array, which fails with it, and the cluster goes
on. It owns no attachment. Pickled again (handed on to another worker, gathered),
it is the array's pickle again, attached anew by whoever unpickles it. The Missings
alive in this process are known (live()), so that what the client gathers is searched
for one only when there may be one.
"""

import copy
import weakref

# id -> each Missing alive in this process (weakly: values, so a Missing, unhashable
# as an array is, need not be hashed).
_live = weakref.WeakValueDictionary()


def live():
    """True when a Missing is alive in this process."""
    return len(_live) > 0


class Missing:
    """The array a sharr pickle names, which could not be attached here: error (an
    OSError or ValueError that names the array and says why) is raised by every use
    of it (a sharr array's attributes and methods, indexing, numpy, arithmetic and
    comparisons, == and != too, len, iteration, conversions). Unhashable, as an array.
    rebuild_args are the pickle's (_pickle.rebuild's arguments)."""

    __slots__ = ("_error", "_rebuild_args", "__weakref__")

    def __init__(self, error, rebuild_args):
        object.__setattr__(self, "_error", error)
        object.__setattr__(self, "_rebuild_args", rebuild_args)
        _live[id(self)] = self

    def error(self):
        """The error, a fresh copy: no traceback or context of an earlier use piles up."""
        return copy.copy(self._error).with_traceback(None)

    def _raise(self, *args, **kwargs):
        raise self.error()

    def __getattr__(self, attr):
        # A method or attribute of a sharr array raises the error. Probes for other
        # names and for protocols (dask's, numpy's __array_interface__...) find none,
        # as on any object: distributed and dask probe the objects of a task.
        from ._array import memmap
        if attr.startswith("__") or not hasattr(memmap, attr):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
        self._raise()

    def __setattr__(self, attr, value):
        self._raise()

    def __reduce__(self):
        from ._pickle import rebuild
        return rebuild, self._rebuild_args

    def __repr__(self):
        return f"<sharr.Missing: {self._error}>"

    __getitem__ = __setitem__ = __delitem__ = __len__ = __iter__ = __contains__ = _raise
    __array__ = __array_ufunc__ = __array_function__ = _raise
    __bool__ = __int__ = __float__ = __complex__ = __index__ = _raise
    __neg__ = __pos__ = __abs__ = __invert__ = __matmul__ = __rmatmul__ = _raise
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _raise
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _raise
    __mod__ = __rmod__ = __pow__ = __rpow__ = __divmod__ = __rdivmod__ = _raise
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _raise
    __lshift__ = __rlshift__ = __rshift__ = __rrshift__ = _raise
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _raise
    __hash__ = None
    __iadd__ = __isub__ = __imul__ = __itruediv__ = __ifloordiv__ = __imod__ = _raise
    __ipow__ = __iand__ = __ior__ = __ixor__ = __ilshift__ = __irshift__ = _raise
