"""`Target`: a log density and its gradient, compiled, with the arrays it reads.

A target is a numba-compiled function

    logp_grad(x, params, grad_out) -> float

that writes the gradient of log p at ``x`` into ``grad_out`` and returns log p
(up to an additive constant).  ``x`` and ``grad_out`` are C-contiguous float64
vectors of length ``dim``; ``params`` is a tuple of arrays that the function
reads and must not modify.  Keeping the numbers in ``params`` rather than in
the function's closure is what lets one compiled kernel serve every target of
the same ``params`` type, from the disk cache.

A user's function is checked before any long work: :class:`Target` compiles a
bounds-checked copy of it and evaluates it once (so a ``dim`` that does not
match the function or its ``params`` is an error naming ``dim``, not a
silent read of other memory), and the samplers call :meth:`Target.validate`
at the initial points (every entry of ``grad_out`` written, the gradient
equal to finite differences of ``log p``).
"""
import math
from typing import NamedTuple

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

from .._checks import plain
from .._jit import batch_logp_grad_signature, logp_grad_signature

__all__ = ["Target", "GradientCheck", "Variable"]

#: Relative error above which :meth:`Target.check_gradient` calls the gradient wrong.
GRADIENT_RTOL = 1e-3
#: Steps of the central differences, relative to ``max(1, max |x_i|)``: the best
#: agreement over these is kept, so a target of any length scale is judged at
#: a step where truncation and rounding errors are both small.
FD_STEPS = 10.0 ** -np.arange(1, 10)


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
        Name of the one posterior variable, of shape ``dim`` (default ``"x"``).
    names : dict, optional
        Instead of ``name``: the named pieces of ``x``, in order, each with its
        shape, e.g. ``{"mu": (), "theta": (8,)}`` for ``dim=9`` (``x[0]`` is
        ``mu``, ``x[1:9]`` is ``theta``, each piece in C order).  Their sizes
        must add up to ``dim``.  Each piece is a posterior variable.
    dims : dict, optional
        Names of the axes of a posterior variable, ``{"theta": ("school",)}``
        (one per axis); by default ``"<name>_dim_<i>"``, as ArviZ names them.
    coords : dict, optional
        Coordinate values of named axes, ``{"school": ["A", ..., "H"]}`` (as
        many as the axis is long); by default ``0, 1, ...``.
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

    def __init__(self, logp_grad, dim, params=(), *, name=None, names=None, dims=None,
                 coords=None, batch_logp_grad=None):
        self._checked = None  # the bounds-checked copy of logp_grad (user targets)
        if not isinstance(logp_grad, CPUDispatcher):
            raise TypeError(
                "logp_grad must be a numba.njit-compiled function "
                "logp_grad(x, params, grad_out) -> float; for plain Python "
                f"callables use Target.from_python (got {type(logp_grad).__name__})"
            )
        self.shape = _as_shape(dim)
        self.dim = int(math.prod(self.shape))
        self.params = _as_params(params)
        self.variables, self.coords = _layout(self.shape, name, names, dims, coords)
        #: The posterior variable's name when there is one (``None`` for several ``names``).
        self.name = self.variables[0].name if len(self.variables) == 1 else None
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
        if type(self) is Target and not getattr(logp_grad, "_from_python", False):
            # A user's own function (the built-in subclasses are tested): one
            # bounds-checked evaluation now, before any sampler compiles.
            self._checked = _bounds_checked(logp_grad, self.params_type)
            self._evaluate(np.random.default_rng(0).uniform(-2.0, 2.0, self.dim), "dim")

    @classmethod
    def from_pymc(cls, model, *, jitter=1.0):
        """The posterior of a PyMC model (``pip install "samplers[pymc]"``).

        ``x`` is the flat vector of ``model.value_vars`` (unconstrained: log,
        logodds, ... transforms) and log p is ``model.logp()`` with the log
        Jacobians; log p and its gradient are compiled by PyTensor's numba
        backend.  Draws come back as ``pm.sample`` gives them: every free
        variable (constrained) and deterministic, with the model's dims and
        coords, and the ``observed_data``.  Default initial points are
        ``model.initial_point()`` plus uniform(-jitter, jitter) noise.  See
        ``samplers.targets.pymc.PyMCTarget``.
        """
        from .pymc import PyMCTarget

        return PyMCTarget(model, jitter=jitter)

    @classmethod
    def from_python(cls, logp, grad, dim, *, name=None, names=None, dims=None, coords=None):
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

        logp_grad._from_python = True  # no bounds-checked copy: the Python callables check themselves
        target = cls(logp_grad, shape, (), name=name, names=names, dims=dims, coords=coords)
        target._python_errors = errors
        return target

    #: Whether the posterior variables are the pieces of ``x`` (:meth:`posterior`), so
    #: that the draws can be read back from them (``inference_data.flat_draws``).
    posterior_is_flat = True

    def posterior(self, x):
        """The posterior variables at flat points ``x`` (``(..., dim)``): a dict name ->
        array ``(..., *variable.shape)``, one entry per :attr:`variables`.

        Here each variable is its piece of ``x``; a target whose variables are
        functions of ``x`` (``from_pymc``: constrained values, deterministics)
        overrides this.  ``to_inference_data`` builds the ``posterior`` group
        from it, with the axes named by ``variable.dims`` and :attr:`coords`.
        """
        x = np.asarray(x)
        lead = x.shape[:-1]
        out, start = {}, 0
        for v in self.variables:
            size = int(math.prod(v.shape))
            out[v.name] = x[..., start:start + size].reshape(*lead, *v.shape)
            start += size
        return out

    def data_groups(self):
        """Groups of data the output carries besides the draws: a dict group -> dict
        name -> ``(dims, array)`` (``from_pymc``: ``observed_data``, ``constant_data``);
        none for a numba target."""
        return {}

    def handle(self, batched=False):
        """``(address, data)``: the target behind the fixed C interface of the compiled loop
        (``targets.interface``), ``batched`` for ``batch_logp_grad``.

        The adapter is made on first use (a fraction of a second, once per function and
        params type in a process); the data block lives as long as this target, which
        also keeps ``params`` (whose addresses it holds) alive.
        """
        from .interface import c_adapter, data_block

        handles = self.__dict__.setdefault("_handles", {})
        if batched not in handles:
            function = self.batch_logp_grad if batched else self.logp_grad
            adapter = c_adapter(function, self.params_type, batched, cache=self._adapter_cache())
            block = data_block(self.params)
            handles[batched] = (adapter, block, (adapter.address, block.ctypes.data))
        return handles[batched][2]

    def _adapter_cache(self):
        """``(directory, key)`` where the C adapter may be cached on disk
        (``interface.keyed_cache``), or ``None``: a user's function may live in a script
        that changes, so only a target that knows its code's key (``from_pymc``) says."""
        return None

    def __getstate__(self):
        # The adapter and the addresses are this process's: another one (a worker of a
        # sweep) makes its own on first use.
        state = self.__dict__.copy()
        state.pop("_handles", None)
        return state

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

    def _evaluate(self, x, blame):
        """``(log p, gradient)`` at ``x`` through the bounds-checked copy, with
        errors that name ``blame`` (the argument most likely wrong).

        ``grad_out`` is filled with two different sentinels in two calls: an
        entry left equal to the sentinel both times was never written.
        """
        function = self._checked if self._checked is not None else self.logp_grad
        grads = []
        for sentinel in (np.nan, 7.25e307):
            grad = np.full(self.dim, sentinel)
            try:
                value = function(x, self.params, grad)
            except Exception as err:  # noqa: BLE001 - numba raises IndexError, ValueError, ...
                # Out-of-bounds indexing and mismatched array sizes mean a dim that does
                # not fit the function or its params; anything else is the function's own.
                sizes = isinstance(err, IndexError) or any(
                    word in str(err) for word in ("incompatible", "shape", "size"))
                hint = (f": check that {blame} matches the function and its params" if sizes
                        else "")
                raise ValueError(
                    f"logp_grad raised {type(err).__name__} ({err}) at a point of dim={self.dim} "
                    f"with params of shapes {[p.shape for p in self.params]}{hint}") from err
            self.raise_python_error()
            grads.append(grad)
        unwritten = (np.isnan(grads[0]) & (grads[1] == 7.25e307))
        if np.isfinite(value) and unwritten.any():
            raise ValueError(
                f"logp_grad did not write grad_out at {np.flatnonzero(unwritten)[:10].tolist()} "
                f"(of dim={self.dim}): it must write the whole gradient of log p")
        return float(value), grads[1]

    def check_gradient(self, x, *, rtol=GRADIENT_RTOL, n_directions=3, rng=0):
        """Compare the gradient at ``x`` with central differences of ``log p``.

        Along ``n_directions`` random unit directions ``v``, the directional
        derivative ``grad . v`` is compared with ``(log p(x + e v) -
        log p(x - e v)) / (2 e)`` for steps ``e`` from 0.1 to 1e-9 (times
        ``max(1, max |x_i|)``), keeping the best agreement, less the part the
        rounding noise of log p (measured by its second difference at the
        smallest step) explains: a correct gradient agrees to ``rtol`` at some
        step whatever the target's length scale, a wrong one at none.  Returns a :class:`GradientCheck`; raises
        ``ValueError`` naming ``logp_grad`` when the relative error exceeds
        ``rtol``, and when log p or the gradient is not finite at ``x``.
        """
        x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        if x.shape[0] != self.dim:
            raise ValueError(f"x must have dim={self.dim} coordinates, got {x.shape[0]}")
        value, grad = self._evaluate(x, "dim")
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            raise ValueError("check_gradient: log p or its gradient is not finite at x")
        rng = np.random.default_rng(rng)
        scale = max(1.0, float(np.max(np.abs(x))))
        steps = FD_STEPS * scale
        errors = []
        with np.errstate(all="ignore"):
            for _ in range(n_directions):
                v = rng.standard_normal(self.dim)
                v /= np.linalg.norm(v)
                exact = float(grad @ v)
                values = [(self._evaluate(x + e * v, "dim")[0], self._evaluate(x - e * v, "dim")[0])
                          for e in steps]
                # The rounding noise of log p along v: its second difference at the
                # smallest step, where the curvature term (e^2 f'') has vanished.
                up, down = values[-1]
                noise = abs(up + down - 2.0 * value) + 4.0 * np.finfo(float).eps * abs(value)
                best = np.inf
                for e, (up, down) in zip(steps, values):
                    fd = (up - down) / (2.0 * e)
                    if np.isfinite(fd):
                        # What the rounding noise (noise / e) can explain is not an error.
                        excess = max(0.0, abs(fd - exact) - noise / e)
                        best = min(best, excess / max(abs(exact), abs(fd), 1e-300))
                errors.append(best)
        check = GradientCheck(max_relative_error=float(max(errors)), rtol=float(rtol))
        if not check.ok:
            raise ValueError(
                f"logp_grad: the gradient disagrees with finite differences of log p "
                f"(relative error {check.max_relative_error:.3g} > {rtol:g} along a random "
                f"direction at the point given): does grad_out hold the gradient of the "
                f"returned log p?")
        return check

    def hessian_max_eig(self, x):
        """Largest eigenvalue of the Hessian of -log p at ``x``: the curvature that bounds
        a stable Langevin step (ULA diverges on a Gaussian once ``h lambda > 2``).

        From Hessian-vector products by central differences of the gradient,
        ``H v ~ -(g(x + e v) - g(x - e v)) / (2 e)``, first with ``e = 1e-5``
        (times ``max(1, max |x_i|)``), then again with ``e`` a thousandth of the
        length scale ``lambda^(-1/2)`` just found; the (symmetrised) Hessian is
        dense up to 60 coordinates, Lanczos (``scipy.sparse.linalg.eigsh``)
        beyond.  Exact (to rounding) on a Gaussian.
        """
        x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        if x.shape[0] != self.dim:
            raise ValueError(f"x must have dim={self.dim} coordinates, got {x.shape[0]}")
        e = 1e-5 * max(1.0, float(np.max(np.abs(x))))
        top = _top_eigenvalue(lambda v, e=e: self._hvp(x, v, e), self.dim)
        if np.isfinite(top) and top > 0:
            top = _top_eigenvalue(lambda v, e=1e-3 / np.sqrt(top): self._hvp(x, v, e), self.dim)
        return top

    def _hvp(self, x, v, e):
        """Hessian of -log p at ``x`` times ``v``, by central differences of the gradient."""
        _, up = self.logp_and_grad(x + e * v)
        _, down = self.logp_and_grad(x - e * v)
        return -(up - down) / (2.0 * e)

    def validate(self, points, n_check=4):
        """Check the target at initial points ``(n, dim)`` before a run: one evaluation
        per point (errors name ``dim``), the gradient against finite differences at
        the first ``n_check`` points where log p is finite (:meth:`check_gradient`)."""
        checked = 0
        for x in np.asarray(points, dtype=np.float64).reshape(-1, self.dim):
            value, grad = self._evaluate(np.ascontiguousarray(x), "dim")
            if checked < n_check and np.isfinite(value) and np.all(np.isfinite(grad)):
                self.check_gradient(x)
                checked += 1

    def fingerprint(self):
        """A short hash of what defines the log density: the function, the shape and the
        bytes of ``params``.  ``Sampler.resume`` refuses a target whose fingerprint
        differs from the run's (a different target of the same dimension)."""
        import hashlib

        h = hashlib.sha256()
        function = getattr(self.logp_grad, "py_func", self.logp_grad)
        names = self.name if self.name is not None else [tuple(v) for v in self.variables]
        h.update(f"{type(self).__name__}:{function.__module__}.{function.__qualname__}:"
                 f"{self.shape}:{names}".encode())
        for p in self.params:
            h.update(f"{p.dtype.str}{p.shape}".encode())
            h.update(np.ascontiguousarray(p).tobytes())
        return h.hexdigest()[:16]

    def default_initial(self, rng):
        """An initial point when the user gives none: uniform on [-2, 2]^dim, as Stan does.

        ``rng`` is the chain's own ``numpy.random.Generator``; subclasses may
        override this with a better guess.
        """
        return rng.uniform(-2.0, 2.0, size=self.dim)

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.shape if len(self.shape) > 1 else self.dim})"


