"""Compiled log densities and gradients of the matrix problems (``samplers.matrix.problems``).

Every function computes, at X in R^{d x k} given as its C-order flattening
``x`` (``X[i, c]`` is ``x[i * k + c]``),

    log p(X) = -beta * L(X),      L(X) = ||A(X X^T) - b||^2,

and writes ``grad log p`` into ``grad_out``.  ``params`` ends with
``dk = [d, k]`` (int64) and ``scale = [beta]``; with ``scale = [1.0]`` the
same kernels give ``-L`` and ``-grad L``, which is how the problems'
optimisation helpers use them.  The ``*_batch`` forms are the
``batch_logp_grad(xs, params, grad_out, lp_out)`` of :class:`samplers.Target`:
every row of ``xs`` in one call, two matrix-matrix products instead of two
matrix-vector products per row.

**Unknown noise.**  A point may carry one more coordinate than ``d k``: then
its last entry is ``u = log(sigma) / tau`` and the density is the joint
posterior of (X, s = tau u) with an inverse-gamma prior IG(a, b0) on sigma^2
(``scale = [tau, m + 2 a, b0]``, ``m`` the number of independent
observations)::

    log p(X, s) = -(m + 2 a) s - (L(X) / 2 + b0) exp(-2 s)

(the likelihood sigma^-m exp(-L / (2 sigma^2)) times the prior
(sigma^2)^(-a-1) exp(-b0 / sigma^2) times the Jacobian d sigma^2 / ds =
2 sigma^2; the constant tau changes no density), so the X part is the
known-noise density at ``beta = exp(-2 s) / 2`` and
d log p / du = tau (-(m + 2 a) + (L + 2 b0) exp(-2 s)).  tau only scales the
coordinate, so that a Langevin step suits it as well as X (``MatrixLangevin``).
:func:`_point_beta` and :func:`_log_density` are the only places that
tell the two cases apart, so every kernel serves both with one params type.

Shared pieces are small compiled helpers: the batched evaluators and their
one-point forms share everything but how the work is spread (the rank-one and
Gram products run in fixed parts, on threads for a batch, in series for one
point, with the same bits either way).
"""
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import jit

try:
    from numba.np.ufunc.parallel import _launch_threads
except ImportError:  # pragma: no cover (a numba that loads its threading layer itself)
    pass
else:
    # Cached code that calls one of the parallel kernels below needs numba's threading
    # layer loaded before it is linked, or the process aborts ("LLVM ERROR: Symbol not
    # found: allocate_sched"): numba loads the layer when it compiles a parallel
    # function, not when it loads one from the disk cache.  2 ms; no thread starts.
    _launch_threads()

__all__ = ["factorization_logp_grad", "sensing_logp_grad", "sensing_logp_grad_batch",
           "sensing_gram_logp_grad", "sensing_gram_logp_grad_batch", "rank_one_logp_grad",
           "rank_one_logp_grad_batch", "completion_logp_grad", "operator_kernel"]


@jit
def _sum_squares(r):
    total = 0.0
    for i in range(r.shape[0]):
        total += r[i] * r[i]
    return total


@jit
def _scale_into(grad_out, factor):
    for i in range(grad_out.shape[0]):
        grad_out[i] *= factor


@jit(inline="always")
def _point_beta(x, n, scale):
    """The inverse temperature at point ``x``: ``scale[0]`` when ``x`` is X alone
    (``n = d k`` coordinates), ``exp(-2 s) / 2`` when its last entry is u, s = tau u = log sigma."""
    if x.shape[0] == n:
        return scale[0]
    return 0.5 * np.exp(-2.0 * scale[0] * x[n])


@jit(inline="always")
def _log_density(x, n, scale, loss, grad_out):
    """log p from the loss L at ``x``: ``-scale[0] L``, or with s = tau u = log sigma the
    joint ``-(m + 2 a) s - (L / 2 + b0) exp(-2 s)`` (module docstring), whose u-derivative
    it writes into ``grad_out[n]``.  The X part of the gradient is the caller's:
    ``-_point_beta(...) grad L``."""
    if x.shape[0] == n:
        return -scale[0] * loss
    s = scale[0] * x[n]
    e = np.exp(-2.0 * s)
    grad_out[n] = scale[0] * (-scale[1] + (loss + 2.0 * scale[2]) * e)
    return -scale[1] * s - (0.5 * loss + scale[2]) * e


@jit
def factorization_logp_grad(x, params, grad_out):
    """logp = -beta ||X X^T - M||_F^2, grad = -4 beta (X X^T - M) X (M symmetric).

    O(d^2 k): one d x d residual, then one (d x d)(d x k) product into ``grad_out``.
    """
    M, dk, scale = params
    d, k = dk[0], dk[1]
    n = d * k
    X = x[:n].reshape((d, k))
    R = np.dot(X, X.T)
    R -= M
    loss = _sum_squares(R.reshape(d * d))
    np.dot(R, X, grad_out[:n].reshape((d, k)))
    _scale_into(grad_out[:n], -4.0 * _point_beta(x, n, scale))
    return _log_density(x, n, scale, loss, grad_out)


@jit
def _pack_gram(X, z):
    """z = packed upper triangle of X X^T, row by row: (0,0), (0,1), ..., (0,d-1), (1,1), ..."""
    d, k = X.shape
    idx = 0
    for i in range(d):
        for j in range(i, d):
            acc = 0.0
            for c in range(k):
                acc += X[i, c] * X[j, c]
            z[idx] = acc
            idx += 1


@jit
def _pack_grams(xs, d, k, p):
    """P (n, p): row c is packed_upper(X_c X_c^T), X_c the d x k matrix in row c of ``xs``."""
    n = xs.shape[0]
    P = np.empty((n, p))
    for c in range(n):
        _pack_gram(xs[c][:d * k].reshape((d, k)), P[c])
    return P


@jit
def _unpack_grad(g, X, G, factor):
    """G = factor * d/dX (g . packed_upper(X X^T)) = factor * 4 W X.

    ``W`` is the symmetric matrix with ``W_ii = g_ii`` and ``W_ij = g_ij / 2``
    (packed off-diagonal coefficients are doubled), so, row by row, the
    diagonal term adds ``4 g_ii X_i`` and an off-diagonal one ``2 g_ij X_j``
    to row ``i`` and ``2 g_ij X_i`` to row ``j``; no d x d matrix is formed.
    """
    d, k = X.shape
    for i in range(d):
        for c in range(k):
            G[i, c] = 0.0
    idx = 0
    for i in range(d):
        w = 4.0 * factor * g[idx]
        for c in range(k):
            G[i, c] += w * X[i, c]
        idx += 1
        for j in range(i + 1, d):
            w = 2.0 * factor * g[idx]
            for c in range(k):
                G[i, c] += w * X[j, c]
                G[j, c] += w * X[i, c]
            idx += 1


