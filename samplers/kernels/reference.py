"""The reference distribution of a tempering path, compiled: log density, gradient, exact draws.

A reference path (Surjanovic, Syed, Bouchard-Côté and Campbell, "Parallel
tempering with a variational reference", NeurIPS 2022, arXiv 2206.00080)
interpolates between a normalised reference ``q`` and the target ``p``::

    log pi_beta(x) = (1 - beta) log q(x) + beta log p(x),   beta in [0, 1],

so that ``pi_0 = q`` is sampled exactly and ``Z(0) = 1``.  The references
here are Gaussian mixtures (one component: a Gaussian)::

    q(x) = sum_k w_k N(x; m_k, S_k),   S_k = L_k L_k^T  (Cholesky, lower)

kept as :class:`ReferenceArrays`, two arrays (few arrays keep the records the
compiled loop passes around small, and its compilation short): per component
``weights[k] = (log_norm_k, cumulative weight, diagonal)`` with ``log_norm_k = log w_k
- sum_i log L_k[i, i] - (d/2) log 2 pi``, and ``factors[k]`` of shape
``(2 d + 1, d)``: the mean ``m_k`` (row 0), ``L_k`` (rows 1..d) and ``U_k =
L_k^{-1}`` (rows d+1..2d; lower triangular, ``S_k^{-1} = U_k^T U_k``), and
``diagonal`` 1 where ``S_k`` is diagonal (then ``z_k`` and the gradient cost
O(d), not O(d^2): the broad defensive part of the mode-aware reference is
one).  Then with ``z_k = U_k (x - m_k)``::

    log q(x) = logsumexp_k (log_norm_k - |z_k|^2 / 2)
    grad log q(x) = -sum_k r_k(x) U_k^T z_k,   r_k the responsibilities,

accumulated in one pass over the components with a running log-sum-exp.
An exact draw picks ``k`` with probability ``w_k`` and returns ``m_k + L_k
xi``.  ``K = 0`` components means no reference (the classic path ``p^beta``,
where ``log q = 0`` with a zero gradient: a run that has room for a
reference but none yet, such as the discovery phase of ``reference="modes"``,
computes exactly the classic path).
"""
from typing import NamedTuple

import numpy as np

from .._jit import REASSOCIATE, jit
from .._rng import REFERENCE, REFERENCE_PICK, fill_normals, uniform

__all__ = ["ReferenceArrays", "has_reference", "reference_logq_grad", "reference_draw"]


class ReferenceArrays(NamedTuple):
    """A Gaussian-mixture reference of ``K`` components in ``d`` dimensions (``K = 0``: none);
    the properties are the Python side's named views."""
    weights: np.ndarray      # (K, 3): log_norm, cumulative weight (the last exactly 1), diagonal
    factors: np.ndarray      # (K, 2 d + 1, d): mean, L (Cholesky, lower), U = L^{-1}

    @property
    def log_norm(self):
        return self.weights[:, 0]

    @property
    def cum_weights(self):
        return self.weights[:, 1]

    @property
    def diagonal(self):
        return self.weights[:, 2] > 0

    @property
    def mean(self):
        return self.factors[:, 0, :]

    @property
    def chol(self):
        return self.factors[:, 1:self.factors.shape[2] + 1, :]

    @property
    def inv_chol(self):
        return self.factors[:, self.factors.shape[2] + 1:, :]


@jit(inline="always")
def has_reference(ref):
    """Whether ``ref`` has components (a reference path) or is empty (the classic path)."""
    return ref.weights.shape[0] > 0


@jit(fastmath=REASSOCIATE)
def reference_logq_grad(x, ref, grad_out, z):
    """``log q(x)``, its gradient written into ``grad_out``; ``z`` is scratch of length ``d``.

    One pass over the components: ``grad_out`` holds ``sum_k exp(l_k - top)
    g_k`` and ``total`` the matching sum, both rescaled when a larger ``l_k``
    raises ``top``, so no per-component storage is needed.  Both triangular
    products run along rows of ``U_k`` (``z = U_k (x - m_k)`` as row dot
    products, ``U_k^T z`` as row-scaled additions) and reassociated sums
    (``REASSOCIATE``) let them vectorise: at d = 100 a component costs about
    a fifth of the column-wise form (``benchmarks/RESULTS_tempering.md``).
    """
    dim = x.shape[0]
    top = -np.inf
    total = 0.0
    for i in range(dim):
        grad_out[i] = 0.0
    if ref.weights.shape[0] == 0:
        return 0.0  # no reference: log q = 0, the classic path
    inv = dim + 1  # first row of U_k in factors[k]
    for k in range(ref.weights.shape[0]):
        diagonal = ref.weights[k, 2] > 0.0
        sq = 0.0
        for a in range(dim):
            if diagonal:
                acc = ref.factors[k, inv + a, a] * (x[a] - ref.factors[k, 0, a])
            else:
                acc = 0.0
                for b in range(a + 1):
                    acc += ref.factors[k, inv + a, b] * (x[b] - ref.factors[k, 0, b])
            z[a] = acc
            sq += acc * acc
        lk = ref.weights[k, 0] - 0.5 * sq
        if lk > top:
            scale = np.exp(top - lk) if total > 0.0 else 0.0
            total *= scale
            for i in range(dim):
                grad_out[i] *= scale
            top = lk
        weight = np.exp(lk - top)
        total += weight
        # g_k = -U_k^T z_k, added row by row: row a of U_k scaled by z_k[a].
        for a in range(dim):
            wz = weight * z[a]
            if diagonal:
                grad_out[a] -= ref.factors[k, inv + a, a] * wz
            else:
                for b in range(a + 1):
                    grad_out[b] -= ref.factors[k, inv + a, b] * wz
    for i in range(dim):
        grad_out[i] /= total
    return top + np.log(total)


@jit
def reference_draw(ref, key, step, lane, noise, x):
    """An exact draw from ``q`` into ``x``, from the chain's REFERENCE streams at ``step``
    (``lane``: the replica); ``noise`` is scratch of length ``d``."""
    u = uniform(key, step, REFERENCE_PICK, lane)
    k = 0
    last = ref.weights.shape[0] - 1
    while k < last and u >= ref.weights[k, 1]:
        k += 1
    fill_normals(key, step, REFERENCE, lane, noise)
    dim = x.shape[0]
    for a in range(dim):
        acc = ref.factors[k, 0, a]
        for b in range(a + 1):
            acc += ref.factors[k, 1 + a, b] * noise[b]
        x[a] = acc
