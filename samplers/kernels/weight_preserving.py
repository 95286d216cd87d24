"""The anchor of weight-preserving tempering (Tawn, Roberts and Rosenthal 2020).

Plain tempering targets ``p_beta ~ p^beta``.  For a mixture of Gaussians
``sum_k w_k N(m_k, S_k)`` with well separated modes, the mass of mode k in
``p^beta`` is proportional to ``w_k^beta det(S_k)^((1 - beta) / 2)``: at hot
levels the wide modes carry almost everything (in 10-D a mode of scale 0.5
has ~3^-10 the hot mass of one of scale 1.5), so the level walk rarely
brings the chain down into a narrow mode, and simulated tempering mixes
torpidly between modes of unequal scales (Woodard, Schmidler and Huber 2009).

The weight-preserving family ("Weight-preserving simulated tempering",
Tawn, Roberts and Rosenthal, Statistics and Computing 30, 2020) is

    log p_beta(x) = beta log p(x) + (1 - beta) a(x),    a(x) = log p(m_{k(x)}),

where ``m_1..m_K`` are the modes of p (found by optimisation during
warm-up) and ``k(x)`` the mode whose Laplace approximation explains ``x``
best::

    k(x) = argmax_k  log p(m_k) - (x - m_k)^T P_k (x - m_k) / 2,

with ``P_k`` the Hessian of ``-log p`` at ``m_k``.  For Gaussian components
``p(m_k) ~ w_k det(S_k)^(-1/2)``, so the mass of mode k in ``p_beta`` is
proportional to ``w_k`` at every level: the hot levels keep the weights.
``a`` is constant on each basin, so the Langevin drift within a level is
unchanged (``beta grad log p``), while MALA's acceptance and the level moves
use the full ``log p_beta``.  At beta = 1 the anchor drops out: the draws at
the top level are exact whatever modes were found (they only affect speed).
"""
import numpy as np

from .._jit import jit

__all__ = ["anchor"]


@jit
def anchor(x, modes, precisions, mode_logp):
    """``a(x) = log p(m_k(x))`` (module docstring); 0 when no modes are given."""
    n_modes, dim = modes.shape
    best = -np.inf
    value = 0.0
    for k in range(n_modes):
        quad = 0.0
        for i in range(dim):
            row = 0.0
            for j in range(dim):
                row += precisions[k, i, j] * (x[j] - modes[k, j])
            quad += (x[i] - modes[k, i]) * row
        score = mode_logp[k] - 0.5 * quad
        if score > best or k == 0:
            best = score
            value = mode_logp[k]
    return value