@jit
def sensing_logp_grad_batch(xs, params, grad_out, lp_out):
    """logp = -beta ||S z - b||^2 with z = packed_upper(X X^T), grad = -4 beta (sum_i r_i S_i) X,
    for every row of ``xs`` (n, d*k), written into ``grad_out``, ``lp_out``.
    ``params = (S, b, unused, dk, scale)``.

    P (n, p) holds the packed Gram matrices of all rows; R = P S^T - b and
    G = R S are one matrix-matrix product each, so the (m, p) matrix S is read
    twice per call instead of twice per row.  Each row of G is then applied
    to its X_c pair by pair (:func:`_unpack_grad`, O(p k), no d x d matrix).
    """
    s_packed, b, _, dk, scale = params
    d, k = dk[0], dk[1]
    n = xs.shape[0]
    P = _pack_grams(xs, d, k, s_packed.shape[1])
    dk_n = d * k
    R = np.dot(P, s_packed.T)
    for c in range(n):
        R[c] -= b
        lp_out[c] = _log_density(xs[c], dk_n, scale, _sum_squares(R[c]), grad_out[c])
    G = np.dot(R, s_packed)
    for c in range(n):
        _unpack_grad(G[c], xs[c][:dk_n].reshape((d, k)), grad_out[c][:dk_n].reshape((d, k)),
                     -_point_beta(xs[c], dk_n, scale))


@jit
def sensing_gram_logp_grad_batch(xs, params, grad_out, lp_out):
    """:func:`sensing_logp_grad_batch` through the normal equations, for m > p.

    With Q = S^T S (p x p), c = S^T b and |b|^2:  S^T r = Q z - c and
    ||S z - b||^2 = z . (Q z - 2 c) + |b|^2, one (n x p)(p x p) product
    instead of two (n x m)(m x p) ones.  The points go LANES at a time
    (:func:`_gram_points`), each one lane of a vector register: their packed
    Gram matrices Z, the product Z Q (:func:`_symmetric_parts`, which reads only
    Q's upper triangle, in two parts on two threads from
    :data:`SYMMETRIC_PARALLEL_MIN_ROWS` rows) and the gradients are vector
    instructions over the points.  The cancellation in the loss costs about
    eps |b|^2 in absolute terms (1e-12 for the benchmark problem), far below
    any difference of log densities that matters.
    ``params = (Q, c, [|b|^2], dk, scale)``.
    """
    _gram_points(xs, params, grad_out, lp_out, params[0].shape[0] >= SYMMETRIC_PARALLEL_MIN_ROWS)


@jit
def sensing_gram_logp_grad(x, params, grad_out):
    """One point of :func:`sensing_gram_logp_grad_batch`, the product's parts in series: a
    single point is too little work for threads, whose wake-ups on a loaded machine cost
    milliseconds."""
    lp = np.empty(1)
    _gram_points(x.reshape((1, x.shape[0])), params, grad_out.reshape((1, grad_out.shape[0])),
                 lp, False)
    return lp[0]


@jit
def _gram_points(xs, params, grad_out, lp_out, threads):
    """Log densities and gradients of the rows of ``xs``, LANES at a time, one lane each
    (a group of at most LANES / 2 points in vectors of LANES / 2: :func:`_lane_width`):
    Z^T = the packed Gram matrices (:func:`_gram_pack`), Y^T = Q Z^T in
    :data:`SYMMETRIC_PARTS` parts (on threads if ``threads``, else in series: the same
    bits), then the losses and gradients from g = Q z - c (:func:`_gram_gradient`).
    Lanes never mix, so a point's bits do not depend on its group or the width."""
    gram, c, bb, dk, scale = params
    d, k = dk[0], dk[1]
    dk_n = d * k
    p = gram.shape[0]
    for first in range(0, xs.shape[0], LANES):
        points = xs[first:first + LANES]
        n = points.shape[0]
        width = _lane_width(n)
        XL = _chain_lanes(points, dk_n, width)
        ZT = np.empty((p, width))
        _gram_pack(XL, ZT, k)
        YTs = np.empty((SYMMETRIC_PARTS, p, width))
        if threads:
            _symmetric_parts(gram, ZT, YTs)
        else:
            _symmetric_parts_in_series(gram, ZT, YTs)
        factor = np.zeros(width)
        for row in range(n):
            factor[row] = -_point_beta(points[row], dk_n, scale)
        loss = np.full(width, bb[0])
        GL = np.zeros_like(XL)
        _gram_gradient(YTs, c, ZT, XL, GL, factor, loss, k)
        for row in range(n):
            out = grad_out[first + row]
            for e in range(dk_n):
                out[e] = GL[e, row]
            lp_out[first + row] = _log_density(points[row], dk_n, scale, max(loss[row], 0.0), out)


@jit(inline="always")
def _lane_width(n):
    """The vector width for a group of ``n`` points: LANES, or LANES / 2 for at most
    LANES / 2 points (half the multiply-adds of full vectors half empty: the default 4
    chains, one point for a chain's start and the optimisers)."""
    return LANES if n > LANES // 2 else LANES // 2


@jit
def _chain_lanes(xs, dk_n, width):
    """X^L (d k, width): row ``i k + a`` holds X[i, a] of every row of ``xs`` (at most
    ``width`` of them), one lane each, zeros in the lanes no point fills."""
    XL = np.zeros((dk_n, width))
    for c in range(xs.shape[0]):
        for e in range(dk_n):
            XL[e, c] = xs[c, e]
    return XL


@jit(inline="always")
def _one_point(batch_logp_grad, x, params, grad_out):
    """``batch_logp_grad`` at the single point ``x``: a one-row batch."""
    lp = np.empty(1)
    batch_logp_grad(x.reshape((1, x.shape[0])), params,
                    grad_out.reshape((1, grad_out.shape[0])), lp)
    return lp[0]


@jit
def sensing_logp_grad(x, params, grad_out):
    """One point of :func:`sensing_logp_grad_batch`."""
    return _one_point(sensing_logp_grad_batch, x, params, grad_out)


