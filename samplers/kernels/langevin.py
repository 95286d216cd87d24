"""Langevin transitions: ULA and MALA at inverse temperature ``beta``.

Proposal (one Euler-Maruyama step of the overdamped Langevin diffusion for
``p^beta``)::

    y = x + h * beta * grad log p(x) + sqrt(2 h) * xi,      xi ~ N(0, I)

so ``q(y | x) = N(y; x + h beta grad log p(x), 2 h I)``.

* ULA (Roberts and Tweedie 1996) accepts ``y`` always.
* MALA accepts with probability ``min(1, alpha)``::

      log alpha = beta (log p(y) - log p(x)) + log q(x | y) - log q(y | x)
      log q(y | x) = -|y - x - h beta grad log p(x)|^2 / (4 h) + const

A chain's state is three arrays updated in place: the position ``x``, its
gradient ``grad`` (computed once per accepted move and reused on rejection) and
the log density ``lp``, returned.  A proposal with a non-finite log density or
gradient is never accepted: MALA rejects it, and ULA (which has no rejection)
leaves the chain where it was and reports it, so the driver can freeze the
chain.
"""
import numpy as np

from .._jit import jit
from .._rng import ACCEPT, NOISE, fill_normals, uniform
from .weight_preserving import anchor

__all__ = ["propose", "log_accept_ratio", "langevin_step", "all_finite"]


@jit
def all_finite(value, vector):
    if not np.isfinite(value):
        return False
    for i in range(vector.shape[0]):
        if not np.isfinite(vector[i]):
            return False
    return True


@jit
def propose(x, grad, h, beta, noise, y):
    """Write the proposal ``y = x + h beta grad + sqrt(2h) noise``."""
    scale = np.sqrt(2.0 * h)
    for i in range(x.shape[0]):
        y[i] = x[i] + h * beta * grad[i] + scale * noise[i]


@jit
def log_accept_ratio(x, lp_x, grad_x, y, lp_y, grad_y, h, beta):
    """MALA's ``log alpha`` for the move x -> y (see the module docstring)."""
    forward = 0.0   # |y - x - h beta grad(x)|^2
    backward = 0.0  # |x - y - h beta grad(y)|^2
    for i in range(x.shape[0]):
        f = y[i] - x[i] - h * beta * grad_x[i]
        b = x[i] - y[i] - h * beta * grad_y[i]
        forward += f * f
        backward += b * b
    return beta * (lp_y - lp_x) + (forward - backward) / (4.0 * h)


@jit
def langevin_step(logp_grad, params, x, lp, grad, anchor_x, h, beta, anchors, metropolis, key, step,
                  lane, noise, y, grad_y):
    """One ULA or MALA transition of one chain, in place.

    The target is ``beta log p + (1 - beta) a`` with ``a`` the anchor of
    weight-preserving tempering (``kernels.weight_preserving``; ``anchors``
    is its ``(modes, precisions, mode_logp)``, empty for plain tempering,
    where ``a = 0``) and ``anchor_x = a(x)``.  ``a`` is constant within a
    basin, so it changes MALA's ``log alpha`` by ``(1 - beta) (a(y) - a(x))``
    and not the proposal.

    Returns ``(lp, anchor, accept_prob, diverging)``: the new log density and
    anchor, the Metropolis acceptance probability of the proposal (computed
    for ULA too, where it measures the discretisation error and drives
    step-size tuning), and whether the proposal had a non-finite log density
    or gradient.  ``lane`` picks the replica's random stream; ``noise``,
    ``y`` and ``grad_y`` are scratch vectors.
    """
    fill_normals(key, step, NOISE, lane, noise)
    propose(x, grad, h, beta, noise, y)
    lp_y = logp_grad(y, params, grad_y)
    if not all_finite(lp_y, grad_y):
        return lp, anchor_x, 0.0, True
    log_alpha = log_accept_ratio(x, lp, grad, y, lp_y, grad_y, h, beta)
    anchor_y = anchor_x
    if anchors[0].shape[0] > 0:
        anchor_y = anchor(y, anchors[0], anchors[1], anchors[2])
        log_alpha += (1.0 - beta) * (anchor_y - anchor_x)
    accept_prob = 1.0 if log_alpha >= 0.0 else np.exp(log_alpha)
    if np.isnan(accept_prob):
        accept_prob = 0.0
    if metropolis and uniform(key, step, ACCEPT, lane) >= accept_prob:
        return lp, anchor_x, accept_prob, False
    x[:] = y
    grad[:] = grad_y
    return lp_y, anchor_y, accept_prob, False
