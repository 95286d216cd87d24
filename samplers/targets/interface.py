"""The fixed interface between a target and the compiled loop.

The loop never sees a target's own function or its ``params``: it gets a
*handle*, two run-time integers ``(address, data)``, and calls

    double logp_grad(double *x, double *grad_out, void *data, intp n)
    void batch_logp_grad(double *xs, double *grad_out, double *lp_out,
                         void *data, intp n_points, intp dim)

through :func:`call_target` and :func:`call_batch_target`.  ``address`` is a
``numba.cfunc`` made for the target (:func:`c_adapter`) that rebuilds the
``params`` arrays from ``data``, a small int64 block of their addresses and
shapes (:func:`data_block`), and calls the user's njit function: the same
compiled function, so the same arithmetic.  The loop's types therefore no
longer depend on the target, and it is compiled once for every target and
found in the disk cache by every later process; a new target costs only
its adapter (a fraction of a second).

Two rules keep this safe:

* the address and the data pointer reach the loop only as run-time
  arguments: an address captured as a global in ``cache=True`` code is
  stored as a constant, and the next process calls a stale address;
* exceptions cannot cross a C function: an exception in the target becomes
  ``log p = NaN`` with a NaN gradient, which the loop records as a
  divergence (never a crash).

The :class:`~samplers.Target` keeps its adapter and data block alive with its
``params``.
"""
import hashlib
import os
import weakref

import numba
import numba.core.caching
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .._jit import MATRIX, VECTOR, jit

__all__ = ["HANDLE", "C_LOGP_GRAD", "C_BATCH_LOGP_GRAD", "call_target", "call_batch_target",
           "c_adapter", "data_block", "keyed_cache"]

_DOUBLE_P = types.CPointer(types.float64)
#: ``double f(double *x, double *grad_out, void *data, intp n)``.
C_LOGP_GRAD = types.float64(_DOUBLE_P, _DOUBLE_P, types.voidptr, types.intp)
#: ``void f(double *xs, double *grad_out, double *lp_out, void *data, intp n_points, intp dim)``.
C_BATCH_LOGP_GRAD = types.void(_DOUBLE_P, _DOUBLE_P, _DOUBLE_P, types.voidptr, types.intp,
                               types.intp)
#: The numba type of a handle ``(function address, data address)``.
HANDLE = types.UniTuple(types.int64, 2)


@intrinsic
def _call_c(typingctx, address, data, x, grad, lp):
    """Call the C function at ``address`` on the buffers of ``x`` and ``grad`` (and ``lp``,
    when it is an array: the batched signature), with ``data`` as its ``void *``."""
    batched = isinstance(lp, types.Array)
    sig = (types.none if batched else types.float64)(types.int64, types.int64, x, grad, lp)

    def codegen(context, builder, signature, args):
        address_v, data_v, x_v, grad_v, lp_v = args
        double_p = ir.DoubleType().as_pointer()
        void_p = ir.IntType(8).as_pointer()
        intp = context.get_value_type(types.intp)
        xa = context.make_array(signature.args[2])(context, builder, x_v)
        ga = context.make_array(signature.args[3])(context, builder, grad_v)
        shape = numba.core.cgutils.unpack_tuple(builder, xa.shape)
        data_p = builder.inttoptr(data_v, void_p)
        if batched:
            la = context.make_array(signature.args[4])(context, builder, lp_v)
            fnty = ir.FunctionType(ir.VoidType(), [double_p, double_p, double_p, void_p, intp, intp])
            fn = builder.inttoptr(address_v, fnty.as_pointer())
            builder.call(fn, [xa.data, ga.data, la.data, data_p, shape[0], shape[1]])
            return context.get_dummy_value()
        fnty = ir.FunctionType(ir.DoubleType(), [double_p, double_p, void_p, intp])
        fn = builder.inttoptr(address_v, fnty.as_pointer())
        return builder.call(fn, [xa.data, ga.data, data_p, shape[0]])

    return sig, codegen


@jit
def call_target(x, handle, grad_out):
    """``logp_grad(x, params, grad_out)`` of the target behind ``handle`` (``params`` is
    the handle: the loop passes it where a target's ``params`` went)."""
    return _call_c(handle[0], handle[1], x, grad_out, 0.0)


@jit
def call_batch_target(xs, handle, grad_out, lp_out):
    """``batch_logp_grad(xs, params, grad_out, lp_out)`` of the target behind ``handle``."""
    _call_c(handle[0], handle[1], xs, grad_out, lp_out)


#: The signatures the loop calls the two through (first-class functions).
CALL_TARGET_SIGNATURE = types.float64(VECTOR, HANDLE, VECTOR)
CALL_BATCH_TARGET_SIGNATURE = types.none(MATRIX, HANDLE, MATRIX, VECTOR)


def _pointer_to(dtype):
    """An intrinsic turning an int64 address (or a ``void *``) into a ``dtype *``."""
    @intrinsic
    def pointer(typingctx, address):
        def codegen(context, builder, signature, args):
            target = context.get_value_type(signature.return_type)
            if isinstance(signature.args[0], types.RawPointer):
                return builder.bitcast(args[0], target)
            return builder.inttoptr(args[0], target)
        argument = address if isinstance(address, types.RawPointer) else types.int64
        return types.CPointer(dtype)(argument), codegen
    return pointer


_POINTERS = {}