@jit(parallel=True)
def rank_one_logp_grad_batch(xs, params, grad_out, lp_out):
    """Rank-one sensing, f_i(X) = (X^T u_{s i}) . (X^T u_{s i + s - 1}), at every row of ``xs``.

    ``params = (U, b, [s], dk, scale)``: measurement i reads rows s i and
    s i + s - 1 of U: ``s = 1`` for the symmetric b_i = a_i^T M a_i (U = a,
    (m, d)), ``s = 2`` for the general b_i = a_i^T M c_i (U interleaves a_i
    and c_i, (2m, d)).  With Y = U X, the rows of measurement i written
    Y_i and Y'_i, and r_i = Y_i . Y'_i - b_i,

        L = sum_i r_i^2,    grad L = 2 U^T W,    W_i = r_i Y'_i,  W'_i += r_i Y_i

    (for s = 1 both rows are one: W_i = 2 r_i Y_i, grad L = 4 a^T diag(r) a X).
    All n points are stacked, X_cat = [X_1 ... X_n] (d, n k), and U is read
    once, in one fused pass of tiles of :data:`RANK_ONE_TILE` rows
    (:func:`_fused_rows`): Y_tile = U_tile X_cat, then r and W, then
    G += U_tile^T W while the tile is still in cache, with the accumulators
    of both products in vector registers (LLVM IR, :func:`_tile_kernel`):
    80% of the FMA peak where two OpenBLAS products per block of rows reached
    46% (``benchmarks/RESULTS.md``).  2 * rows(U) * d * n k multiply-adds,
    O(rows(U) n k) more for r and W, no d x d matrix.

    The measurements are cut into :data:`RANK_ONE_PARTS` fixed parts, run in
    parallel (``prange``), each with its own partial G and loss, summed in
    part order: the results do not depend on the number of threads, and
    :func:`rank_one_logp_grad` (the parts in series) gives the same at one point.
    """
    XC, Gs, losses = _rank_one_setup(xs, params)
    for part in prange(RANK_ONE_PARTS):
        _rank_one_part(params, XC, Gs[part], losses[part], part)
    _rank_one_finish(xs, params, Gs, losses, grad_out, lp_out)


@jit
def rank_one_logp_grad(x, params, grad_out):
    """One point of :func:`rank_one_logp_grad_batch`, its parts in series: a single point
    is too little work for threads (the optimisers' one-point calls, a chain's start),
    whose wake-ups on a loaded machine cost milliseconds."""
    xs = x.reshape((1, x.shape[0]))
    XC, Gs, losses = _rank_one_setup(xs, params)
    for part in range(RANK_ONE_PARTS):
        _rank_one_part(params, XC, Gs[part], losses[part], part)
    lp = np.empty(1)
    _rank_one_finish(xs, params, Gs, losses, grad_out.reshape((1, grad_out.shape[0])), lp)
    return lp[0]


@jit
def _rank_one_setup(xs, params):
    """X_cat (:func:`_stack_chains`) and zeroed partial gradients and losses, one per part."""
    U, b, stride, dk, scale = params
    XC = _stack_chains(xs, dk[0], dk[1])
    return (XC, np.zeros((RANK_ONE_PARTS, XC.shape[0], XC.shape[1])),
            np.zeros((RANK_ONE_PARTS, xs.shape[0])))


@jit
def _rank_one_part(params, XC, G, loss, part):
    """Part ``part`` of the measurements (:data:`RANK_ONE_PARTS` equal parts) through
    :func:`_fused_rows`, into its partial gradient ``G`` and ``loss``."""
    U, b, stride, dk, scale = params
    s = stride[0]
    measurements = U.shape[0] // s
    per = (measurements + RANK_ONE_PARTS - 1) // RANK_ONE_PARTS
    _fused_rows(U, b, s, XC, G, loss, s * min(measurements, part * per),
                s * min(measurements, (part + 1) * per), loss.shape[0], dk[1])


@jit
def _rank_one_finish(xs, params, Gs, losses, grad_out, lp_out):
    """Sum the parts in order, then the gradients and log densities of every point."""
    U, b, stride, dk, scale = params
    d, k = dk[0], dk[1]
    G = Gs[0]
    loss = losses[0]
    for part in range(1, RANK_ONE_PARTS):
        G += Gs[part]
        loss += losses[part]
    n_x = d * k
    for c in range(xs.shape[0]):
        factor = -2.0 * _point_beta(xs[c], n_x, scale)
        for i in range(d):
            for a in range(k):
                grad_out[c, i * k + a] = factor * G[i, c * k + a]
        lp_out[c] = _log_density(xs[c], n_x, scale, loss[c], grad_out[c])


def operator_kernel(forward, adjoint):
    """``logp_grad(x, params, grad_out)`` of sensing with a user operator A.

    ``forward(X, params, out)`` writes A(X X^T) (m,) and ``adjoint(X, r,
    params, out)`` writes A*(r) X (d, k), A*(r) = sum_i r_i S_i the adjoint
    on symmetric matrices (S_i symmetric); ``params`` is the user's arrays
    followed by ``(b, dk, scale)``.  With r = A(X X^T) - b,
    L = |r|^2 and grad L = 4 A*(r) X (d <S, X X^T> / dX = 2 S X).

    Compiled per operator (a closure over the user's functions, not cached).
    """
    import numba

    @numba.njit(cache=False, error_model="numpy")
    def logp_grad(x, params, grad_out):
        b, dk, scale = params[-3], params[-2], params[-1]
        d, k = dk[0], dk[1]
        n_x = d * k
        X = x[:n_x].reshape((d, k))
        r = np.empty(b.shape[0])
        forward(X, params, r)
        for i in range(b.shape[0]):
            r[i] -= b[i]
        loss = _sum_squares(r)
        G = grad_out[:n_x].reshape((d, k))
        adjoint(X, r, params, G)
        _scale_into(grad_out[:n_x], -4.0 * _point_beta(x, n_x, scale))
        return _log_density(x, n_x, scale, loss, grad_out)

    return logp_grad


#: Lanes of the vectors that hold a row of X in the completion kernel: one 64-byte cache line.
LANES = 8
_FAST = ("reassoc", "contract")  # never nnan/ninf: the NaN checks of the chain loop stay


def _hsum(builder, v):
    """The sum of the lanes of LLVM vector ``v``, by halving (log2(lanes) shuffles and adds)."""
    n = v.type.count
    while n > 1:
        half = n // 2
        index = lambda idx: ir.Constant(ir.VectorType(ir.IntType(32), len(idx)), idx)  # noqa: E731
        v = builder.fadd(builder.shuffle_vector(v, v, index(list(range(half)))),
                         builder.shuffle_vector(v, v, index(list(range(half, n)))), flags=_FAST)
        n = half
    return builder.extract_element(v, ir.Constant(ir.IntType(32), 0))


def _broadcast(builder, value, vec):
    lane0 = builder.insert_element(ir.Constant(vec, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(lane0, ir.Constant(vec, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), vec.count), [0] * vec.count))


