"""Random streams: one counter-based stream per chain.

Seeding follows SPEC 7: ``rng`` is ``None`` (fresh OS entropy), an ``int``, or
a ``numpy.random.Generator`` (from which 128 bits of entropy are drawn).  The
entropy goes through ``numpy.random.SeedSequence`` and is spawned into one
128-bit Philox key per chain.

Inside the compiled kernels every random number is a pure function of
``(chain key, step counter, purpose, index)`` through the Philox4x64-10 block
cipher (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11),
the same generator as ``numpy.random.Philox``; standard normals come from
its 64-bit words through a 256-layer ziggurat (:func:`fill_normals`).
Nothing is carried from one
step to the next but the step counter, so the draws of a chain do not depend
on thread count, chunk size, progress bar, or whether the run was split into
a first part and a continuation.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import jit

__all__ = ["make_seed", "chain_keys", "philox4x64", "fill_normals", "uniform"]

# Purposes: the third word of the Philox counter, so the streams used for
# different jobs within one step never overlap.
NOISE = 0          # Gaussian noise of the Langevin proposal
ACCEPT = 1         # uniform of the Metropolis-Hastings test
INIT_STEP = 2      # initial step-size search (NumPy's Philox on the chain key, counter [0, 2, level, 0])
COMMUNICATE = 3    # level moves and swaps (tempering)
SYMMETRY = 4       # random orthogonal moves (matrix targets)
REFERENCE = 5      # normals of an exact draw from a tempering path's reference
REFERENCE_PICK = 6  # its mixture component

_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)
_S11 = np.uint64(11)
_TWO_M53 = 2.0 ** -53


def make_seed(rng):
    """Turn a SPEC 7 ``rng`` argument into a Python int of 128-bit entropy."""
    if rng is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError("rng must be None, an int or a numpy.random.Generator, got a bool")
    if isinstance(rng, (int, np.integer)):
        if rng < 0:
            raise ValueError(f"rng must be a non-negative int, got {rng}")
        return int(rng)
    if isinstance(rng, np.random.Generator):
        hi, lo = rng.integers(0, 2**63, size=2, dtype=np.int64)
        return (int(hi) << 63) | int(lo)
    raise TypeError(
        f"rng must be None, an int or a numpy.random.Generator, got {type(rng).__name__}"
    )


def chain_keys(seed, chains):
    """Per-chain Philox keys, shape ``(chains, 2)`` uint64, from a seed int."""
    children = np.random.SeedSequence(seed).spawn(chains)
    return np.stack([c.generate_state(2, dtype=np.uint64) for c in children])


@intrinsic
def _mulhilo(typingctx, a, b):
    """High and low 64-bit words of the 128-bit product ``a * b`` (uint64): one 128-bit
    multiplication in LLVM IR, a single ``mul``/``mulx`` on x86-64 (Philox's rounds are
    most of a normal's cost: four 32-bit partial products took 2.4 us per 150 normals)."""
    if a != types.uint64 or b != types.uint64:
        return None
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        wide = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        hi = builder.trunc(builder.lshr(wide, ir.Constant(i128, 64)), ir.IntType(64))
        return context.make_tuple(builder, signature.return_type,
                                  (hi, builder.trunc(wide, ir.IntType(64))))

    return sig, codegen


@jit
def philox4x64(c0, c1, c2, c3, k0, k1):
    """Philox4x64-10: encrypt the counter ``(c0..c3)`` under key ``(k0, k1)``."""
    for _ in range(10):
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = k0 + _W0
        k1 = k1 + _W1
    return c0, c1, c2, c3


@jit(no_cpython_wrapper=True)
def _unit(u):
    """A uint64 to a double in [0, 1) with 53 random bits."""
    return np.float64(u >> _S11) * _TWO_M53


@jit(inline="always")
def uniform(key, step, purpose, index):
    """One uniform in [0, 1) for ``(step, purpose, index)`` of a chain's stream."""
    r0, _, _, _ = philox4x64(np.uint64(step), np.uint64(purpose), np.uint64(index),
                             np.uint64(0), key[0], key[1])
    return _unit(r0)


# Ziggurat tables (Marsaglia and Tsang, "The ziggurat method for generating
# random variables", J. Stat. Softw. 5(8), 2000), 256 layers of equal area V
# under f(x) = exp(-x^2 / 2), x >= 0.  Layer i is the rectangle [0, X[i]] x
# [f(X[i]), f(X[i+1])] (X[256] = 0, f = 1 there); the base layer 0 is
# [0, X[0]] x [0, f(R)] with X[0] = V / f(R), whose part beyond R stands for
# the tail x > R, of the same mass.  R is the published root for 256 layers.
_ZIG_LAYERS = 256
_ZIG_R = 3.6541528853610088


def _ziggurat_tables():
    import math

    def f(x):
        return math.exp(-0.5 * x * x)

    v = _ZIG_R * f(_ZIG_R) + math.sqrt(math.pi / 2) * math.erfc(_ZIG_R / math.sqrt(2))
    x = np.zeros(_ZIG_LAYERS + 1)
    x[0], x[1] = v / f(_ZIG_R), _ZIG_R
    for i in range(2, _ZIG_LAYERS):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i - 1] + f(x[i - 1])))
    return x, np.exp(-0.5 * x * x)


