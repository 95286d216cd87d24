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
the log density ``lp``, returned.  Every transition reports a status:

* ``MOVED_OR_REJECTED``: the proposal was taken (ULA; MALA when accepted) or
  rejected by MALA's test;
* ``OUTSIDE_SUPPORT``: ``log p(y) = -inf``, a proposal outside the support.
  Not a numerical failure: it is rejected, by ULA too (the chain stays);
* ``DIVERGED``: a NaN or ``+inf`` log density, a non-finite gradient, or a
  Metropolis log ratio below ``-DIVERGENCE_LOG_RATIO`` (the discretisation
  error Stan calls a divergence; a ULA chain blowing up geometrically
  reaches it within a few steps, long before its values overflow).  Never
  accepted; the engine freezes a diverged ULA chain.

Every function here is compiled into its caller (``inline="always"``, see
``_jit``): they run once per step, where a call costs as much as their work.
"""
import numpy as np

from .._jit import jit
from .._rng import ACCEPT, NOISE, fill_normals, uniform
from .acceptance import accept_probability

__all__ = ["propose", "log_accept_ratio", "langevin_step", "accept_or_reject", "all_finite", "copy_into",
           "MOVED_OR_REJECTED", "OUTSIDE_SUPPORT", "DIVERGED", "DIVERGENCE_LOG_RATIO"]

#: Transition statuses (see the module docstring).
MOVED_OR_REJECTED, OUTSIDE_SUPPORT, DIVERGED = 0, 1, 2
#: A proposal whose Metropolis log ratio is below minus this diverged: its
#: acceptance probability, exp(-1000), is 0 in float64, and the step is far
#: outside the region where the discretisation is accurate (Stan's threshold).
DIVERGENCE_LOG_RATIO = 1000.0


@jit(inline="always")
def all_finite(value, vector):
    if not np.isfinite(value):
        return False
    for i in range(vector.shape[0]):
        if not np.isfinite(vector[i]):
            return False
    return True


@jit(inline="always")
def copy_into(src, dst):
    """``dst[:] = src`` for vectors, as a loop: numba compiles the slice
    assignment with an overlap check and a copy through a heap buffer."""
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@jit(inline="always")
def propose(x, grad, h, beta, noise, y):
    """Write the proposal ``y = x + h beta grad + sqrt(2h) noise``."""
    scale = np.sqrt(2.0 * h)
    for i in range(x.shape[0]):
        y[i] = x[i] + h * beta * grad[i] + scale * noise[i]


@jit(inline="always")
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


@jit(inline="always")
def langevin_step(logp_grad, params, x, lp, grad, h, beta, metropolis, key, step, lane,
                  noise, y, grad_y):
    """One ULA or MALA transition of one chain, in place.

    Returns ``(lp, accept_prob, status)``: the new log density, the
    Metropolis acceptance probability of the proposal (computed for ULA too,
    where it measures the discretisation error), and the status of the
    transition (module docstring).
    ``lane`` picks the replica's random stream; ``noise``, ``y`` and
    ``grad_y`` are scratch vectors.
    """
    fill_normals(key, step, NOISE, lane, noise)
    propose(x, grad, h, beta, noise, y)
    lp_y = logp_grad(y, params, grad_y)
    return accept_or_reject(x, lp, grad, y, lp_y, grad_y, h, beta, metropolis, key, step, lane)


@jit(inline="always")
def accept_or_reject(x, lp, grad, y, lp_y, grad_y, h, beta, metropolis, key, step, lane):
    """The second half of :func:`langevin_step`, given the proposal ``y``, ``log p(y)``
    and its gradient: MALA's test (ULA takes every proposal that neither left the
    support nor diverged); in place."""
    if lp_y == -np.inf:
        return lp, 0.0, OUTSIDE_SUPPORT
    if not all_finite(lp_y, grad_y):
        return lp, 0.0, DIVERGED
    log_alpha = log_accept_ratio(x, lp, grad, y, lp_y, grad_y, h, beta)
    if log_alpha < -DIVERGENCE_LOG_RATIO:
        return lp, 0.0, DIVERGED
    accept_prob = accept_probability(log_alpha)
    if metropolis and uniform(key, step, ACCEPT, lane) >= accept_prob:
        return lp, accept_prob, MOVED_OR_REJECTED
    copy_into(y, x)
    copy_into(grad_y, grad)
    return lp_y, accept_prob, MOVED_OR_REJECTED
