"""The reference distribution of a tempering path, compiled: log density, gradient, exact draws.

A reference path (Surjanovic, Syed, Bouchard-Côté and Campbell, "Parallel
tempering with a variational reference", NeurIPS 2022, arXiv 2206.00080)
interpolates between a normalised reference ``q`` and the target ``p``::

    log pi_beta(x) = (1 - beta) log q(x) + beta log p(x),   beta in [0, 1],

so that ``pi_0 = q`` is sampled exactly and ``Z(0) = 1``.  The references
here are Gaussian mixtures (one component: a Gaussian)::

    q(x) = sum_k w_k N(x; m_k, S_k),   S_k = L_k L_k^T  (Cholesky, lower)

kept as :class:`ReferenceArrays`: ``log_norm[k] = log w_k - sum_i log
L_k[i, i] - (d/2) log 2 pi``, the means, ``L_k`` and ``U_k = L_k^{-1}``
(lower triangular, ``S_k^{-1} = U_k^T U_k``).  Then with ``z_k = U_k (x -
m_k)``::

    log q(x) = logsumexp_k (log_norm[k] - |z_k|^2 / 2)
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

from .._jit import jit
from .._rng import REFERENCE, REFERENCE_PICK, fill_normals, uniform

__all__ = ["ReferenceArrays", "has_reference", "reference_logq_grad", "reference_draw"]


class ReferenceArrays(NamedTuple):
    """A Gaussian-mixture reference of ``K`` components in ``d`` dimensions (``K = 0``: none)."""
    log_norm: np.ndarray     # (K,) log w_k - log det L_k - (d/2) log 2 pi
    cum_weights: np.ndarray  # (K,) cumulative weights, the last exactly 1
    mean: np.ndarray         # (K, d)
    chol: np.ndarray         # (K, d, d) L_k, lower triangular
    inv_chol: np.ndarray     # (K, d, d) U_k = L_k^{-1}, lower triangular


@jit(inline="always")
def has_reference(ref):
    """Whether ``ref`` has components (a reference path) or is empty (the classic path)."""
    return ref.log_norm.shape[0] > 0


@jit(inline="always")
def reference_logq_grad(x, ref, grad_out, z):
    """``log q(x)``, its gradient written into ``grad_out``; ``z`` is scratch of length ``d``.

    One pass over the components: ``grad_out`` holds ``sum_k exp(l_k - top)
    g_k`` and ``total`` the matching sum, both rescaled when a larger ``l_k``
    raises ``top``, so no per-component storage is needed.
    """
    dim = x.shape[0]
    top = -np.inf
    total = 0.0
    for i in range(dim):
        grad_out[i] = 0.0
    if ref.log_norm.shape[0] == 0:
        return 0.0  # no reference: log q = 0, the classic path
    for k in range(ref.log_norm.shape[0]):
        sq = 0.0
        for a in range(dim):
            acc = 0.0
            for b in range(a + 1):
                acc += ref.inv_chol[k, a, b] * (x[b] - ref.mean[k, b])
            z[a] = acc
            sq += acc * acc
        lk = ref.log_norm[k] - 0.5 * sq
        if lk > top:
            scale = np.exp(top - lk) if total > 0.0 else 0.0
            total *= scale
            for i in range(dim):
                grad_out[i] *= scale
            top = lk
        weight = np.exp(lk - top)
        total += weight
        # g_k = -U_k^T z_k: column b of U_k (rows a >= b) against z.
        for b in range(dim):
            acc = 0.0
            for a in range(b, dim):
                acc += ref.inv_chol[k, a, b] * z[a]
            grad_out[b] -= weight * acc
    for i in range(dim):
        grad_out[i] /= total
    return top + np.log(total)


@jit(inline="always")
def reference_draw(ref, key, step, lane, noise, x):
    """An exact draw from ``q`` into ``x``, from the chain's REFERENCE streams at ``step``
    (``lane``: the replica); ``noise`` is scratch of length ``d``."""
    u = uniform(key, step, REFERENCE_PICK, lane)
    k = 0
    last = ref.cum_weights.shape[0] - 1
    while k < last and u >= ref.cum_weights[k]:
        k += 1
    fill_normals(key, step, REFERENCE, lane, noise)
    dim = x.shape[0]
    for a in range(dim):
        acc = ref.mean[k, a]
        for b in range(a + 1):
            acc += ref.chol[k, a, b] * noise[b]
        x[a] = acc
