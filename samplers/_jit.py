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

Targets reach the engine's loop behind one fixed C signature
(``targets.interface``: a ``numba.cfunc`` adapter and a data pointer, passed
as run-time integers), so the loop is compiled once for every target and
found in the disk cache.  :func:`logp_grad_signature` is the signature the
user's own function is compiled for (the adapter calls it).

The chain loop's per-step costs outside the target, each measured on the
benchmark of ``benchmarks/bench_langevin.py``:

* the small kernels of one Langevin step (``kernels.langevin``, the random
  numbers of ``_rng``) are declared ``jit(inline="always")``: numba then
  compiles them into the chain loop instead of calling them, each call
  passing every array as seven words and counting references (1.2x faster
  steps; the loop's cold compilation is about 6 s, see below);
* the loop :func:`borrowed` its arrays, so views like ``state.x[c, r]``
  skip the atomic reference counts;
* scratch vectors (a target's intermediate sums, the proposal) come from
  :func:`scratch_vector`: on the stack when small, instead of a malloc, a
  free and reference counting per call.

Cold compilation (the first ``sample()`` on a fresh install) is mostly
numba's typing and LLVM's optimisation of the loop; two rules keep it down:

* functions called only from compiled code (the loop's step functions and
  helpers, the random-number internals) are declared
  ``jit(no_cpython_wrapper=True)``: numba then skips the Python wrapper
  that unboxes every argument, 0.1-0.3 s each for functions that take the
  loop's records;
* the loop is one compiled function (``engine.loop.run_chunk``): LLVM
  optimises a compiled callee again in every caller it is linked into.
"""
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import populate_array

__all__ = ["jit", "REASSOCIATE", "scratch_vector", "STACK_SCRATCH_MAX", "borrowed", "logp_grad_signature", "batch_logp_grad_signature",
           "VECTOR", "MATRIX"]

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


def logp_grad_signature(params_type):
    """``float64(x, params, grad_out)`` for a given numba type of ``params``."""
    return types.float64(VECTOR, params_type, VECTOR)


def batch_logp_grad_signature(params_type):
    """``none(xs, params, grad_out, lp_out)``: many points (rows of ``xs``) in one call."""
    return types.none(MATRIX, params_type, MATRIX, VECTOR)


#: Largest scratch vector (float64 entries, 32 KiB) put on the stack; numba's
#: worker threads have stacks of a few MiB.
STACK_SCRATCH_MAX = 4096


@intrinsic
def _stack_vector(typingctx, n):
    """An uninitialised float64 vector of length ``n`` in the caller's stack
    frame, without a meminfo (no reference counting, freed on return)."""
    array_type = types.Array(types.float64, 1, "C")

    def codegen(context, builder, signature, args):
        [size] = args
        data = builder.alloca(ir.DoubleType(), size=size)
        data.align = 64  # whole cache lines: the thread's stack offset varies from run to run
        array = context.make_array(array_type)(context, builder)
        itemsize = context.get_constant(types.intp, 8)
        populate_array(array, data=data, shape=[size], strides=[itemsize], itemsize=itemsize,
                       meminfo=None)
        return array._getvalue()

    return array_type(types.intp), codegen


@jit(inline="always")
def scratch_vector(n):
    """An uninitialised float64 vector of length ``n`` for use inside one call
    of the calling kernel: on its stack up to :data:`STACK_SCRATCH_MAX`
    entries, else on the heap.  Inlined (numba IR) so that the stack memory is
    the caller's; it must not be returned or stored anywhere that outlives
    the call, and must not be called inside a loop (each call takes new stack).
    """
    if n <= STACK_SCRATCH_MAX:
        return _stack_vector(n)
    return np.empty(n)


def _without_meminfo(context, builder, typ, value):
    if isinstance(typ, types.Array):
        array = context.make_array(typ)(context, builder, value=value)
        array.meminfo = cgutils.get_null_value(array.meminfo.type)
        return array._getvalue()
    if isinstance(typ, types.BaseTuple):
        items = [_without_meminfo(context, builder, item_type, builder.extract_value(value, i))
                 for i, item_type in enumerate(typ)]
        return context.make_tuple(builder, typ, items)
    return value


@intrinsic
def borrowed(typingctx, value):
    """``value`` (an array, or a tuple or NamedTuple of them and scalars,
    nested) with every array's meminfo dropped: the same memory, but views of
    it and calls taking it skip reference counting.

    numba increments and decrements (atomically) the reference count of every
    array argument of every compiled call and of every view such as
    ``state.x[c, r]``; in the chain loop that was some twenty atomic updates
    per step, most of a cheap step's overhead, and with chains on two threads
    the shared counters bounce between cores.  The caller must keep the
    original arrays alive for as long as the borrowed ones are used (the chain
    loop borrows its arguments for its own duration).
    """
    def codegen(context, builder, signature, args):
        return _without_meminfo(context, builder, signature.args[0], args[0])

    return value(value), codegen
