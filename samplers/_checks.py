"""Argument checks shared by every public constructor and function.

Each returns the value in canonical form or raises a ``TypeError`` /
``ValueError`` whose message names the argument, before any work starts.
"""
import math
import numbers

import numpy as np

__all__ = ["check_count", "check_positive", "check_bool"]


def check_count(value, name, minimum=1):
    """An int >= ``minimum``, or a ``ValueError``/``TypeError`` naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
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
