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