class Variable(NamedTuple):
    """One posterior variable of a target: its name, its shape per draw and the names
    of its axes (one per axis)."""
    name: str
    shape: tuple
    dims: tuple


def _layout(shape, name, names, dims, coords):
    """``(variables, coords)`` from the ``name``/``names``/``dims``/``coords`` arguments
    of :class:`Target`, checked against the target's ``shape``: ``names`` are the pieces
    of the flat ``x`` in order; ``name`` (or ``"x"``) is one variable of the target's shape.
    """
    if name is not None and names is not None:
        raise TypeError("give name (one variable) or names (the pieces of x), not both")
    argument = "name" if names is None else "names"
    if names is None:
        names = {"x" if name is None else name: shape}
    variables, coords = _named_variables(names, dims, coords, argument)
    total = sum(int(math.prod(v.shape)) for v in variables)
    if total != math.prod(shape):
        raise ValueError(f"names: the pieces have {total} coordinates in all, dim has "
                         f"{math.prod(shape)} ({ {v.name: v.shape for v in variables} })")
    return variables, coords


def _named_variables(names, dims, coords, argument="names"):
    """``(variables, coords)``: a :class:`Variable` for each entry name -> shape of
    ``names``, its axes named by ``dims`` (default ``"<name>_dim_<i>"``), and the
    labels ``coords`` of named axes, checked: every named axis has one length wherever
    it appears, and its labels that many values.  ``argument`` is what the error
    messages call ``names``.
    """
    if not isinstance(names, dict) or not names:
        raise TypeError(f"names must be a non-empty dict name -> shape, got {plain(names)!r}")
    dims = {} if dims is None else dims
    coords = {} if coords is None else coords
    for arg, value in (("dims", dims), ("coords", coords)):
        if not isinstance(value, dict):
            raise TypeError(f"{arg} must be a dict, got {type(value).__name__}")
    variables = []
    for key, piece in names.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"{argument} must be an identifier string"
                             f"{'' if argument == 'name' else ' for each piece'}, got {plain(key)!r}")
        if isinstance(piece, tuple) and not piece:
            piece_shape = ()  # a scalar
        else:
            try:
                piece_shape = _as_shape(piece)
            except (TypeError, ValueError) as err:
                raise type(err)(f"{argument}[{key!r}]: {err}") from None
        axes = dims.get(key)
        if axes is None:
            axes = tuple(f"{key}_dim_{i}" for i in range(len(piece_shape)))
        else:
            axes = (axes,) if isinstance(axes, str) else tuple(axes)
            if (len(axes) != len(piece_shape) or not all(isinstance(a, str) for a in axes)
                    or len(set(axes)) != len(axes)):
                raise ValueError(f"dims[{key!r}] must name each of the {len(piece_shape)} axes of "
                                 f"{key!r} (shape {piece_shape}) once, got {plain(dims[key])!r}")
        variables.append(Variable(key, piece_shape, axes))
    unknown = sorted(set(dims) - set(names))
    if unknown:
        raise ValueError(f"dims names variables the target does not have: {unknown} "
                         f"(it has {list(names)})")
    lengths = {}
    for v in variables:
        for axis, length in zip(v.dims, v.shape):
            if lengths.setdefault(axis, length) != length:
                raise ValueError(f"dims: the axis {axis!r} has length {lengths[axis]} in one "
                                 f"variable and {length} in {v.name!r}")
    checked = {}
    for axis, values in coords.items():
        if axis not in lengths:
            raise ValueError(f"coords names an axis no variable has: {axis!r} "
                             f"(the axes are {sorted(lengths)})")
        values = np.asarray(values)
        if values.ndim != 1 or values.shape[0] != lengths[axis]:
            raise ValueError(f"coords[{axis!r}] must have {lengths[axis]} values (the axis "
                             f"length), got shape {values.shape}")
        checked[axis] = values
    return tuple(variables), checked