def _pointer_function(dtype):
    if dtype not in _POINTERS:
        _POINTERS[dtype] = _pointer_to(dtype)
    return _POINTERS[dtype]


def data_block(params):
    """The int64 block the adapter reads ``params`` from: for each array its address, then
    its shape."""
    block = []
    for p in params:
        block.append(p.ctypes.data)
        block.extend(p.shape)
    return np.array(block if block else [0], dtype=np.int64)


_ADAPTERS = {}


class _KeyedLocator(numba.core.caching._CacheLocator):
    """Numba's disk cache for functions generated from source strings, which numba's own
    locators refuse (they need a source file): found by a key their maker gives
    (:func:`keyed_cache`), which must change whenever the function's code would."""

    _keys = weakref.WeakKeyDictionary()  # py_func -> (directory, key)

    def __init__(self, py_func, py_file):
        self._directory, self._key = self._keys[py_func]
        self._py_file = py_file

    def ensure_cache_path(self):
        os.makedirs(self._directory, exist_ok=True)

    def get_cache_path(self):
        return self._directory

    def get_source_stamp(self):
        return 0  # no source file: the key says what the code is

    def get_disambiguator(self):
        return self._key

    @classmethod
    def from_function(cls, py_func, py_file):
        return cls(py_func, py_file) if py_func in cls._keys else None


numba.core.caching.CacheImpl._locator_classes.insert(0, _KeyedLocator)


def keyed_cache(py_func, key, directory):
    """Let numba cache the generated ``py_func`` (``njit(cache=True)`` or
    ``cfunc(cache=True)``) in ``directory`` under ``key`` (a hex digest of everything
    the compiled code depends on; the compiled function must take its constants as
    globals of its namespace, not as closure cells).  The entries are numba's own: the
    numba version and the CPU are checked on loading."""
    _KeyedLocator._keys[py_func] = (os.fspath(directory), str(key))


def c_adapter(function, params_type, batched=False, cache=None):
    """The ``numba.cfunc`` of :data:`C_LOGP_GRAD` (:data:`C_BATCH_LOGP_GRAD` when ``batched``)
    calling the njit ``function`` with its params rebuilt from the data block.

    One per (function, params type) in a process.  Not cached on disk unless ``cache`` is
    ``(directory, key)`` (:func:`keyed_cache`): a user's function may live in a script,
    and only its maker can say when it changed.  Generated source: ``numba.carray`` needs
    each array's dtype and number of dimensions as constants.
    """
    key = (function, params_type, batched)
    if key in _ADAPTERS:
        return _ADAPTERS[key]
    namespace = {"__name__": __name__,  # numba's disk cache imports the module of the globals
                 "numba": numba, "np": np, "user": function,
                 "int64_pointer": _pointer_function(types.int64)}
    lines, names, k = [], [], 0
    for i, array_type in enumerate(params_type):
        dtype = array_type.dtype
        namespace[f"pointer{i}"] = _pointer_function(dtype)
        shape = ", ".join(f"block[{k + 1 + j}]" for j in range(array_type.ndim))
        shape = f"({shape},)" if array_type.ndim == 1 else f"({shape})"
        lines.append(f"    p{i} = numba.carray(pointer{i}(block[{k}]), {shape})")
        names.append(f"p{i}")
        k += 1 + array_type.ndim
    params = "(" + "".join(f"{n}, " for n in names) + ")"
    if batched:
        head = ["def adapter(xs_p, grad_p, lp_p, data, n_points, dim):",
                "    xs = numba.carray(xs_p, (n_points, dim))",
                "    grad_out = numba.carray(grad_p, (n_points, dim))",
                "    lp_out = numba.carray(lp_p, (n_points,))"]
        body = ["    try:",
                f"        user(xs, {params}, grad_out, lp_out)",
                "    except Exception:",  # no exception may cross the C boundary
                "        for i in range(n_points):",
                "            lp_out[i] = np.nan",
                "            for j in range(dim):",
                "                grad_out[i, j] = np.nan"]
    else:
        head = ["def adapter(x_p, grad_p, data, n):",
                "    x = numba.carray(x_p, (n,))",
                "    grad_out = numba.carray(grad_p, (n,))"]
        body = ["    try:",
                f"        return user(x, {params}, grad_out)",
                "    except Exception:",  # no exception may cross the C boundary
                "        for i in range(n):",
                "            grad_out[i] = np.nan",
                "        return np.nan"]
    block = ["    block = int64_pointer(data)"] if names else []
    source = "\n".join(head + block + lines + body) + "\n"
    exec(compile(source, f"<samplers_adapter_of_{getattr(function, '__name__', 'target')}>", "exec"),
         namespace)
    signature = C_BATCH_LOGP_GRAD if batched else C_LOGP_GRAD
    if cache is not None:
        directory, cache_key = cache
        # The key covers the function (the maker's key), the params type and this source.
        digest = hashlib.sha256(f"{cache_key}|{params_type}|{signature}|{source}".encode())
        keyed_cache(namespace["adapter"], digest.hexdigest(), directory)
    try:
        adapter = numba.cfunc(signature, cache=cache is not None,
                              error_model="numpy")(namespace["adapter"])
    except RuntimeError:  # "no locator available": NUMBA_CACHE_LOCATOR_CLASSES excludes ours
        adapter = numba.cfunc(signature, cache=False, error_model="numpy")(namespace["adapter"])
    _ADAPTERS[key] = adapter
    return adapter
