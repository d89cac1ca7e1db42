"""Python values to the C integers libsharr takes, range-checked before ctypes sees them.

ctypes keeps only the low bits of an int it converts (2**64 + 5 becomes 5 in a
uint64_t), so every integer that crosses into C goes through one of these first:
a value that does not fit raises OverflowError (a negative one where none is
allowed, or one outside a rule such as the permission bits, ValueError), never
wraps. bool and floats are refused as integers, as numpy refuses them for a shape.
"""

import math
import operator

import numpy as np

# Bits of a permission (sharr.h: "at most 0777").
PERM_MAX = 0o777
# A uid or gid: (uid_t)-1 means "none" to the kernel and SHARR_ID_KEEP to sharr.
ID_MAX = 2 ** 32 - 2
UINT64_MAX = 2 ** 64 - 1
INT64_MAX = 2 ** 63 - 1


def integer(value, what):
    """value as a Python int (operator.index), refusing bool: TypeError naming what."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None


def bounded(value, lo, hi, what):
    """integer(value) within lo..hi: ValueError below lo, OverflowError above hi."""
    v = integer(value, what)
    if v < lo:
        raise ValueError(f"{what} must be >= {lo}, not {v}" if lo else
                         f"{what} is negative: {v}")
    if v > hi:
        raise OverflowError(f"{what} {v} does not fit: at most {hi}")
    return v


def shape(dims):
    """A shape (an int, numpy's included, or a sequence of ints) as a tuple of ints in
    0..2**64-1; anything else is a TypeError naming the shape."""
    if isinstance(dims, (int, np.integer)) or (isinstance(dims, np.ndarray) and
                                               dims.ndim == 0):
        dims = (dims,)
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError("shape must be an integer or a sequence of integers, not "
                        f"{type(dims).__name__}") from None
    return tuple(bounded(d, 0, UINT64_MAX, f"dimension {i} of shape")
                 for i, d in enumerate(dims))


def perm(value):
    """Permission bits, as chmod takes them: 0..0o777."""
    v = integer(value, "perm")
    if not 0 <= v <= PERM_MAX:
        raise ValueError(f"perm {v:#o}: only the bits 0777 are allowed")
    return v


def create_perm(value):
    """perm() for a create, where 0 cannot be asked for (C reads it as 0600)."""
    v = perm(value)
    if v == 0:
        raise ValueError("perm 0 cannot be given at create (libsharr reads 0 as the "
                         "default 0600): create, then chmod(name, 0)")
    return v


def ident(value, what, kind):
    """A uid or gid (kind names which): 0..2**32-2."""
    v = integer(value, what)
    if not 0 <= v <= ID_MAX:
        raise ValueError(f"{what} must be a {kind} in 0..{ID_MAX}, not {v}")
    return v


def wait_ms(wait):
    """Seconds (None: do not wait, math.inf: forever) as libsharr's int64 wait_ms."""
    if wait is None:
        return 0
    # float() would also read text ("1") and bool as seconds.
    if isinstance(wait, (bool, np.bool_, str, bytes, bytearray)):
        raise TypeError(f"wait must be a number of seconds, not {type(wait).__name__}")
    try:
        wait = float(wait)
    except (TypeError, ValueError):
        raise TypeError(f"wait must be a number of seconds, not {type(wait).__name__}") \
            from None
    if math.isnan(wait) or wait < 0:
        raise ValueError(f"wait must be >= 0 seconds (math.inf: forever), not {wait}")
    if math.isinf(wait):
        return -1
    ms = math.ceil(wait * 1000)
    if ms > INT64_MAX:
        raise OverflowError(f"wait {wait} s does not fit libsharr's int64 milliseconds; "
                            "math.inf waits forever")
    return ms
