"""`Target`: a log density and its gradient, compiled, with the arrays it reads.

A target is a numba-compiled function

    logp_grad(x, params, grad_out) -> float

that writes the gradient of log p at ``x`` into ``grad_out`` and returns log p
(up to an additive constant).  ``x`` and ``grad_out`` are C-contiguous float64
vectors of length ``dim``; ``params`` is a tuple of arrays that the function
reads and must not modify.  Keeping the numbers in ``params`` rather than in
the function's closure is what lets one compiled kernel serve every target of
the same ``params`` type, from the disk cache.
"""
import math

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

from .._checks import plain
from .._jit import batch_logp_grad_signature, logp_grad_signature

__all__ = ["Target"]


class Target:
    """A log density for the samplers.

    Parameters
    ----------
    logp_grad : numba.njit function
        ``logp_grad(x, params, grad_out) -> float`` as described above.
    dim : int or tuple of int
        Number of coordinates, or the shape of one draw (``(d, k)`` for a
        matrix); ``x`` is always the flattened (C-order) vector.
    params : tuple of arrays, optional
        Arrays passed to ``logp_grad`` unchanged.
    name : str, optional
        Name of the variable in the ArviZ output (default ``"x"``).
    batch_logp_grad : numba.njit function, optional
        ``batch_logp_grad(xs, params, grad_out, lp_out) -> None``: the same
        log density at every row of ``xs`` (n, dim), gradients into the rows of
        ``grad_out``, values into ``lp_out``.  Give it when many points cost
        much less than many single calls (a shared matrix read once, as in
        matrix sensing): the samplers then evaluate the proposals of all
        chains in one call per step.

    Examples
    --------
    >>> import numba, numpy as np
    >>> @numba.njit
    ... def logp_grad(x, params, grad_out):
    ...     (precision,) = params
    ...     grad_out[:] = -precision @ x
    ...     return 0.5 * x @ grad_out
    >>> target = Target(logp_grad, 2, params=(np.eye(2),))
    """

    def __init__(self, logp_grad, dim, params=(), *, name="x", batch_logp_grad=None):
        if not isinstance(logp_grad, CPUDispatcher):
            raise TypeError(
                "logp_grad must be a numba.njit-compiled function "
                "logp_grad(x, params, grad_out) -> float; for plain Python "
                f"callables use Target.from_python (got {type(logp_grad).__name__})"
            )
        self.shape = _as_shape(dim)
        self.dim = int(math.prod(self.shape))
        self.params = _as_params(params)
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"name must be an identifier string, got {plain(name)!r}")
        self.name = name
        self.logp_grad = logp_grad
        self._python_errors = []  # exceptions raised by from_python callables
        self.params_type = numba.typeof(self.params)
        try:
            logp_grad.compile(logp_grad_signature(self.params_type))
        except Exception as err:  # numba raises TypingError, LoweringError, ...
            raise TypeError(
                "logp_grad could not be compiled as logp_grad(x, params, grad_out) -> float "
                f"for x a float64 vector and params of type {self.params_type}: {err}"
            ) from err
        self.batch_logp_grad = None
        if batch_logp_grad is not None:
            if not isinstance(batch_logp_grad, CPUDispatcher):
                raise TypeError("batch_logp_grad must be a numba.njit-compiled function, got "
                                f"{type(batch_logp_grad).__name__}")
            try:
                batch_logp_grad.compile(batch_logp_grad_signature(self.params_type))
            except Exception as err:  # noqa: BLE001 - numba's typing errors vary
                raise TypeError(
                    "batch_logp_grad could not be compiled as batch_logp_grad(xs, params, "
                    f"grad_out, lp_out) for params of type {self.params_type}: {err}") from err
            self.batch_logp_grad = batch_logp_grad

    @classmethod
    def from_python(cls, logp, grad, dim, *, name="x"):
        """A target from plain Python callables ``logp(x) -> float`` and ``grad(x) -> array``.

        Correct but slow: every evaluation leaves compiled code and takes the
        GIL (tens of microseconds, against well under one for a compiled
        target), so chains no longer run in parallel.  Use it to try a model;
        write ``logp_grad`` with ``numba.njit`` for real runs.  ``x`` is passed
        as a flat float64 vector of length ``prod(dim)``.
        """
        if not callable(logp):
            raise TypeError(f"logp must be callable, got {type(logp).__name__}")
        if not callable(grad):
            raise TypeError(f"grad must be callable, got {type(grad).__name__}")
        shape = _as_shape(dim)
        n = int(math.prod(shape))
        errors = []

        def call_python(x, grad_out):
            # An exception cannot cross the compiled parallel loop intact, so
            # it is kept and re-raised by raise_python_error between chunks.
            try:
                value = float(logp(x.copy()))
                g = np.asarray(grad(x.copy()), dtype=np.float64)
                if g.size != n:
                    raise ValueError(f"grad returned {g.size} values, expected dim={n}")
                grad_out[:] = g.reshape(-1)
                return value
            except Exception as err:  # noqa: BLE001 - re-raised by raise_python_error
                errors.append(err)
                grad_out[:] = np.nan
                return np.nan

        # Not cached: it refers to the user's Python objects.
        @numba.njit(cache=False)
        def logp_grad(x, params, grad_out):
            with numba.objmode(value="float64"):
                value = call_python(x, grad_out)
            return value

        target = cls(logp_grad, shape, (), name=name)
        target._python_errors = errors
        return target

    def raise_python_error(self):
        """Re-raise the first exception of a ``from_python`` callable, if any."""
        if self._python_errors:
            err = self._python_errors[0]
            self._python_errors.clear()
            raise RuntimeError(f"the target's Python logp or grad raised {type(err).__name__}: {err}") from err

    def logp_and_grad(self, x):
        """Log density and gradient at one point (through the compiled function)."""
        x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        if x.shape[0] != self.dim:
            raise ValueError(f"x must have {self.dim} coordinates, got {x.shape[0]}")
        grad = np.empty(self.dim)
        value = self.logp_grad(x, self.params, grad)
        self.raise_python_error()
        return value, grad

    def default_initial(self, rng):
        """An initial point when the user gives none: uniform on [-2, 2]^dim, as Stan does.

        ``rng`` is the chain's own ``numpy.random.Generator``; subclasses may
        override this with a better guess.
        """
        return rng.uniform(-2.0, 2.0, size=self.dim)

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.shape if len(self.shape) > 1 else self.dim})"


def _as_shape(dim):
    if isinstance(dim, (int, np.integer)) and not isinstance(dim, (bool, np.bool_)):
        shape = (int(dim),)
    elif isinstance(dim, tuple) and dim and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) for s in dim
    ):
        shape = tuple(int(s) for s in dim)
    else:
        raise TypeError(f"dim must be a positive int or a tuple of positive ints, got {plain(dim)!r}")
    if any(s < 1 for s in shape):
        raise ValueError(f"dim must be positive, got {plain(dim)!r}")
    return shape


def _as_params(params):
    if not isinstance(params, tuple):
        raise TypeError(f"params must be a tuple of arrays, got {type(params).__name__}")
    out = []
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"params[{i}] must be a numpy array, got {type(p).__name__}")
        if p.dtype.kind not in "biuf":
            raise TypeError(f"params[{i}] must be a numeric array, got dtype {p.dtype}")
        out.append(np.ascontiguousarray(p))
    return tuple(out)


