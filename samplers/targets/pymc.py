"""PyMC models as targets: ``Target.from_pymc(model)``.

The sampler moves on the model's unconstrained space: ``x`` is the flat
float64 vector of the model's value variables (``model.value_vars``, in that
order, each in C order, transformed: ``log`` for positive variables,
``logodds`` for an interval, ...), and

    log p(x) = model.logp(jacobian=True)

is the log density of the transformed variables, the log Jacobian of every
transform included (what ``pm.sample`` samples).  PyTensor differentiates
it; both are rewritten onto ``x`` and compiled together by PyTensor's numba
backend (fastmath off: it would delete the NaN and inf checks the samplers
rely on), and an njit ``logp_grad(x, params, grad_out)`` calls the generated
function, so the model sits behind the same fixed C interface as every
other target (``targets.interface``).  The model's shared data
(``pm.Data``) are inputs of the generated function, passed as ``params``:
the compiled code does not hold the numbers, so the same model with new
data of the same shapes reuses it.  Coordinate lengths become constants.

Draws come back in the model's terms: every free variable in its own
(constrained) space and every deterministic, named, with the model's dims
and coords, as ``pm.sample`` gives them, with ``observed_data`` and
``constant_data`` groups.

Compiling: PyTensor keeps the generated numba code in its disk cache (keyed
by the graph), and the njit wrapper and its C adapter are cached next to it
under the same key (``interface.keyed_cache``); a warm build spends its time
building and rewriting the graph (``PyMCTarget.build_times`` has the figures
of a build).
"""
import contextlib
import hashlib
import math
import os
import sys
import threading
import time
import warnings

import numba
import numpy as np

from .._checks import plain
from .interface import keyed_cache
from .target import Target, _named_variables

__all__ = ["PyMCTarget"]  # made by Target.from_pymc(model)

#: What to install for ``from_pymc``.
EXTRA = 'pip install "samplers[pymc]"'


def _import_pymc():
    """``(pymc, pytensor)``, or an ImportError that says how to install them."""
    try:
        import pymc
        import pytensor
    except ImportError as err:
        raise ImportError(
            f"Target.from_pymc needs PyMC (and PyTensor): install the extra, {EXTRA} "
            f"({err})") from err
    return pymc, pytensor


#: Compiled wrappers by PyTensor's cache key of the generated function: a rebuild of the
#: same graph in this process reuses the wrapper and so its C adapter (no disk access).
_WRAPPERS = {}


