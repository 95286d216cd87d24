"""Langevin transitions: ULA and MALA at inverse temperature ``beta``.

The level's density is ``pi_beta(x) ∝ q(x)^(1 - beta) p(x)^beta``: on the
classic path ``q = 1`` (``p^beta``); on a reference path ``q`` is a
normalised reference (``kernels.reference``).  Proposal (one Euler-Maruyama
step of the overdamped Langevin diffusion for ``pi_beta``)::

    y = x + h * g_beta(x) + sqrt(2 h) * xi,      xi ~ N(0, I)
    g_beta = beta grad log p + (1 - beta) grad log q

so ``Q(y | x) = N(y; x + h g_beta(x), 2 h I)``.

* ULA (Roberts and Tweedie 1996) accepts ``y`` always.
* MALA accepts with probability ``min(1, alpha)``::

      log alpha = beta (log p(y) - log p(x)) + (1 - beta) (log q(y) - log q(x))
                  + log Q(x | y) - log Q(y | x)
      log Q(y | x) = -|y - x - h g_beta(x)|^2 / (4 h) + const

A chain's state is updated in place: the position ``x``, the gradients
``grad`` of log p and ``grad_q`` of log q (computed once per accepted move
and reused on rejection; ``grad_q`` is empty on the classic path, where
its terms are skipped, so that path's arithmetic is exactly ``p^beta``'s),
and the log densities ``lp`` and ``lq``, returned.  Every transition
reports a status:

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
def propose(x, grad, grad_q, h, beta, noise, y):
    """Write the proposal ``y = x + h g_beta(x) + sqrt(2h) noise`` (module docstring)."""
    scale = np.sqrt(2.0 * h)
    for i in range(x.shape[0]):
        y[i] = x[i] + h * beta * grad[i] + scale * noise[i]
    if grad_q.shape[0] > 0:
        for i in range(x.shape[0]):
            y[i] += h * (1.0 - beta) * grad_q[i]


@jit(inline="always")
def log_accept_ratio(x, lp_x, lq_x, grad_x, gq_x, y, lp_y, lq_y, grad_y, gq_y, h, beta):
    """MALA's ``log alpha`` for the move x -> y (see the module docstring)."""
    if gq_x.shape[0] > 0:  # a reference path
        return ((1.0 - beta) * (lq_y - lq_x)
                + _log_accept_ratio(x, lp_x, grad_x, gq_x, y, lp_y, grad_y, gq_y, h, beta, True))
    return _log_accept_ratio(x, lp_x, grad_x, gq_x, y, lp_y, grad_y, gq_y, h, beta, False)


@jit(inline="always")
def _log_accept_ratio(x, lp_x, grad_x, gq_x, y, lp_y, grad_y, gq_y, h, beta, path):
    """The part of :func:`log_accept_ratio` from log p and the proposal densities; ``path``
    a compile-time constant at each call, so the classic path's loop has no reference
    terms (inlined twice, a loop without a branch per coordinate)."""
    forward = 0.0   # |y - x - h g_beta(x)|^2
    backward = 0.0  # |x - y - h g_beta(y)|^2
    for i in range(x.shape[0]):
        f = y[i] - x[i] - h * beta * grad_x[i]
        b = x[i] - y[i] - h * beta * grad_y[i]
        if path:
            f -= h * (1.0 - beta) * gq_x[i]
            b -= h * (1.0 - beta) * gq_y[i]
        forward += f * f
        backward += b * b
    return beta * (lp_y - lp_x) + (forward - backward) / (4.0 * h)


@jit(inline="always")
def langevin_step(logp_grad, params, logq_grad, ref, x, lp, lq, grad, grad_q, h, beta, metropolis,
                  key, step, lane, noise, y, grad_y, gq_y):
    """One ULA or MALA transition of one chain at level ``beta``, in place.

    Returns ``(lp, lq, accept_prob, status)``: the new log densities of p and
    of the reference (0 on the classic path), the Metropolis acceptance
    probability of the proposal (computed for ULA too, where it measures the
    discretisation error), and the status of the transition (module
    docstring).  ``ref`` is the path's reference (``kernels.reference``;
    empty on the classic path, with ``grad_q`` and ``gq_y`` empty too), and
    ``logq_grad(weights, factors, y, grad_out, scratch)`` its log density
    (:func:`kernels.reference.reference_logq_grad` on its arrays), passed as
    a function so that a caller compiled for the classic path alone need not
    compile it.
    ``lane`` picks the replica's random stream; ``noise``, ``y``,
    ``grad_y`` and ``gq_y`` are scratch vectors.
    """
    fill_normals(key, step, NOISE, lane, noise)
    propose(x, grad, grad_q, h, beta, noise, y)
    lp_y = logp_grad(y, params, grad_y)
    lq_y = 0.0
    if grad_q.shape[0] > 0:
        lq_y = logq_grad(ref.weights, ref.factors, y, gq_y, noise)  # noise is spent: scratch
    lp, lq, accept, status = accept_or_reject(x, lp, lq, grad, grad_q, y, lp_y, lq_y, grad_y,
                                              gq_y, h, beta, metropolis, key, step, lane)
    return lp, lq, accept, status


@jit(inline="always")
def accept_or_reject(x, lp, lq, grad, grad_q, y, lp_y, lq_y, grad_y, gq_y, h, beta, metropolis,
                     key, step, lane):
    """The second half of :func:`langevin_step`, given the proposal ``y``, its log
    densities and gradients: MALA's test (ULA takes every proposal that neither left
    the support nor diverged); in place."""
    if lp_y == -np.inf:
        return lp, lq, 0.0, OUTSIDE_SUPPORT
    if not all_finite(lp_y, grad_y):
        return lp, lq, 0.0, DIVERGED
    log_alpha = log_accept_ratio(x, lp, lq, grad, grad_q, y, lp_y, lq_y, grad_y, gq_y, h, beta)
    if log_alpha < -DIVERGENCE_LOG_RATIO:
        return lp, lq, 0.0, DIVERGED
    accept_prob = accept_probability(log_alpha)
    if metropolis and uniform(key, step, ACCEPT, lane) >= accept_prob:
        return lp, lq, accept_prob, MOVED_OR_REJECTED
    copy_into(y, x)
    copy_into(grad_y, grad)
    copy_into(gq_y, grad_q)
    return lp_y, lq_y, accept_prob, MOVED_OR_REJECTED
