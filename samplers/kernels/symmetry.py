"""Exact moves along a target's symmetry group: ``X -> X O`` with ``O`` Haar on O(k).

For the matrix posteriors p(X) ~ exp(-beta ||A(X X^T) - b||^2), X in R^{d x k}
(Moitra and Risteski 2020, ``samplers.matrix``), p(X O) = p(X) for every
orthogonal k x k matrix O.  The kernel "multiply by a Haar-random O" then
leaves p invariant with no accept/reject: if X ~ p and O ~ Haar
independently, then for fixed O the map X -> X O is linear, volume preserving
and p(X O^T) = p(X), so X O ~ p again.  It moves a chain between the two
connected pieces {X0 R : det R = +1} and {X0 R : det R = -1} of the orbit,
which Langevin alone never crosses.

log p is unchanged and, differentiating p(X O) = p(X), the gradient
transforms as grad log p(X O) = grad log p(X) O, so neither is recomputed.

A Haar O is the Q factor of a k x k standard Gaussian matrix Z = Q R with the
signs fixed so that diag(R) > 0 (Mezzadri 2007, "How to generate random
matrices from the classical compact groups"); Gram-Schmidt produces exactly
that Q.
"""
import numpy as np

from .._jit import jit
from .._rng import SYMMETRY, fill_normals

__all__ = ["haar_orthogonal", "orthogonal_move"]


@jit
def haar_orthogonal(key, step, lane, q):
    """Fill the k x k array ``q`` with a Haar-distributed orthogonal matrix.

    Its columns are the modified Gram-Schmidt orthonormalisation of the
    columns of a Gaussian matrix from the (step, SYMMETRY, lane) stream.
    """
    k = q.shape[0]
    z = np.empty(k * k)
    fill_normals(key, step, SYMMETRY, lane, z)
    for i in range(k):
        for j in range(k):
            q[i, j] = z[i * k + j]
    for j in range(k):
        for prev in range(j):
            dot = 0.0
            for i in range(k):
                dot += q[i, prev] * q[i, j]
            for i in range(k):
                q[i, j] -= dot * q[i, prev]
        norm = 0.0
        for i in range(k):
            norm += q[i, j] * q[i, j]
        norm = np.sqrt(norm)
        for i in range(k):
            q[i, j] /= norm


@jit
def orthogonal_move(x, grad, k, d, key, step, lane, q, row):
    """Replace X by X O and its gradient by grad O, in place (see the module docstring).

    The first ``d * k`` entries of ``x`` and ``grad`` are the C-order flattened
    d x k matrices; entries after them (a sampled log noise level, say) are
    invariant and left alone.  ``q`` (k, k) and ``row`` (k,) are scratch arrays.
    """
    haar_orthogonal(key, step, lane, q)
    for vec in (x, grad):
        for i in range(d):
            base = i * k
            for a in range(k):
                acc = 0.0
                for b in range(k):
                    acc += vec[base + b] * q[b, a]
                row[a] = acc
            for a in range(k):
                vec[base + a] = row[a]