class PyMCTarget(Target):
    """A PyMC model's posterior on its unconstrained space (see the module's docstring).

    Parameters
    ----------
    model : pymc.Model
        A model with at least one free variable, all continuous.
    jitter : float
        Default initial points: ``model.initial_point()`` (unconstrained) plus
        independent uniform(-jitter, jitter) noise per coordinate, as
        ``pm.sample`` starts (``jitter=1``); a point where log p is not finite
        is drawn again by the sampler.

    Attributes
    ----------
    value_vars : list of (name, shape)
        The pieces of ``x``: the model's value variables, transformed.
    initial_point : array (dim,)
        ``model.initial_point()`` as a flat unconstrained ``x``.
    variables, coords
        The posterior variables (free variables in their own space and
        deterministics) and the model's coordinates.
    build_times : dict
        Seconds spent building: ``graph`` (logp, gradient and the constrained
        values as PyTensor graphs on ``x``), ``compile`` (PyTensor's rewrites
        and numba code, from its disk cache when warm), ``adapter`` (the njit
        wrapper and its C adapter), ``total``.  A build that takes more than
        :data:`NOTE_AFTER` seconds says so on stderr (the first build of a model
        generates its numba code: tens of seconds).
    """

    def __init__(self, model, *, jitter=1.0):
        pymc, pytensor = _import_pymc()
        if not isinstance(model, pymc.Model):
            raise TypeError(f"model must be a pymc.Model, got {type(model).__name__}")
        if isinstance(jitter, (bool, np.bool_)) or not isinstance(jitter, (int, float, np.number)) \
                or not math.isfinite(jitter) or jitter < 0:
            raise ValueError(f"jitter must be a finite number >= 0, got {plain(jitter)!r}")
        start = time.perf_counter()
        value_vars = list(model.value_vars)
        if not value_vars:
            raise ValueError("model has no free variables: there is nothing to sample")
        discrete = [v.name for v in value_vars if not v.dtype.startswith("float")]
        if discrete:
            raise ValueError(
                f"model has discrete free variables {discrete}: the samplers here need a "
                "gradient (marginalise them out, e.g. with a mixture likelihood)")
        with _compile_note(), warnings.catch_warnings():
            # PyTensor's C backend is not used: its note on a missing BLAS does not apply.
            warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
            graphs = _graphs(model, value_vars, pymc, pytensor)
            built = time.perf_counter()
            with pytensor.config.change_flags(numba__fastmath=False):
                logp_fn = pymc.pytensorf.compile(graphs.inputs, [graphs.logp, graphs.grad],
                                                 mode="NUMBA", on_unused_input="ignore")
                values_fn = pymc.pytensorf.compile(graphs.inputs, graphs.values, mode="NUMBA",
                                                   on_unused_input="ignore")
            # The first calls generate the numba code (or load it from PyTensor's cache).
            at_start = values_fn.vm.jit_fn(graphs.initial_point, *graphs.data)
            logp_fn.vm.jit_fn(graphs.initial_point, *graphs.data)
            compiled = time.perf_counter()
            key = _cache_key(logp_fn.vm.jit_fn)
            self._disk_cache = _disk_cache(pytensor, key)
            wrapper = _WRAPPERS.get(key) if key is not None else None
            if wrapper is None:
                wrapper = _wrapper(logp_fn.vm.jit_fn, self._disk_cache)
                if key is not None:
                    _WRAPPERS[key] = wrapper
            self._key = key
            self._values_fn = values_fn.vm.jit_fn
            self._data_names = graphs.data_names
            self.value_vars = [(v.name, shape) for v, shape in zip(value_vars, graphs.shapes)]
            self.initial_point = graphs.initial_point
            self.jitter = float(jitter)
            super().__init__(wrapper, graphs.dim, graphs.data)
            self.handle()  # the C adapter, now: its compile time is part of the build
        done = time.perf_counter()
        names = [rv.name for rv in model.free_RVs + model.deterministics]
        shapes = {name: np.shape(value) for name, value in zip(names, at_start)}
        dims = _model_dims(model, shapes)
        coords = _model_coords(model)
        used = {axis for axes in dims.values() for axis in axes}
        self.variables, _ = _named_variables(
            shapes, dims, {k: v for k, v in coords.items() if k in used}, "model variables")
        self.coords = coords  # all of them: the data groups have axes of their own
        self.name = None
        self._data = _data_groups(model, pymc)
        self.build_times = {"graph": built - start, "compile": compiled - built,
                            "adapter": done - compiled, "total": time.perf_counter() - start}

    def _adapter_cache(self):
        return self._disk_cache

    def default_initial(self, rng):
        """``model.initial_point()`` plus uniform(-jitter, jitter) per coordinate."""
        return self.initial_point + rng.uniform(-self.jitter, self.jitter, self.dim)

    #: The posterior holds constrained values and deterministics: the run also stores
    #: the flat unconstrained draws (``unconstrained_posterior``).
    posterior_is_flat = False

    def posterior(self, x):
        """Every free variable in its own (constrained) space and every deterministic at the
        flat unconstrained points ``x`` ``(..., dim)``: a dict name -> ``(..., *shape)``."""
        x = np.asarray(x, dtype=np.float64)
        lead = x.shape[:-1]
        points = np.ascontiguousarray(x.reshape(-1, self.dim))
        out = {v.name: np.empty((points.shape[0],) + v.shape) for v in self.variables}
        for i, point in enumerate(points):
            for v, value in zip(self.variables, self._values_fn(point, *self.params)):
                out[v.name][i] = value
        return {name: value.reshape(lead + value.shape[1:]) for name, value in out.items()}

    def data_groups(self):
        """``observed_data`` and ``constant_data`` (``pm.Data`` that is not observed), with
        the model's dims, as ``pm.sample`` returns them."""
        return self._data

    def fingerprint(self):
        """A hash of the compiled graph (PyTensor's key of the generated code), the value
        variables and the data."""
        h = hashlib.sha256()
        h.update(f"{type(self).__name__}:{self._key}:{self.value_vars}:{self._data_names}".encode())
        if self._key is None:  # no key from PyTensor: the structure is the variables' names
            h.update(str([tuple(v) for v in self.variables]).encode())
        for p in self.params:
            h.update(f"{p.dtype.str}{p.shape}".encode())
            h.update(np.ascontiguousarray(p).tobytes())
        return h.hexdigest()[:16]

    def __getstate__(self):
        raise TypeError("a PyMC target holds compiled PyTensor functions and cannot be pickled: "
                        "build it in each process with Target.from_pymc(model)")

    def __repr__(self):
        return f"PyMCTarget(dim={self.dim}, value_vars={[name for name, _ in self.value_vars]})"


