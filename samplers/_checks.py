"""Argument checks shared by every public constructor and function.

Each returns the value in canonical form or raises a ``TypeError`` /
``ValueError`` whose message names the argument, before any work starts.
"""
import math
import numbers

import numpy as np

__all__ = ["check_count", "check_positive", "check_bool", "check_float_array", "check_index_array"]


def check_count(value, name, minimum=1, maximum=None, maximum_name=None):
    """An int in ``[minimum, maximum]``, or a ``ValueError``/``TypeError`` naming ``name``.

    ``maximum_name`` says where an upper bound comes from in the message
    (``rank must be <= d = 5``).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        bound = f"{maximum_name} = {maximum}" if maximum_name else f"{maximum}"
        raise ValueError(f"{name} must be <= {bound}, got {value}")
    return int(value)


def check_bool(value, name):
    """A bool, or a ``TypeError`` naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def check_positive(value, name, allow_none=False, upper=None):
    """A finite float > 0 (and < ``upper`` when given), or an error naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0 or (upper is not None and value >= upper):
        bound = f" and < {upper}" if upper is not None else ""
        raise ValueError(f"{name} must be finite and > 0{bound}, got {value}")
    return value


def check_float_array(values, name, ndim=None, min_size=1):
    """A new float64 array of finite real numbers, or an error naming ``name``.

    ``TypeError`` for strings and for anything that is not an array of real
    numbers (booleans, complex, objects); ``ValueError`` for a ragged nesting,
    a number of dimensions other than ``ndim`` (when given), fewer than
    ``min_size`` entries, or a NaN or infinite entry (the message gives the
    first one's index).  Always a copy: callers may keep or modify it without
    aliasing the caller's data.
    """
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got {type(values).__name__}")
    arr = check_real_array(values, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size < min_size:
        need = "not be empty" if min_size == 1 else f"have at least {min_size} entries"
        raise ValueError(f"{name} must {need}, got {arr.size}")
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        where = ", ".join(str(i) for i in bad[0])
        raise ValueError(f"{name} must be finite, got {name}[{where}] = {arr[tuple(bad[0])]}")
    return arr


def check_index_array(values, name, size):
    """A non-empty 1-D int64 array of indices into ``range(size)``, or an error naming ``name``."""
    arr = np.asarray(values)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an array of integers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.min() < 0 or arr.max() >= size:
        raise ValueError(f"{name} must be in [0, {size}), got values in [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


# -- real arrays and message values ---------------------------------------------------------
# (kept together at the end of the file, so that checks added above by other work merge cleanly)

__all__ += ["check_real_array", "plain"]


def check_real_array(value, name):
    """``value`` as a new float64 array, or a ``TypeError`` naming ``name``.

    Complex input is refused rather than cut to its real part (NumPy's
    ``asarray(..., dtype=float)`` keeps the real part with only a warning);
    so are strings, booleans and objects (a ``ValueError`` for ragged
    sequences).  Shape and finiteness are the caller's to check.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:  # ragged nested sequences
        raise ValueError(f"{name} must be an array of real numbers: {err}") from None
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex values (dtype {arr.dtype})")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def plain(value):
    """``value`` for an error message: NumPy scalars and arrays become Python numbers,
    strings and lists, so that messages read ``4.0`` rather than ``np.float64(4.0)``."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return value
