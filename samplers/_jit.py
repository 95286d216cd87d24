"""The one place numba is configured.

Every compiled function in the package is declared with :func:`jit`, so the
flags live here:

* ``cache=True``: compiled kernels persist on disk, so a second process pays
  no compilation (see ``benchmarks/RESULTS.md`` for start-up figures).
* no ``fastmath``: fastmath lets LLVM assume values are finite, which deletes
  the ``isfinite`` checks that turn a diverging step into a recorded event
  instead of a NaN in the results.  Small dense kernels (the mixture's
  log density) may ask for :data:`REASSOCIATE`, a subset that keeps every
  NaN and inf: it lets LLVM vectorise sums and fuse multiply-adds.
* ``error_model="numpy"``: division by zero gives inf/NaN (which the checks
  catch) instead of raising inside a parallel loop.

Targets reach the kernels as first-class function values typed by
:func:`logp_grad_type`; the kernels are compiled once per *params type*, not
once per target function, which is what makes the disk cache work for user
targets (a plain dispatcher argument would defeat caching).
"""
import numba
from numba import types

__all__ = ["jit", "pjit", "REASSOCIATE", "logp_grad_signature", "logp_grad_type", "batch_logp_grad_signature",
           "batch_logp_grad_type", "VECTOR", "MATRIX"]

#: A C-contiguous float64 vector: positions and gradients.
VECTOR = types.float64[::1]
#: A C-contiguous float64 matrix: one point per row (batched evaluation).
MATRIX = types.float64[:, ::1]


#: The fastmath flags a kernel may use: reassociation (vectorised sums) and
#: contraction (fused multiply-add), never ``nnan``/``ninf``.
REASSOCIATE = frozenset({"reassoc", "contract"})


def jit(*args, fastmath=False, **kwargs):
    """``numba.njit`` with the package's flags (cache, no fastmath unless
    ``fastmath=REASSOCIATE``)."""
    if fastmath and set(fastmath) != REASSOCIATE:
        raise ValueError("only fastmath=REASSOCIATE is allowed: other flags delete NaN/inf checks")
    kwargs.setdefault("cache", True)
    kwargs.setdefault("error_model", "numpy")
    kwargs["fastmath"] = set(REASSOCIATE) if fastmath else False
    return numba.njit(*args, **kwargs)


def pjit(*args, **kwargs):
    """:func:`jit` for the multi-chain loops: ``parallel=True`` (``prange``)."""
    kwargs["parallel"] = True
    return jit(*args, **kwargs)


def logp_grad_signature(params_type):
    """``float64(x, params, grad_out)`` for a given numba type of ``params``."""
    return types.float64(VECTOR, params_type, VECTOR)


def logp_grad_type(params_type):
    """The first-class function type of a target's ``logp_grad``."""
    return types.FunctionType(logp_grad_signature(params_type))


def batch_logp_grad_signature(params_type):
    """``none(xs, params, grad_out, lp_out)``: many points (rows of ``xs``) in one call."""
    return types.none(MATRIX, params_type, MATRIX, VECTOR)


def batch_logp_grad_type(params_type):
    """The first-class function type of a target's ``batch_logp_grad``."""
    return types.FunctionType(batch_logp_grad_signature(params_type))