class GradientCheck(NamedTuple):
    """The result of :meth:`Target.check_gradient`."""
    max_relative_error: float
    rtol: float

    @property
    def ok(self):
        return self.max_relative_error <= self.rtol


def _top_eigenvalue(matvec, n):
    """Largest eigenvalue of the symmetric operator ``matvec`` on R^n (dense up to n = 60)."""
    with np.errstate(all="ignore"):
        if n <= 60:
            H = np.stack([matvec(column) for column in np.eye(n)], axis=1)
            if not np.all(np.isfinite(H)):
                return np.nan
            return float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = LinearOperator((n, n), matvec=lambda v: matvec(np.ravel(v)), dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(n)
        return float(eigsh(op, k=1, which="LA", v0=v0, tol=1e-6, return_eigenvectors=False)[0])


def _bounds_checked(logp_grad, params_type):
    """A copy of the user's function compiled with bounds checking (not cached:
    the function may live in a script or notebook)."""
    from .._jit import logp_grad_signature

    options = {k: v for k, v in logp_grad.targetoptions.items() if k not in ("boundscheck", "cache", "nopython")}
    checked = numba.njit(boundscheck=True, cache=False, **options)(logp_grad.py_func)
    checked.compile(logp_grad_signature(params_type))
    return checked


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


