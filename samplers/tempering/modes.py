"""The mode-aware reference: modes found by L-BFGS, Laplace approximations, a defensive part.

``reference="modes"`` builds the reference ``q`` of a reference path
(``tempering.reference``) from what the run has found:

* **discovery**: L-BFGS on ``-log p`` from the chains' states (the initial
  points, then the replicas of every level after each warm-up round);
  a start already inside a known mode's ellipse (``|U_k (x - m_k)|^2`` below
  the chi-square ``d + 3 sqrt(2 d)``) is skipped, and a result closer than one
  standard deviation (Mahalanobis, under either mode's covariance) to a known
  mode is the same mode;
* **Laplace**: at a mode ``m`` the covariance is ``S = H^{-1}``, ``H`` the
  Hessian of ``-log p`` by central differences of the gradient; its mass is
  ``p(m) (2 pi)^{d/2} |S|^{1/2}`` (exact for a Gaussian).  A point is a mode
  only if ``H`` is positive definite and the Newton step ``S grad log p(m)``
  is below ``NEWTON_TOLERANCE`` standard deviations (where L-BFGS stops in a
  flat heavy tail, it is not);
* **reference**: ``q = (1 - delta) sum_k w_k N(m_k, S_k) + delta N(mu, V)``
  with ``w_k`` proportional to the Laplace masses and a broad *defensive*
  Gaussian (``delta = DEFENSIVE_WEIGHT``; ``mu`` and the diagonal ``V`` from
  the median and median absolute deviation of the chains' states, the spread
  of the modes and their variances, inflated by ``BROAD_INFLATION``) so that regions not yet discovered stay reachable from
  the reference.  The path corrects a poor Laplace fit (a heavy-tailed mode):
  the reference only needs to overlap the target.

The Laplace masses also give the evidence guess ``log Z ≈ logsumexp_k log
mass_k`` with which simulated tempering starts its weights.
"""
from typing import NamedTuple

import numpy as np

from .reference import reference_arrays

__all__ = ["Mode", "climb", "laplace", "discover", "mode_reference", "mode_table", "spread",
           "laplace_weights", "DEFENSIVE_WEIGHT",
           "BROAD_INFLATION", "CLIMB_ITERATIONS", "MAX_CLIMBS"]

#: Weight of the broad defensive component of the mode-aware reference.
DEFENSIVE_WEIGHT = 0.5
#: Variance of the defensive component, as a multiple of the states' spread.
BROAD_INFLATION = 4.0
#: L-BFGS iterations per climb.
CLIMB_ITERATIONS = 200
#: Climbs per discovery (the starts farthest from known modes first).
MAX_CLIMBS = 32
#: Replicas farther than this many times the spread of the starts and modes (``spread``)
#: from their centre have run off (improper hot levels of the classic path).
RUNAWAY = 100.0
#: A mode is accepted when its Newton step is below this many standard deviations.
NEWTON_TOLERANCE = 0.1

_LOG_2PI = float(np.log(2.0 * np.pi))


class Mode(NamedTuple):
    """A local maximum of log p and its Laplace approximation."""
    location: np.ndarray   # (d,)
    log_p: float           # log p at the mode
    cov: np.ndarray        # (d, d) inverse Hessian of -log p
    log_mass: float        # log p(m) + (d/2) log 2 pi + log det(cov) / 2


def climb(target, x0, maxiter=CLIMB_ITERATIONS):
    """L-BFGS on ``-log p`` from ``x0``: ``(x, log p(x), converged)``."""
    from scipy.optimize import minimize

    def negative(x):
        value, grad = target.logp_and_grad(x)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return np.inf, np.zeros_like(x)  # L-BFGS backtracks from non-finite values
        return -value, -grad

    with np.errstate(all="ignore"):
        result = minimize(negative, np.asarray(x0, dtype=np.float64), jac=True,
                          method="L-BFGS-B", options={"maxiter": maxiter})
    value = -float(result.fun)
    grad_norm = float(np.max(np.abs(result.jac))) if np.all(np.isfinite(result.jac)) else np.inf
    converged = bool(np.isfinite(value)) and grad_norm <= 1e-4 * max(1.0, abs(value))
    return np.asarray(result.x, dtype=np.float64), value, converged


def laplace(target, m, log_p):
    """The :class:`Mode` at ``m`` (a local maximum, ``log_p = log p(m)``), or ``None`` when
    the Hessian of ``-log p`` there is not positive definite (a saddle or a flat ridge)."""
    d = m.size
    h = np.empty((d, d))
    for i in range(d):
        step = 1e-4 * max(1.0, abs(m[i]))
        e = np.zeros(d)
        e[i] = step
        _, g_plus = target.logp_and_grad(m + e)
        _, g_minus = target.logp_and_grad(m - e)
        h[i] = -(g_plus - g_minus) / (2.0 * step)
    h = 0.5 * (h + h.T)
    if not np.all(np.isfinite(h)):
        return None
    eig, vec = np.linalg.eigh(h)
    if eig[0] <= 1e-10 * max(eig[-1], 0.0) or eig[-1] <= 0.0:
        return None
    cov = (vec / eig) @ vec.T
    cov = 0.5 * (cov + cov.T)
    # A stationary point, not just where L-BFGS stopped (in a heavy tail the
    # gradient is small and flat far from any mode): the Newton step
    # S grad log p must be a small fraction of the mode's own scale.
    _, grad = target.logp_and_grad(m)
    if not np.all(np.isfinite(grad)) or float(grad @ cov @ grad) > NEWTON_TOLERANCE ** 2:
        return None
    log_mass = log_p + 0.5 * d * _LOG_2PI - 0.5 * float(np.sum(np.log(eig)))
    return Mode(m, float(log_p), cov, float(log_mass))