class _Graphs:
    """The PyTensor graphs of a model on one flat vector ``x`` (see :func:`_graphs`)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _graphs(model, value_vars, pymc, pytensor):
    """log p, its gradient and the constrained values of the free and deterministic
    variables, as graphs of ``x`` (flat float64, the value variables in order) and the
    model's shared data (in a fixed order, as explicit inputs).

    Coordinate lengths (shared integers) become constants: the generated code then knows
    the shapes, and a length no longer changes type when passed as an array.
    """
    import pytensor.tensor as pt
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.replace import clone_replace
    from pytensor.graph.traversal import graph_inputs

    point = model.initial_point(random_seed=0)
    x = pt.dvector("x")
    on_x, shapes, initial, start = {}, [], [], 0
    for v in value_vars:
        value = np.asarray(point[v.name], dtype=np.float64)
        size = value.size
        piece = x[start:start + size]
        on_x[v] = piece.reshape(value.shape) if value.ndim else piece[0]
        shapes.append(value.shape)
        initial.append(value.reshape(-1))
        start += size
    logp = model.logp(jacobian=True)
    grad = pt.concatenate([g.ravel() for g in pytensor.grad(logp, value_vars)])
    values = model.replace_rvs_by_values(model.free_RVs + model.deterministics)
    lengths = {length: pt.constant(length.get_value(), dtype=length.dtype)
               for length in model.dim_lengths.values() if isinstance(length, SharedVariable)}
    outputs = clone_replace([logp, grad, *values], {**on_x, **lengths})
    shared = [v for v in graph_inputs(outputs) if isinstance(v, SharedVariable)]
    shared.sort(key=lambda v: str(v.name))
    data_inputs = [pt.tensor(dtype=v.dtype, shape=v.type.shape, name=v.name) for v in shared]
    outputs = clone_replace(outputs, dict(zip(shared, data_inputs)))
    data = tuple(np.ascontiguousarray(np.asarray(v.get_value())) for v in shared)
    return _Graphs(inputs=[x, *data_inputs], logp=outputs[0], grad=outputs[1],
                   values=outputs[2:], data=data, data_names=[str(v.name) for v in shared],
                   shapes=shapes, dim=start, initial_point=np.concatenate(initial))


#: Seconds after which a build still running prints a note (a cold compile).
NOTE_AFTER = 2.0


@contextlib.contextmanager
def _compile_note():
    """Print a note on stderr if the block is still running after :data:`NOTE_AFTER` s."""
    def note():
        print("samplers: compiling the PyMC model with PyTensor's numba backend (the first "
              "build of a model takes tens of seconds; later builds load it from PyTensor's "
              "cache)...", file=sys.stderr, flush=True)

    timer = threading.Timer(NOTE_AFTER, note)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _cache_key(jit_fn):
    """PyTensor's disk-cache key of a generated function (``None`` when it has none)."""
    try:
        from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS
    except ImportError:  # another PyTensor layout: no reuse across builds
        return None
    return CACHED_SRC_FUNCTIONS.get(getattr(jit_fn, "py_func", None))


#: The njit ``logp_grad`` around PyTensor's generated function: ``jit_fn`` is a global of
#: its namespace (not a closure cell), so numba can cache it under PyTensor's key.  The
#: gradient is copied by a loop: a slice assignment costs seconds of compilation here.
WRAPPER_SOURCE = """
def logp_grad(x, params, grad_out):
    lp, grad = jit_fn(x, *params)
    for i in range(grad_out.shape[0]):
        grad_out[i] = grad[i]
    return lp[()]
"""


def _wrapper(jit_fn, cache):
    """``logp_grad(x, params, grad_out)`` calling PyTensor's generated ``jit_fn(x, *data)``;
    with ``cache`` ``(directory, key)``, cached on disk (``interface.keyed_cache``)."""
    namespace = {"__name__": __name__, "jit_fn": jit_fn}  # numba's cache imports __name__
    exec(compile(WRAPPER_SOURCE, "<samplers_from_pymc>", "exec"), namespace)
    function = namespace["logp_grad"]
    if cache is not None:
        keyed_cache(function, cache[1], cache[0])
        try:
            return numba.njit(cache=True, error_model="numpy")(function)
        except RuntimeError:  # no locator: NUMBA_CACHE_LOCATOR_CLASSES excludes ours
            pass
    return numba.njit(cache=False, error_model="numpy")(function)


def _disk_cache(pytensor, key):
    """``(directory, key)`` for the wrapper and its adapter: next to PyTensor's numba cache
    (cleared with it), keyed by PyTensor's key of the generated code and the wrapper's
    source; ``None`` without a PyTensor key."""
    if key is None:
        return None
    directory = os.path.join(os.fspath(pytensor.config.base_compiledir), "numba", "samplers")
    digest = hashlib.sha256(f"{key}|{WRAPPER_SOURCE}".encode()).hexdigest()
    return directory, digest


def _model_dims(model, shapes):
    """The model's dims of each variable (``None`` entries named ``<var>_dim_<i>``)."""
    dims = {}
    for name, shape in shapes.items():
        named = model.named_vars_to_dims.get(name)
        if named:
            dims[name] = tuple(d if d is not None else f"{name}_dim_{i}"
                               for i, d in enumerate(named))
    return dims


def _model_coords(model):
    """The model's coordinate values (dims without values are left to ``0, 1, ...``)."""
    return {dim: np.asarray(values) for dim, values in model.coords.items() if values is not None}


def _data_groups(model, pymc):
    """``observed_data`` and ``constant_data`` as ``pm.sample`` builds them."""
    from pymc.backends.arviz import find_constants, find_observations

    groups = {}
    for group, found in (("observed_data", find_observations(model)),
                         ("constant_data", find_constants(model))):
        variables = {}
        for name, value in found.items():
            value = np.asarray(value)
            dims = _model_dims(model, {name: value.shape}).get(
                name, tuple(f"{name}_dim_{i}" for i in range(value.ndim)))
            variables[name] = (dims, value)
        if variables:
            groups[group] = variables
    return groups