@intrinsic
def _completion_row(typingctx, Xp, Gp, cols, values, start, stop, i, blocks):
    """Row ``i`` of the completion loss: returns sum_e r_e^2 over its observations
    e in [start, stop) (pairs (i, cols[e]), r_e = X_i . X_j - values[e]) and adds
    2 r_e X_j to G_i and 2 r_e X_i to G_j.

    ``Xp``, ``Gp`` are (d, blocks * LANES), X and the gradient with each row padded
    with zeros to whole vectors of LANES doubles, so that a row's dot product
    and updates are a few vector instructions.  With one block (k <= LANES) X_i
    and the row's gradient accumulator stay in vector registers for the whole
    row; otherwise the blocks are looped over and G_i is updated in memory.
    Written as LLVM IR because numba runs LLVM without its SLP vectoriser, which
    leaves the short k-loops scalar (see ``benchmarks/RESULTS.md``).
    """
    sig = types.float64(Xp, Gp, cols, values, types.int64, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        xp, gp, cols_, values_, start, stop, i, blocks = args
        X = context.make_array(signature.args[0])(context, builder, xp)
        G = context.make_array(signature.args[1])(context, builder, gp)
        col = context.make_array(signature.args[2])(context, builder, cols_)
        val = context.make_array(signature.args[3])(context, builder, values_)
        dbl, i64 = ir.DoubleType(), ir.IntType(64)
        vec = ir.VectorType(dbl, LANES)
        xrows = builder.bitcast(X.data, vec.as_pointer())
        grows = builder.bitcast(G.data, vec.as_pointer())
        one = ir.Constant(i64, 1)
        zero = ir.Constant(vec, [0.0] * LANES)
        # Two loss accumulators (and two row-gradient ones below): consecutive
        # observations add into different registers, so the adds do not wait on
        # each other (halves the loop-carried latency).
        losses = [cgutils.alloca_once_value(builder, ir.Constant(dbl, 0.0)) for _ in range(2)]

        def row(ptr, r, b):
            return builder.gep(ptr, [builder.add(builder.mul(r, blocks), b)])

        def residual(e, acc, lane=0):
            r = builder.fsub(_hsum(builder, acc), builder.load(builder.gep(val.data, [e])))
            loss = losses[lane]
            builder.store(builder.fadd(builder.load(loss), builder.fmul(r, r)), loss)
            return _broadcast(builder, builder.fmul(ir.Constant(dbl, 2.0), r), vec)

        def axpy(ptr, w, v):  # *ptr += w v
            builder.store(builder.fadd(builder.load(ptr, align=8), builder.fmul(w, v, flags=_FAST),
                                       flags=_FAST), ptr, align=8)

        with builder.if_else(builder.icmp_signed("==", blocks, one)) as (single, several):
            with single:
                first = ir.Constant(i64, 0)
                xi = builder.load(row(xrows, i, first), align=8)
                gis = [cgutils.alloca_once_value(builder, zero) for _ in range(2)]  # registers

                def observation(e, lane):
                    j = builder.sext(builder.load(builder.gep(col.data, [e])), i64)
                    xj = builder.load(row(xrows, j, first), align=8)
                    w = residual(e, builder.fmul(xi, xj, flags=_FAST), lane)
                    axpy(gis[lane], w, xj)
                    axpy(row(grows, j, first), w, xi)

                # Pairs of observations, then the odd one out.
                n_pairs = builder.sdiv(builder.sub(stop, start), ir.Constant(i64, 2))
                with cgutils.for_range(builder, n_pairs) as loop:
                    e = builder.add(start, builder.mul(loop.index, ir.Constant(i64, 2)))
                    observation(e, 0)
                    observation(builder.add(e, one), 1)
                last = builder.add(start, builder.mul(n_pairs, ir.Constant(i64, 2)))
                with builder.if_then(builder.icmp_signed("<", last, stop)):
                    observation(last, 0)
                gi_row = row(grows, i, first)
                axpy(gi_row, _broadcast(builder, ir.Constant(dbl, 1.0), vec),
                     builder.fadd(builder.load(gis[0]), builder.load(gis[1]), flags=_FAST))
            with several:
                with cgutils.for_range_slice(builder, start, stop, one) as (e, _):
                    j = builder.sext(builder.load(builder.gep(col.data, [e])), i64)
                    acc = cgutils.alloca_once_value(builder, zero)
                    with cgutils.for_range(builder, blocks) as loop:
                        b = loop.index
                        product = builder.fmul(builder.load(row(xrows, i, b), align=8),
                                               builder.load(row(xrows, j, b), align=8), flags=_FAST)
                        builder.store(builder.fadd(builder.load(acc), product, flags=_FAST), acc)
                    w = residual(e, builder.load(acc))
                    with cgutils.for_range(builder, blocks) as loop:
                        b = loop.index
                        xi_b = builder.load(row(xrows, i, b), align=8)
                        xj_b = builder.load(row(xrows, j, b), align=8)
                        axpy(row(grows, i, b), w, xj_b)
                        axpy(row(grows, j, b), w, xi_b)
        return builder.fadd(builder.load(losses[0]), builder.load(losses[1]))

    return sig, codegen


def _vector_registers():
    """32 where numba compiles for AVX-512 (a vector of LANES doubles in one register), else
    16: the host's features, or those numba is told to compile for (``NUMBA_CPU_FEATURES``;
    a named ``NUMBA_CPU_NAME`` alone counts as 16, the safe side: fewer registers assumed
    cost speed, more would spill)."""
    import numba
    from llvmlite import binding
    if numba.config.CPU_FEATURES:
        return 32 if "+avx512f" in numba.config.CPU_FEATURES.split(",") else 16
    if numba.config.CPU_NAME and numba.config.CPU_NAME != "host":
        return 16
    return 32 if binding.get_host_cpu_features().get("avx512f", False) else 16


#: Rows of Q per pass of :func:`_symmetric_lanes` over the columns right of them.  A pass
#: keeps ROWS accumulators and ROWS vectors of Z in registers and makes 2 ROWS
#: multiply-adds per column for two vector loads (z_j, y_j), ROWS broadcasts and one store,
#: so more rows mean fewer loads per multiply-add, up to the registers: 12 with AVX-512
#: (2-core Xeon, 8 chains: 35 GFMA/s with 12 rows, 30 with 8, 27 with 4, 32 with 16,
#: which spills), 4 where a vector of LANES doubles takes two of 16 registers (AVX2).
SYMMETRIC_ROWS = 12 if _vector_registers() == 32 else 4


def _fma(builder, a, b, c):
    """a b + c, fused, lane by lane (llvmlite's ``IRBuilder.fma`` takes scalars only)."""
    name = f"llvm.fma.v{a.type.count}f64"
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(a.type, [a.type] * 3), name)
    return builder.call(fn, [a, b, c])


# -- rank-one sensing: the fused pass -----------------------------------------------------

