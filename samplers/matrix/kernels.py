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

Shared pieces are small compiled helpers, so that the per-point and batched
sensing evaluators differ only in gemv versus gemm.
"""
import numpy as np

from .._jit import REASSOCIATE, jit

__all__ = ["factorization_logp_grad", "sensing_logp_grad", "sensing_logp_grad_batch",
           "sensing_gram_logp_grad", "sensing_gram_logp_grad_batch", "completion_logp_grad"]


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


@jit
def factorization_logp_grad(x, params, grad_out):
    """logp = -beta ||X X^T - M||_F^2, grad = -4 beta (X X^T - M) X (M symmetric).

    O(d^2 k): one d x d residual, then one (d x d)(d x k) product into ``grad_out``.
    """
    M, dk, scale = params
    d, k = dk[0], dk[1]
    X = x.reshape((d, k))
    R = np.dot(X, X.T)
    R -= M
    loss = _sum_squares(R.reshape(d * d))
    np.dot(R, X, grad_out.reshape((d, k)))
    _scale_into(grad_out, -4.0 * scale[0])
    return -scale[0] * loss


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
        _pack_gram(xs[c].reshape((d, k)), P[c])
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
    R = np.dot(P, s_packed.T)
    for c in range(n):
        R[c] -= b
        lp_out[c] = -scale[0] * _sum_squares(R[c])
    G = np.dot(R, s_packed)
    for c in range(n):
        _unpack_grad(G[c], xs[c].reshape((d, k)), grad_out[c].reshape((d, k)), -scale[0])


@jit
def sensing_gram_logp_grad_batch(xs, params, grad_out, lp_out):
    """:func:`sensing_logp_grad_batch` through the normal equations, for m > p.

    With Q = S^T S (p x p), c = S^T b and |b|^2:  S^T r = Q z - c and
    ||S z - b||^2 = z . (Q z - 2 c) + |b|^2, one (n x p)(p x p) product
    instead of two (n x m)(m x p) ones.  The cancellation in the loss costs
    about eps |b|^2 in absolute terms (1e-12 for the benchmark problem), far
    below any difference of log densities that matters.
    ``params = (Q, c, [|b|^2], dk, scale)``.
    """
    gram, c, bb, dk, scale = params
    d, k = dk[0], dk[1]
    n = xs.shape[0]
    P = _pack_grams(xs, d, k, gram.shape[1])
    G = np.dot(P, gram)  # Q is symmetric: row c of G is Q z_c
    for row in range(n):
        G[row] -= c
        lp_out[row] = -scale[0] * _gram_loss(P[row], G[row], c, bb[0])
        _unpack_grad(G[row], xs[row].reshape((d, k)), grad_out[row].reshape((d, k)), -scale[0])


@jit
def _gram_loss(z, g, c, bb):
    """||S z - b||^2 = z . (g - c) + |b|^2 where g = Q z - c."""
    total = bb
    for i in range(z.shape[0]):
        total += z[i] * (g[i] - c[i])
    return max(total, 0.0)


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


@jit
def sensing_gram_logp_grad(x, params, grad_out):
    """One point of :func:`sensing_gram_logp_grad_batch`."""
    return _one_point(sensing_gram_logp_grad_batch, x, params, grad_out)


@jit(fastmath=REASSOCIATE)  # vectorised k-sums: 9% faster at k = 5
def completion_logp_grad(x, params, grad_out):
    """logp = -beta sum_e (X_i . X_j - v_e)^2 over observed pairs e = (i, j), i <= j.

    With r_e = X_i . X_j - v_e the loss gradient gets ``2 r_e X_j`` in row i
    and ``2 r_e X_i`` in row j; for i == j the two updates land in the same
    row, giving the ``4 r_e X_i`` of d(X_i . X_i) = 2 X_i, so no branch is
    needed.  The observations are in compressed rows (``indptr`` (d+1,),
    int32 ``cols``): row i of X and its gradient accumulator stay in
    registers/L1 while the pairs (i, j) stream by.  O(|observed| k).
    """
    indptr, cols, values, dk, scale = params
    d, k = dk[0], dk[1]
    X = x.reshape((d, k))
    G = grad_out.reshape((d, k))
    for i in range(d):
        for c in range(k):
            G[i, c] = 0.0
    gi = np.empty(k)
    loss = 0.0
    for i in range(d):
        for c in range(k):
            gi[c] = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            j = cols[e]
            acc = 0.0
            for c in range(k):
                acc += X[i, c] * X[j, c]
            r = acc - values[e]
            loss += r * r
            w = 2.0 * r
            for c in range(k):
                gi[c] += w * X[j, c]
                G[j, c] += w * X[i, c]
        for c in range(k):
            G[i, c] += gi[c]
    _scale_into(grad_out, -scale[0])
    return -scale[0] * loss