_ZIG_X, _ZIG_F = _ziggurat_tables()
_LAYER_MASK = np.uint64(_ZIG_LAYERS - 1)
_S8 = np.uint64(8)
_ONE = np.uint64(1)
#: Third counter word of the extra blocks a rejected ziggurat draw uses: bit 63
#: set (never a block index), then the normal's index, then the attempt.
_RETRY = np.uint64(1 << 63)
_S20 = np.uint64(20)


@jit(no_cpython_wrapper=True)
def _decode(word):
    """A 64-bit ``word`` as a ziggurat candidate ``(layer, sign, x)``: bits 0-7 pick
    the layer, bit 8 the sign, bits 11-63 the uniform position ``x`` in the
    layer's rectangle [0, X[layer]]."""
    layer = word & _LAYER_MASK
    sign = 1.0 - 2.0 * np.float64((word >> _S8) & _ONE)
    return layer, sign, _unit(word) * _ZIG_X[layer]


@jit(no_cpython_wrapper=True)
def _layer_point(word):
    """The ziggurat's fast path: the signed point of ``word`` (:func:`_decode`) when it
    lies inside the next layer's width (about 99% of words), else NaN (then
    :func:`_ziggurat_rejected` decides)."""
    layer, sign, x = _decode(word)
    if x < _ZIG_X[layer + _ONE]:
        return sign * x
    return np.nan


@jit(no_cpython_wrapper=True)
def _ziggurat_rejected(key, step, purpose, lane, j):
    """Normal ``j`` when its word fell outside the fast path: the wedge test for
    the upper layers, Marsaglia's exact tail sampler for the base layer, and a
    fresh word on rejection.  The extra uniforms come from Philox blocks keyed
    by ``j`` and the attempt (``_RETRY``), so the value still depends only on
    the chain key, step, purpose, lane and j.  One Philox call site (the word
    itself is recomputed): each inlined Philox adds to the cold compile time.
    """
    attempt = np.uint64(0)
    counter = np.uint64(j // 4)
    in_tail = False
    layer = np.uint64(0)
    sign = x = 0.0
    while True:
        r0, r1, r2, r3 = philox4x64(np.uint64(step), np.uint64(purpose), counter, np.uint64(lane),
                                    key[0], key[1])
        if counter < _RETRY:  # the normal's own word (rejected by the fast path), then retries
            r2 = (r0, r1, r2, r3)[j % 4]
        else:
            attempt += _ONE
            if in_tail:
                # Tail x > R: x = R + E1 / R accepted when 2 E2 > (E1 / R)^2 (E exponential).
                e1 = -np.log(1.0 - _unit(r0)) / _ZIG_R
                e2 = -np.log(1.0 - _unit(r1))
                if 2.0 * e2 > e1 * e1:
                    return sign * (_ZIG_R + e1)
            else:
                # Wedge: a uniform height in the layer, accepted under the curve.
                height = _ZIG_F[layer] + _unit(r0) * (_ZIG_F[layer + _ONE] - _ZIG_F[layer])
                if height < np.exp(-0.5 * x * x):
                    return sign * x
        counter = _RETRY | (np.uint64(j) << _S20) | attempt
        if not in_tail:  # r2 is the next candidate word
            layer, sign, x = _decode(r2)
            if x < _ZIG_X[layer + _ONE]:
                return sign * x
            in_tail = layer == 0


@jit(inline="always")
def fill_normals(key, step, purpose, lane, out):
    """Fill ``out`` with standard normals for ``(step, purpose, lane)`` of a chain.

    ``lane`` separates replicas of one chain (parallel tempering).  Normal
    ``j`` comes from word ``j % 4`` of Philox block ``j // 4`` through the
    ziggurat, so each value depends only on the key, the step, the purpose,
    the lane and ``j``.  The rare words the fast path rejects are finished in
    a second pass: with the rejection code inside the first loop, LLVM's
    inlining made every draw about 60% slower.
    """
    n = out.shape[0]
    for block in range((n + 3) // 4):
        r0, r1, r2, r3 = philox4x64(np.uint64(step), np.uint64(purpose), np.uint64(block),
                                    np.uint64(lane), key[0], key[1])
        j = 4 * block
        out[j] = _layer_point(r0)
        if j + 1 < n:
            out[j + 1] = _layer_point(r1)
        if j + 2 < n:
            out[j + 2] = _layer_point(r2)
        if j + 3 < n:
            out[j + 3] = _layer_point(r3)
    for j in range(n):
        if np.isnan(out[j]):
            out[j] = _ziggurat_rejected(key, step, purpose, lane, j)
