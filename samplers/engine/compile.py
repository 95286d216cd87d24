"""Compile plumbing: the loop compiled once per ``params`` type and found in the disk cache.
"""
import numba
import numpy as np
from numba import types
from numba.experimental.function_type import _get_wrapper_address

from ..targets.interface import (CALL_BATCH_TARGET_SIGNATURE, CALL_TARGET_SIGNATURE, HANDLE,
                                 call_batch_target, call_target)
from .loop import (LOGQ_TYPE, PRECOMPUTED_TYPE, REFRESH_TYPE, STEP_FUNCTIONS, _precomputed,
                   communicate_step, draw_from_reference, reference_logq, skip_communication,
                   skip_logq, skip_reference)
from .state import Accumulators, ChainState, Settings

__all__ = ["compile_for"]


def is_loaded(kernel, target, args, batched=False):
    """Whether :func:`compile_for` with these arguments returns at once (this process has
    the entry point already); otherwise it loads it from the disk cache or compiles."""
    return (kernel, batched, _layout(args)) in _COMPILED


def compile_for(kernel, target, args, batched=False):
    """Compile ``kernel(f, handle, *args)``, where ``f`` is :func:`call_target` (or
    :func:`call_batch_target` when ``batched``, and then :func:`_precomputed` comes
    last in ``args``) and ``handle`` is ``target.handle(batched)``, in the place of a
    target's function and its params (``targets.interface``): the loop's types do not
    depend on the target, so it is compiled once for every target.

    Returns the compiled entry point, to be called with the same arguments,
    and the signatures of its first-class function arguments (``None`` for
    the others), for :func:`_resolve`.
    The function is typed as a first-class function, so the compiled
    loop depends only on the *types* of the arguments and is found in the disk
    cache by every later process (``_jit``).  Calling the dispatcher itself
    would not do: it would type the target as a dispatcher and compile (and
    fail to cache) a second version for every target function.  The same
    holds for the ``communicate`` and ``symmetry`` steps among ``args``
    (dispatchers of :data:`STEP_FUNCTIONS`), typed here from the records.
    """
    key = (kernel, batched, _layout(args))
    entry = _COMPILED.get(key)
    if entry is not None:
        return entry
    function, signature = ((call_batch_target, CALL_BATCH_TARGET_SIGNATURE) if batched
                           else (call_target, CALL_TARGET_SIGNATURE))
    function.compile(signature)
    arg_types = [types.FunctionType(signature), HANDLE]
    for a in args:
        if a is _precomputed:
            arg_types.append(PRECOMPUTED_TYPE)
        elif _is_step(a):
            signature = _step_signature(a, args)
            a.compile(signature)
            arg_types.append(types.FunctionType(signature))
        else:
            arg_types.append(numba.typeof(a))
    arg_types = tuple(arg_types)
    kernel.compile(arg_types)
    entry = kernel.overloads[arg_types].entry_point
    _COMPILED[key] = entry = (entry, [t.signature if isinstance(t, types.FunctionType) else None
                                      for t in arg_types])
    return entry


class _Resolved:
    """A compiled function argument whose address is looked up once.

    Passed a dispatcher where the compiled loop expects a first-class
    function, numba finds its address on every call, hashing the whole
    signature (state records included): about 0.1 ms per function, three
    per call, which a sweep of many short runs pays hundreds of times.
    This object gives numba the address directly (its "wrapper address
    protocol") and keeps the function alive.
    """
    __slots__ = ("function", "address")

    def __init__(self, function, signature):
        self.function = function
        self.address = _get_wrapper_address(function, signature)

    def __wrapper_address__(self):
        return self.address


def _resolve(argument, signature):
    """``argument`` as :class:`_Resolved` where ``signature`` says it is a function."""
    return argument if signature is None else _Resolved(argument, signature)


def _is_step(a):
    return any(a is f for f in STEP_FUNCTIONS)  # identity: ``in`` would compare arrays


def _step_signature(function, args):
    """``communicate(state, settings, acc, c, t, tuning)`` or ``symmetry(state, settings, c, r, t)``,
    typed from the state, settings and accumulator records among ``args``."""
    state, settings, acc = (next(a for a in args if isinstance(a, cls))
                            for cls in (ChainState, Settings, Accumulators))
    if function is draw_from_reference or function is skip_reference:
        return REFRESH_TYPE.signature
    if function is reference_logq or function is skip_logq:
        return LOGQ_TYPE.signature
    records = [numba.typeof(state), numba.typeof(settings)]
    if function is communicate_step or function is skip_communication:
        return types.none(*records, numba.typeof(acc), types.int64, types.int64, types.boolean)
    return types.none(*records, types.int64, types.int64, types.int64)


#: Entry points by kernel and argument layout: ``numba.typeof`` of
#: the state records costs about a millisecond per call, which adds up over
#: the many short runs of a sweep.
_COMPILED = {}


def _layout(args):
    """What decides the numba types of ``args``: dtype, dimensions and contiguity of
    every array (records are tuples of arrays), the Python type of the rest (the
    step functions themselves)."""
    out = []
    for a in args:
        if _is_step(a) or a is _precomputed:
            out.append(a)
        elif isinstance(a, tuple):
            out.append(tuple(_layout(a)))
        elif isinstance(a, np.ndarray):
            out.append((a.dtype.str, a.ndim, a.flags.c_contiguous, a.flags.f_contiguous))
        else:
            out.append(type(a))
    return tuple(out)