#: Parts of the measurements in :func:`rank_one_logp_grad_batch`, one thread each: fixed, so
#: that the sums (and so the results) do not depend on the number of threads.
RANK_ONE_PARTS = 2
#: Rows of U per tile of the fused pass: the tile stays in cache between its two uses (tiles
#: of 20-60 rows ran at the same speed on a 2-core Xeon; 120 and more lost).
RANK_ONE_TILE = 40
#: Rows of X_cat per chunk of the forward pass, small enough to stay in L1 while every group
#: of rows of the tile runs over them.
RANK_ONE_CHUNK = 32
#: Vectors of LANES doubles that fit in the vector registers beside a broadcast: 30 of 32
#: with AVX-512, 7 where a vector takes two of 16 registers (AVX2).
_REGISTER_VECTORS = 30 if _vector_registers() == 32 else 7
#: Most vectors of a column block of X_cat (n k columns in blocks of at most this many
#: vectors): the forward pass keeps rows x vectors accumulators and one row of the block.
RANK_ONE_VECTORS = 5 if _vector_registers() == 32 else 2
#: The widths the tile passes are generated for (:func:`_tile_kernel`), 1 to this.
MAX_BLOCK_VECTORS = 5


def _forward_rows(vectors):
    """Rows of U per register group of the forward pass for a block of ``vectors`` vectors:
    rows x vectors accumulators and a row of X_cat's block in registers, at most 8."""
    return max(1, min(8, (_REGISTER_VECTORS - vectors) // vectors))


def _backward_rows(vectors):
    """Rows of G per register group of the backward pass (rows x vectors accumulators, a
    row of W and room for the broadcasts), at most 8."""
    return max(1, min(8, (_REGISTER_VECTORS - 2 * vectors) // vectors))


def _prefetch(builder, ptr):
    """Hint that the cache line at ``ptr`` will be read (into L2: ``llvm.prefetch``)."""
    i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0i8")
    builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 2),
                      ir.Constant(i32, 1)])


def _i64(value):
    return ir.Constant(ir.IntType(64), value)


def _forward_group(builder, u, xc, y, d, stride, col, q0, t0, i0, i1, rows, vectors):
    """Y[t0 + r, block] += sum_{i0 <= i < i1} U[q0 + t0 + r, i] X_cat[i, block] for r < rows
    (block: vectors col .. col + vectors - 1 of rows of ``stride`` vectors), with the
    rows x vectors accumulators in registers (U[q, i] broadcast)."""
    def at(ptr, row, v):
        return builder.gep(ptr, [builder.add(builder.mul(row, stride), builder.add(col, _i64(v)))])

    vec = xc.type.pointee
    trow = [builder.add(t0, _i64(r)) for r in range(rows)]
    ubase = [builder.mul(builder.add(q0, t), d) for t in trow]
    slots = [[cgutils.alloca_once_value(builder, builder.load(at(y, t, v), align=8))
              for v in range(vectors)] for t in trow]  # promoted to registers
    with cgutils.for_range_slice(builder, i0, i1, _i64(1)) as (i, _):
        x = [builder.load(at(xc, i, v), align=8) for v in range(vectors)]
        for r in range(rows):
            w = _broadcast(builder, builder.load(builder.gep(u, [builder.add(ubase[r], i)])), vec)
            for v in range(vectors):
                builder.store(_fma(builder, w, x[v], builder.load(slots[r][v])), slots[r][v])
    for r, t in enumerate(trow):
        for v in range(vectors):
            builder.store(builder.load(slots[r][v]), at(y, t, v), align=8)


def _backward_group(builder, u, w, g, d, stride, col, q0, count, ib, rows, vectors):
    """G[ib + j, block] += sum_{t < count} U[q0 + t, ib + j] W[t, block] for j < rows, with
    the rows x vectors accumulators in registers while the rows of W stream past; it also
    prefetches the next tile's rows of U, which the forward pass then finds in cache."""
    def at(ptr, row, v):
        return builder.gep(ptr, [builder.add(builder.mul(row, stride), builder.add(col, _i64(v)))])

    vec = w.type.pointee
    grow = [builder.add(ib, _i64(j)) for j in range(rows)]
    slots = [[cgutils.alloca_once_value(builder, builder.load(at(g, i, v), align=8))
              for v in range(vectors)] for i in grow]
    with cgutils.for_range(builder, count) as loop:
        t = loop.index
        wv = [builder.load(at(w, t, v), align=8) for v in range(vectors)]
        ubase = builder.add(builder.mul(builder.add(q0, t), d), ib)
        # Row t of the next tile, a line every other group (a hint: past the end of U
        # it is dropped, never a fault).
        ahead = builder.add(builder.mul(builder.add(builder.add(q0, count), t), d),
                            builder.add(ib, ib))
        _prefetch(builder, builder.gep(u, [ahead]))
        for j in range(rows):
            b = _broadcast(builder, builder.load(builder.gep(u, [builder.add(ubase, _i64(j))])), vec)
            for v in range(vectors):
                builder.store(_fma(builder, b, wv[v], builder.load(slots[j][v])), slots[j][v])
    for j, i in enumerate(grow):
        for v in range(vectors):
            builder.store(builder.load(slots[j][v]), at(g, i, v), align=8)


def _tile_kernel(backward):
    """The forward (``backward=False``) or backward pass over one tile: an intrinsic
    ``(U, A, B, q0, count, i0, i1, col, vectors)`` with A, B (., stride LANES) C-order
    arrays and a column block of ``vectors`` (1 to 5) vectors from vector ``col``:

    forward:  B[t, block] += sum_{i0 <= i < i1} U[q0 + t, i] A[i, block], t < count
              (A = X_cat, B = Y), in groups of :func:`_forward_rows` rows of U;
    backward: B[i, block] += sum_{t < count} U[q0 + t, i] A[t, block], i0 <= i < i1
              (A = W, B = G), in groups of :func:`_backward_rows` rows of G;

    then the leftover rows one by one.  The code for each block width is generated
    once, behind a switch on ``vectors``.  Written as LLVM IR because numba runs LLVM
    without its SLP vectoriser: plain loops would not keep the accumulators in registers.
    """
    @intrinsic
    def kernel(typingctx, U, A, B, q0, count, i0, i1, col, vectors):
        sig = types.void(U, A, B, *[types.int64] * 6)

        def codegen(context, builder, signature, args):
            ua, aa, ba = (context.make_array(t)(context, builder, a)
                          for t, a in zip(signature.args[:3], args[:3]))
            q0, count, i0, i1, col, vectors = args[3:]
            vec = ir.VectorType(ir.DoubleType(), LANES)
            d = cgutils.unpack_tuple(builder, ua.shape, 2)[1]
            stride = builder.sdiv(cgutils.unpack_tuple(builder, aa.shape, 2)[1], _i64(LANES))
            a = builder.bitcast(aa.data, vec.as_pointer())
            b = builder.bitcast(ba.data, vec.as_pointer())

            def passes(width):
                rows = _backward_rows(width) if backward else _forward_rows(width)
                if backward:
                    def group(first, size):
                        _backward_group(builder, ua.data, a, b, d, stride, col, q0, count, first,
                                        size, width)
                    start, stop = i0, i1
                else:
                    def group(first, size):
                        _forward_group(builder, ua.data, a, b, d, stride, col, q0, first, i0, i1,
                                       size, width)
                    start, stop = _i64(0), count
                groups = builder.sdiv(builder.sub(stop, start), _i64(rows))
                with cgutils.for_range(builder, groups) as loop:
                    group(builder.add(start, builder.mul(loop.index, _i64(rows))), rows)
                with cgutils.for_range_slice(builder, builder.add(start, builder.mul(groups, _i64(rows))),
                                             stop, _i64(1)) as (first, _):
                    group(first, 1)

            end = builder.append_basic_block("widths_end")
            narrowest = builder.append_basic_block("width_1")
            switch = builder.switch(vectors, narrowest)
            for width in range(1, MAX_BLOCK_VECTORS + 1):
                block = narrowest if width == 1 else builder.append_basic_block(f"width_{width}")
                if width > 1:
                    switch.add_case(_i64(width), block)
                builder.position_at_end(block)
                passes(width)
                builder.branch(end)
            builder.position_at_end(end)
            return context.get_dummy_value()

        return sig, codegen

    return kernel


_forward = _tile_kernel(backward=False)
_backward = _tile_kernel(backward=True)


@jit
def _fused_rows(U, b, s, XC, G, loss, first, stop, n, k):
    """The fused pass of :func:`rank_one_logp_grad_batch` over rows [first, stop) of U
    (whole measurements: multiples of s): adds to G (d, width) and loss (n,), tile by tile.
    Measurement j reads rows s j and s j + s - 1."""
    d = U.shape[1]
    total = XC.shape[1] // LANES
    last = s - 1
    tile = max(s, RANK_ONE_TILE // s * s)
    Y = np.empty((tile, XC.shape[1]))
    W = np.empty((tile, XC.shape[1]))
    for q0 in range(first, stop, tile):
        count = min(tile, stop - q0)
        Y[:count] = 0.0
        W[:count] = 0.0
        for col in range(0, total, RANK_ONE_VECTORS):
            vectors = min(RANK_ONE_VECTORS, total - col)
            for i0 in range(0, d, RANK_ONE_CHUNK):
                _forward(U, XC, Y, q0, count, i0, min(d, i0 + RANK_ONE_CHUNK), col, vectors)
        for t in range(0, count, s):
            for c in range(n):
                r = -b[(q0 + t) // s]
                for a in range(k):
                    r += Y[t, c * k + a] * Y[t + last, c * k + a]
                loss[c] += r * r
                for a in range(k):
                    W[t, c * k + a] += r * Y[t + last, c * k + a]
                    W[t + last, c * k + a] += r * Y[t, c * k + a]
        for col in range(0, total, RANK_ONE_VECTORS):
            _backward(U, W, G, q0, count, 0, d, col, min(RANK_ONE_VECTORS, total - col))


@jit
def _stack_chains(xs, d, k):
    """X_cat (d, width): row i holds X_1[i] ... X_n[i], padded with zeros to whole vectors
    of LANES doubles."""
    n = xs.shape[0]
    width = (n * k + LANES - 1) // LANES * LANES
    XC = np.zeros((d, width))
    for c in range(n):
        for i in range(d):
            for a in range(k):
                XC[i, c * k + a] = xs[c, i * k + a]
    return XC


def _symmetric_pass(builder, q, zt, yt, p, i0, rows):
    """Rows i0 .. i0 + rows - 1 of Y^T = Q Z^T from the upper triangle of Q alone
    (``zt``, ``yt``: pointers to p vectors, one lane per chain).  Entry q_ij (i in the
    pass, j >= i) adds q_ij z_j to y_i (in a register accumulator) and, off the
    diagonal, q_ij z_i to y_j (a read-modify-write of vector j of Y^T per column j).
    Passes above this one already added their share to y_i, so after this pass
    y_i is complete."""
    i64 = ir.IntType(64)
    vec = zt.type.pointee

    def entry(i, j):  # q_ij, broadcast to every lane
        return _broadcast(builder, builder.load(builder.gep(q, [builder.add(builder.mul(i, p), j)])), vec)

    index = [builder.add(i0, ir.Constant(i64, r)) for r in range(rows)]
    zi = [builder.load(builder.gep(zt, [i]), align=8) for i in index]
    acc = [ir.Constant(vec, [0.0] * vec.count)] * rows
    for r in range(rows):  # the pass's own rows x rows block of Q
        for s in range(r, rows):
            w = entry(index[r], index[s])
            acc[r] = _fma(builder, w, zi[s], acc[r])
            if s > r:
                acc[s] = _fma(builder, w, zi[r], acc[s])
    slots = [cgutils.alloca_once_value(builder, a) for a in acc]  # promoted to registers
    right = builder.add(i0, ir.Constant(i64, rows))
    with cgutils.for_range_slice(builder, right, p, ir.Constant(i64, 1)) as (j, _):
        zj = builder.load(builder.gep(zt, [j]), align=8)
        yj_ptr = builder.gep(yt, [j])
        yj = builder.load(yj_ptr, align=8)
        for r in range(rows):
            w = entry(index[r], j)
            builder.store(_fma(builder, w, zj, builder.load(slots[r])), slots[r])
            yj = _fma(builder, w, zi[r], yj)
        builder.store(yj, yj_ptr, align=8)
    for r in range(rows):
        ptr = builder.gep(yt, [index[r]])
        builder.store(builder.fadd(builder.load(ptr, align=8), builder.load(slots[r])), ptr, align=8)


@intrinsic
def _symmetric_lanes(typingctx, Q, ZT, YT, first, stop):
    """Y^T += (Q Z^T) restricted to the upper-triangle rows ``first <= i < stop`` of the
    symmetric (p, p) ``Q`` (C order), for the (p, W) arrays ``ZT``, ``YT`` (C order, W =
    LANES or LANES / 2, :func:`_lane_width`):
    each entry q_ij (i in those rows, j >= i) serves as q_ij and q_ji, so Q, the one
    operand that does not stay in cache, is read half as much as by a matrix product,
    and the W columns of Z^T (the chains) are one vector register.  Rows 0 to p
    together give Y^T = Q Z^T.  Passes of SYMMETRIC_ROWS rows, then the leftover rows one
    by one.  Written as LLVM IR because numba runs LLVM without its SLP vectoriser."""
    if not (_lane_arrays_ok(Q, ZT, YT) and Q.ndim == ZT.ndim == YT.ndim == 2):
        return None
    sig = types.void(Q, ZT, YT, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        q_arr, zt_arr, yt_arr = (context.make_array(t)(context, builder, a)
                                 for t, a in zip(signature.args[:3], args[:3]))
        first, stop = args[3:]
        i64 = ir.IntType(64)
        p = cgutils.unpack_tuple(builder, q_arr.shape, 2)[1]

        def emit(vec):
            zt = builder.bitcast(zt_arr.data, vec.as_pointer())
            yt = builder.bitcast(yt_arr.data, vec.as_pointer())
            rows = ir.Constant(i64, SYMMETRIC_ROWS)
            passes = builder.sdiv(builder.sub(stop, first), rows)
            with cgutils.for_range(builder, passes) as loop:
                _symmetric_pass(builder, q_arr.data, zt, yt, p,
                                builder.add(first, builder.mul(loop.index, rows)), SYMMETRIC_ROWS)
            with cgutils.for_range_slice(builder, builder.add(first, builder.mul(passes, rows)),
                                         stop, ir.Constant(i64, 1)) as (i, _):
                _symmetric_pass(builder, q_arr.data, zt, yt, p, i, 1)

        _by_width(builder, cgutils.unpack_tuple(builder, zt_arr.shape, 2)[1], emit)
        return context.get_dummy_value()

    return sig, codegen


#: Parts of Q's upper triangle in :func:`symmetric_product`, one thread each, of equal work:
#: fixed, so that the sums (and so the results) do not depend on the number of threads.
SYMMETRIC_PARTS = 2
#: Rows of Q from which dense sensing runs the parts on threads (d >= 45): below, waking a
#: second thread costs about as much as the half of the product it takes, or more (whole
#: ``MatrixLangevin`` runs, 8 chains, against the parts in series: d = 30, p = 465, 0.47 s
#: against 0.40 s; d = 40, p = 820, 0.76-0.88 s against 0.82-0.86 s; d = 50, p = 1275,
#: 1.19-1.21 s against 1.38-1.41 s).
SYMMETRIC_PARALLEL_MIN_ROWS = 1000


@jit(parallel=True)
def _symmetric_parts(Q, ZT, YTs):
    """YTs[j] = part j of Y^T = Q Z^T (Z^T: (p, W)), from Q's upper triangle
    (:func:`_symmetric_lanes`), whose rows are cut into :data:`SYMMETRIC_PARTS` parts of
    equal work, run in parallel; their sum in part order is Y^T
    (:func:`_symmetric_parts_in_series` gives the same bits)."""
    bounds = _symmetric_bounds(Q.shape[0])
    for part in prange(SYMMETRIC_PARTS):
        YTs[part] = 0.0
        _symmetric_lanes(Q, ZT, YTs[part], bounds[part], bounds[part + 1])


@jit
def _symmetric_parts_in_series(Q, ZT, YTs):
    """:func:`_symmetric_parts` with its parts one after the other, on this thread."""
    bounds = _symmetric_bounds(Q.shape[0])
    for part in range(SYMMETRIC_PARTS):
        YTs[part] = 0.0
        _symmetric_lanes(Q, ZT, YTs[part], bounds[part], bounds[part + 1])


@jit
def _symmetric_bounds(p):
    """The parts' first rows (and p): rows [r0, r1) of the triangle hold
    sum_{r0 <= i < r1} (p - i) entries, so part j starts where r p - r^2 / 2 = (j / parts) p^2 / 2."""
    bounds = np.empty(SYMMETRIC_PARTS + 1, dtype=np.int64)
    for part in range(SYMMETRIC_PARTS + 1):
        bounds[part] = int(round(p * (1.0 - np.sqrt(1.0 - part / SYMMETRIC_PARTS))))
    return bounds


@jit
def symmetric_product(Q, Z):
    """Z Q for Z (n, p), 1 <= n <= LANES, and symmetric Q (p, p), from Q's upper triangle:
    Z^T padded with zero columns to the width :func:`_lane_width`, :func:`_symmetric_parts`
    on threads, the parts summed in order.  (Dense sensing packs Z^T itself,
    :func:`_gram_points`.)"""
    n, p = Z.shape
    width = _lane_width(n)
    ZT = np.zeros((p, width))
    for c in range(n):
        for i in range(p):
            ZT[i, c] = Z[c, i]
    YTs = np.empty((SYMMETRIC_PARTS, p, width))
    _symmetric_parts(Q, ZT, YTs)
    YT = YTs[0]
    for part in range(1, SYMMETRIC_PARTS):
        YT += YTs[part]
    return np.ascontiguousarray(YT[:, :n].T)


def _by_width(builder, width, emit):
    """``emit(vec)`` for vectors of ``width`` doubles, a run-time value (the last extent of
    the lane arrays): LANES, or LANES / 2 (:func:`_lane_width`), one branch each."""
    with builder.if_else(builder.icmp_signed("==", width, ir.Constant(width.type, LANES))) as (
            full, half):
        with full:
            emit(ir.VectorType(ir.DoubleType(), LANES))
        with half:
            emit(ir.VectorType(ir.DoubleType(), LANES // 2))


def _lane_arrays(context, builder, signature, args, positions, vec):
    """The data pointers of the array arguments at ``positions`` as pointers to ``vec``."""
    return [builder.bitcast(context.make_array(signature.args[i])(context, builder, args[i]).data,
                            vec.as_pointer()) for i in positions]


def _lane_arrays_ok(*arrays):
    """C-order float64 arrays (their last extent, the width, is the callers' to keep equal)."""
    return all(isinstance(a, types.Array) and a.layout == "C" and a.dtype == types.float64
               for a in arrays)


@intrinsic
def _gram_pack(typingctx, XL, ZT, k):
    """Z^T[idx] = X_i . X_j for the pairs i <= j in packed order (0,0), (0,1), ..., (1,1), ...:
    every lane's packed upper triangle of X X^T, for X^L (d k, W) (:func:`_chain_lanes`)
    and Z^T (p, W), W = LANES or LANES / 2.  The products are summed over a = 0 .. k-1 in
    order, unfused."""
    if not (_lane_arrays_ok(XL, ZT) and XL.ndim == 2 and ZT.ndim == 2):
        return None
    sig = types.void(XL, ZT, types.int64)

    def codegen(context, builder, signature, args):
        k = args[2]
        i64 = ir.IntType(64)
        rows = cgutils.unpack_tuple(builder, context.make_array(signature.args[0])(
            context, builder, args[0]).shape, 2)[0]
        d = builder.sdiv(rows, k)

        def emit(vec):
            xl, zt = _lane_arrays(context, builder, signature, args, (0, 1), vec)
            idx = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))
            acc = cgutils.alloca_once(builder, vec)
            with cgutils.for_range(builder, d) as outer:
                i = outer.index
                with cgutils.for_range_slice(builder, i, d, ir.Constant(i64, 1)) as (j, _):
                    builder.store(ir.Constant(vec, [0.0] * vec.count), acc)
                    with cgutils.for_range(builder, k) as inner:
                        a = inner.index
                        xi = builder.load(builder.gep(xl, [builder.add(builder.mul(i, k), a)]),
                                          align=8)
                        xj = builder.load(builder.gep(xl, [builder.add(builder.mul(j, k), a)]),
                                          align=8)
                        builder.store(builder.fadd(builder.load(acc), builder.fmul(xi, xj)), acc)
                    at = builder.load(idx)
                    builder.store(builder.load(acc), builder.gep(zt, [at]), align=8)
                    builder.store(builder.add(at, ir.Constant(i64, 1)), idx)

        _by_width(builder, cgutils.unpack_tuple(builder, context.make_array(signature.args[1])(
            context, builder, args[1]).shape, 2)[1], emit)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _gram_gradient(typingctx, YTs, c, ZT, XL, GL, factor, loss, k):
    """The losses and gradients of the points in the lanes (LANES or LANES / 2 of them) from
    the product's parts ``YTs`` (SYMMETRIC_PARTS, p, lanes): lane by lane,
    g = (sum of the parts) - c = Q z - c, then

        loss += z . (g - c)       (``loss`` holds |b|^2 on entry: ||S z - b||^2),
        G^L += factor * 4 W X     (``GL`` zero on entry),

    where W is symmetric with W_ii = g_ii and W_ij = g_ij / 2 (packed off-diagonal
    coefficients count twice): the diagonal pair adds (4 factor g_ii) X_i to row i, an
    off-diagonal one (2 factor g_ij) X_j to row i and (2 factor g_ij) X_i to row j, so no
    d x d matrix is formed.  ``factor`` and ``loss`` are (lanes,) arrays; every
    operation is unfused and in the order of a scalar loop over the pairs."""
    if not (_lane_arrays_ok(YTs, ZT, XL, GL, factor, loss) and isinstance(c, types.Array)
            and c.dtype == types.float64 and c.ndim == 1 and YTs.ndim == 3):
        return None
    sig = types.void(YTs, c, ZT, XL, GL, factor, loss, types.int64)

    def codegen(context, builder, signature, args):
        c_arr = context.make_array(signature.args[1])(context, builder, args[1])
        k = args[7]
        i64 = ir.IntType(64)
        p = cgutils.unpack_tuple(builder, c_arr.shape, 1)[0]
        rows = cgutils.unpack_tuple(builder, context.make_array(signature.args[3])(
            context, builder, args[3]).shape, 2)[0]
        d = builder.sdiv(rows, k)

        def emit(vec):
            yts, zt, xl, gl, factor_ptr, loss_ptr = _lane_arrays(
                context, builder, signature, args, (0, 2, 3, 4, 5, 6), vec)
            f = builder.load(factor_ptr, align=8)
            four = builder.fmul(_broadcast(builder, ir.Constant(ir.DoubleType(), 4.0), vec), f)
            two = builder.fmul(_broadcast(builder, ir.Constant(ir.DoubleType(), 2.0), vec), f)
            total = cgutils.alloca_once_value(builder, builder.load(loss_ptr, align=8))
            idx = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))

            def pair(weight):
                """The pair at the current packed index: adds its loss term, returns weight g."""
                at = builder.load(idx)
                y = builder.load(builder.gep(yts, [at]), align=8)
                for part in range(1, SYMMETRIC_PARTS):
                    y = builder.fadd(y, builder.load(builder.gep(yts, [builder.add(
                        at, builder.mul(p, ir.Constant(i64, part)))]), align=8))
                cv = _broadcast(builder, builder.load(builder.gep(c_arr.data, [at])), vec)
                g = builder.fsub(y, cv)
                z = builder.load(builder.gep(zt, [at]), align=8)
                builder.store(builder.fadd(builder.load(total),
                                           builder.fmul(z, builder.fsub(g, cv))), total)
                builder.store(builder.add(at, ir.Constant(i64, 1)), idx)
                return builder.fmul(weight, g)

            def add(row, a, w, x_row):  # G^L[row k + a] += w X^L[x_row k + a]
                ptr = builder.gep(gl, [builder.add(builder.mul(row, k), a)])
                x = builder.load(builder.gep(xl, [builder.add(builder.mul(x_row, k), a)]), align=8)
                builder.store(builder.fadd(builder.load(ptr, align=8), builder.fmul(w, x)), ptr,
                              align=8)

            with cgutils.for_range(builder, d) as outer:
                i = outer.index
                w = pair(four)
                with cgutils.for_range(builder, k) as inner:
                    add(i, inner.index, w, i)
                with cgutils.for_range_slice(builder, builder.add(i, ir.Constant(i64, 1)), d,
                                             ir.Constant(i64, 1)) as (j, _):
                    w = pair(two)
                    with cgutils.for_range(builder, k) as inner:
                        add(i, inner.index, w, j)
                        add(j, inner.index, w, i)
            builder.store(builder.load(total), loss_ptr, align=8)

        _by_width(builder, cgutils.unpack_tuple(builder, context.make_array(signature.args[2])(
            context, builder, args[2]).shape, 2)[1], emit)
        return context.get_dummy_value()

    return sig, codegen


@jit
def completion_logp_grad(x, params, grad_out):
    """logp = -beta sum_e (X_i . X_j - v_e)^2 over observed pairs e = (i, j), i <= j.

    With r_e = X_i . X_j - v_e the loss gradient gets ``2 r_e X_j`` in row i
    and ``2 r_e X_i`` in row j; for i == j the two updates land in the same
    row, giving the ``4 r_e X_i`` of d(X_i . X_i) = 2 X_i, so no branch is
    needed.  The observations are in compressed rows (``indptr`` (d+1,),
    int32 ``cols``): X is copied into rows padded to whole vectors of
    :data:`LANES` doubles (one cache line for k <= 8), and each row's pairs
    stream by :func:`_completion_row`, with X_i and the row's gradient in
    vector registers.  O(|observed| k).
    """
    indptr, cols, values, dk, scale = params
    d, k = dk[0], dk[1]
    n_x = d * k
    blocks = (k + LANES - 1) // LANES
    Xp = _stack_chains(x.reshape((1, x.shape[0])), d, k)  # (d, blocks * LANES)
    Gp = np.zeros_like(Xp)
    loss = 0.0
    for i in range(d):
        loss += _completion_row(Xp, Gp, cols, values, indptr[i], indptr[i + 1], i, blocks)
    beta = _point_beta(x, n_x, scale)
    for i in range(d):
        for c in range(k):
            grad_out[i * k + c] = -beta * Gp[i, c]
    return _log_density(x, n_x, scale, loss, grad_out)