def _mahalanobis2(mode, x):
    """``(x - m)^T S^{-1} (x - m)`` for the rows of ``x`` under ``mode``."""
    r = np.atleast_2d(x) - mode.location
    return np.einsum("na,na->n", r, np.linalg.solve(mode.cov, r.T).T)


def discover(target, points, modes, max_climbs=MAX_CLIMBS):
    """The known ``modes`` plus those L-BFGS finds from ``points`` (n, d).

    Points inside a known mode's ellipse are skipped; of the others at most
    ``max_climbs`` are climbed, the farthest from the known modes first.
    Returns ``(modes, climbs)``.
    """
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    points = points[np.all(np.isfinite(points), axis=1)]
    d = points.shape[1]
    inside = d + 3.0 * np.sqrt(2.0 * d)
    modes = list(modes)
    if modes:
        distance = np.min([_mahalanobis2(mode, points) for mode in modes], axis=0)
        order = np.argsort(-distance)
        candidates = points[order][distance[order] > inside]
    else:
        candidates = points
    climbs = 0
    for x0 in candidates:
        if climbs >= max_climbs:
            break
        if modes and min(_mahalanobis2(mode, x0)[0] for mode in modes) <= inside:
            continue  # an earlier climb found this start's mode
        climbs += 1
        m, log_p, converged = climb(target, x0)
        if not converged:
            continue
        if any(_mahalanobis2(mode, m)[0] < 1.0 for mode in modes):
            continue
        mode = laplace(target, m, log_p)
        if mode is None or any(_mahalanobis2(mode, known.location)[0] < 1.0 for known in modes):
            continue
        modes.append(mode)
    return modes, climbs


def mode_reference(modes, points, defensive=DEFENSIVE_WEIGHT, seen=None):
    """The arrays of ``(1 - defensive) sum_k w_k N(m_k, S_k) + defensive N(mu, V)``
    (module docstring); only the defensive part when no mode is known.  ``seen``: a
    floor for ``V`` before inflation (the widest spread the run has seen)."""
    mu, var = spread(points, modes)
    if seen is not None:
        var = np.maximum(var, seen)
    var = BROAD_INFLATION * np.maximum(var, 1e-8 * max(1.0, float(np.max(var))))
    means = [mu]
    covs = [np.diag(var)]
    weights = [1.0]
    if modes:
        w = (1.0 - defensive) * laplace_weights(modes)
        means += [mode.location for mode in modes]
        covs += [mode.cov for mode in modes]
        weights = [defensive] + list(w)
    return reference_arrays(np.array(means), np.array(covs), np.array(weights),
                            name="reference='modes'")


def laplace_weights(modes):
    """The modes' Laplace masses ``p(m) |2 pi S|^(1/2)``, normalised to sum to 1."""
    log_mass = np.array([mode.log_mass for mode in modes])
    w = np.exp(log_mass - log_mass.max())
    return w / w.sum()


def spread(points, modes):
    """Centre and per-coordinate variance of the region the run has seen: the median and
    (squared, normal-consistent) median absolute deviation of ``points``, widened to the
    spread of the modes and their own variances.  Robust: on heavy tails some replicas
    run far off, and a plain variance would follow them."""
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    points = points[np.all(np.isfinite(points), axis=1)]
    mu = np.median(points, axis=0)
    var = (1.4826 * np.median(np.abs(points - mu), axis=0)) ** 2
    if modes:
        locations = np.array([mode.location for mode in modes])
        mu = np.median(np.concatenate([locations, mu[None]]), axis=0)
        var = np.maximum(var, np.mean((locations - mu) ** 2, axis=0))
        for mode in modes:
            var = np.maximum(var, np.diagonal(mode.cov))
    return mu, var


def mode_table(modes, draws):
    """The ``tempering`` group's mode variables (``inference_data.TemperingVar.MODES``):
    location, log p, Laplace weight (normalised Laplace mass) and occupancy, the
    fraction of the beta = 1 ``draws`` (n, d) whose nearest mode, in the Mahalanobis
    distance of each mode's Laplace covariance, is that mode."""
    from ..inference_data import TemperingVar as V

    if not modes:
        return {}
    draws = np.asarray(draws, dtype=np.float64).reshape(-1, modes[0].location.size)
    distance = np.array([_mahalanobis2(mode, draws) for mode in modes])
    nearest = np.argmin(distance, axis=0)
    occupancy = np.bincount(nearest, minlength=len(modes)) / max(nearest.size, 1)
    return {V.MODE_LOCATION: (("mode", "mode_dim"), np.array([m.location for m in modes])),
            V.MODE_LOG_P: (("mode",), np.array([m.log_p for m in modes])),
            V.MODE_LAPLACE_WEIGHT: (("mode",), laplace_weights(modes)),
            V.MODE_OCCUPANCY: (("mode",), occupancy)}


def log_evidence_guess(modes):
    """``logsumexp_k log mass_k``: the Laplace estimate of ``log integral of p`` (None without modes)."""
    if not modes:
        return None
    log_mass = np.array([mode.log_mass for mode in modes])
    top = log_mass.max()
    return float(top + np.log(np.exp(log_mass - top).sum()))
