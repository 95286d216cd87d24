"""The Metropolis acceptance probability, shared by every accept/reject in the kernels.

A move with log acceptance ratio ``log_alpha`` is accepted with probability::

    a = min(1, exp(log_alpha))

computed without overflow (``exp`` only of a negative number).  A NaN ratio
(a proposal whose log density is NaN, or inf - inf) gives ``a = 0``: such a
move is never accepted and the mean acceptance seen by the adaptation stays a
number.  For every finite or infinite ``log_alpha`` the NaN test changes
nothing, so draws do not depend on it.

Compiled into its callers (``inline="always"``, see ``_jit``): it runs once
per step or swap, where a call would cost more than its work.
"""
import numpy as np

from .._jit import jit

__all__ = ["accept_probability"]


@jit(inline="always")
def accept_probability(log_alpha):
    """``min(1, exp(log_alpha))``, and 0 for a NaN ``log_alpha``."""
    if np.isnan(log_alpha):
        return 0.0
    return 1.0 if log_alpha >= 0.0 else np.exp(log_alpha)
