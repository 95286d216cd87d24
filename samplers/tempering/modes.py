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
  only if ``H`` is positive definite, the Newton step ``S grad log p(m)``
  is below ``NEWTON_TOLERANCE`` standard deviations (where L-BFGS stops in a
  flat heavy tail, it is not) and log p one sd away along the widest
  direction of ``S`` falls by at most ``LAPLACE_DROP`` (on a curved ridge,
  a ring, it falls by far more);
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

__all__ = ["Mode", "climb", "laplace", "ascend", "discover", "search_starts", "survey",
           "mode_reference", "defensive", "search_box", "discovery_message", "mode_table", "occupancy_message", "spread",
           "laplace_weights", "OCCUPANCY_FACTOR", "OCCUPANCY_SE",
           "inside_bound", "DEFENSIVE_WEIGHT", "BROAD_INFLATION", "CLIMB_ITERATIONS",
           "MAX_POLISH"]

#: ``occupancy_message``: a mode's beta = 1 occupancy and Laplace weight disagree when their
#: ratio (each plus ``OCCUPANCY_FLOOR``) is beyond this factor either way...
OCCUPANCY_FACTOR = 10.0
#: ... and they differ by more than this many standard errors of the occupancy.
OCCUPANCY_SE = 5.0
#: Added to occupancy and weight before their ratio: modes below a few percent either way
#: are not judged (their Laplace weights are the least reliable and their occupancy noisy).
OCCUPANCY_FLOOR = 0.02
#: Weight of the broad defensive component of the mode-aware reference.
DEFENSIVE_WEIGHT = 0.5
#: Variance of the defensive component, as a multiple of the states' spread.
BROAD_INFLATION = 4.0
#: L-BFGS iterations per climb.
CLIMB_ITERATIONS = 200
#: End points of the compiled ascent polished by L-BFGS per discovery (the highest first).
MAX_POLISH = 32
#: Target evaluations per climb of the compiled ascent (``kernels.ascent``).
ASCENT_EVALS = 200
#: The ascent has stalled when its step is below this fraction of ``max(1, max |x_i|)``.
ASCENT_TOLERANCE = 1e-6
#: The ascent's first step, as a fraction of the root-mean-square defensive sd.
ASCENT_LENGTH = 0.1
#: Range of the log-uniform sd multiplier of the defensive Gaussian in ``search_starts``.
SEARCH_SCALES = (0.5, 2.0)
#: Range of the log-uniform sd multiplier of a known mode's Laplace Gaussian in ``search_starts``.
MODE_SCALES = (2.0, 8.0)
#: Range of the log-uniform multiplier of the half-widths of the bounding box of the
#: starts and the modes found (``search_box``) in ``search_starts``.
BOX_SCALES = (1.25, 4.0)
#: Starts drawn and climbed at a time by ``survey``, at most: fewer in high dimension, so
#: that a chunk's positions (and the ascent's copies of them) stay within SEARCH_BYTES.
SEARCH_CHUNK = 16384
#: Bytes of one chunk of starts (64 MB: 16,384 starts up to d = 512).
SEARCH_BYTES = 1 << 26
#: Replicas farther than this many times the spread of the starts and modes (``spread``)
#: from their centre have run off (improper hot levels of the classic path).
RUNAWAY = 100.0
#: A mode is accepted when its Newton step is below this many standard deviations.
NEWTON_TOLERANCE = 0.1
#: A mode is accepted when log p one Laplace sd away along its widest direction falls by
#: at most this much (a Gaussian: 1/2; a Student-t or a banana's mode: below 3).
LAPLACE_DROP = 5.0

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
    # A peak, not a point on a curved ridge: on a ring the curvature along the tangent is
    # ~0 and S there thousands of times too wide (sd 4,600 on a ring of radius 3), so that
    # one sd along it, log p falls by far more than a Gaussian's 1/2.  A side beyond the
    # support (-inf) says nothing about the width: only finite values count.
    widest = vec[:, 0] / np.sqrt(eig[0])
    for side in (1.0, -1.0):
        value, _ = target.logp_and_grad(m + side * widest)
        if np.isfinite(value) and log_p - value > LAPLACE_DROP:
            return None
    log_mass = log_p + 0.5 * d * _LOG_2PI - 0.5 * float(np.sum(np.log(eig)))
    return Mode(m, float(log_p), cov, float(log_mass))


def _mahalanobis2(mode, x):
    """``(x - m)^T S^{-1} (x - m)`` for the rows of ``x`` under ``mode``."""
    r = np.atleast_2d(x) - mode.location
    return np.einsum("na,na->n", r, np.linalg.solve(mode.cov, r.T).T)


def inside_bound(d):
    """The chi-square bound ``d + 3 sqrt(2 d)`` of a mode's ellipse: a point with
    ``|U_k (x - m_k)|^2`` below it is in mode ``k`` (the 99.9th percentile for d >= 2)."""
    return d + 3.0 * np.sqrt(2.0 * d)


def ascend(target, starts, modes, length, max_evals=ASCENT_EVALS, budget=None):
    """The compiled ascent (``kernels.ascent``) from the rows of ``starts`` (n, d), stopping
    in the ellipses of the known ``modes``; at most ``budget`` target evaluations (the climb
    that crosses it finishes).  Returns ``(x, log p, status, n_climbed, evaluations)``."""
    from ..engine.compile import _resolve, compile_for
    from ..kernels.ascent import ascend as kernel
    from ..targets.interface import call_target

    starts = np.ascontiguousarray(starts, dtype=np.float64)
    n, d = starts.shape
    factors = (reference_arrays(np.array([m.location for m in modes]),
                                np.array([m.cov for m in modes]), np.ones(len(modes))).factors
               if modes else np.zeros((0, 2 * d + 1, d)))
    x = np.empty_like(starts)
    lp = np.empty(n)
    status = np.empty(n, dtype=np.int64)
    which = np.empty(n, dtype=np.int64)
    limit = np.iinfo(np.int64).max if budget is None else int(budget)
    args = (starts, factors, float(inside_bound(d)), float(length), int(max_evals),
            ASCENT_TOLERANCE, limit, x, lp, status, which)
    compiled, signatures = compile_for(kernel, target, args)
    climbed, evals = compiled(_resolve(call_target, signatures[0]), target.handle(), *args)
    target.raise_python_error()
    return x[:climbed], lp[:climbed], status[:climbed], int(climbed), int(evals)


def discover(target, starts, modes, length, budget=None, max_polish=MAX_POLISH):
    """The known ``modes`` plus those found from the rows of ``starts``.

    Every start is climbed by the compiled ascent (:func:`ascend`; a climb that
    enters a known mode's ellipse stops there); the end points outside every known
    ellipse are polished by L-BFGS (:func:`climb`) and kept when :func:`laplace` finds a
    mode there: the highest first, at most ``max_polish``, skipping those inside the
    ellipse of a mode found meanwhile.  Returns ``(modes, climbs, evaluations)``.
    """
    from ..kernels.ascent import FAILED, KNOWN

    starts = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    starts = starts[np.all(np.isfinite(starts), axis=1)]
    modes = list(modes)
    if starts.shape[0] == 0:
        return modes, 0, 0
    x, lp, status, climbed, evals = ascend(target, starts, modes, length, budget=budget)
    keep = (status != KNOWN) & (status != FAILED) & np.isfinite(lp)
    x, lp = x[keep], lp[keep]
    bound = inside_bound(starts.shape[1])
    polished = 0
    for i in np.argsort(-lp, kind="stable"):
        if polished >= max_polish:
            break
        if any(_mahalanobis2(mode, x[i])[0] <= bound for mode in modes):
            continue  # a mode found from an earlier end point
        polished += 1
        m, log_p, converged = climb(target, x[i])
        if not converged:
            continue
        if any(_mahalanobis2(mode, m)[0] < 1.0 for mode in modes):
            continue
        mode = laplace(target, m, log_p)
        if mode is None or any(_mahalanobis2(mode, known.location)[0] < 1.0 for known in modes):
            continue
        modes.append(mode)
    return modes, climbed, evals


def search_box(points, modes):
    """``(centre, half-widths)``: the bounding box of ``points`` (n, d) and the modes'
    locations."""
    points = np.vstack([points] + [mode.location[None] for mode in modes])
    lo, hi = points.min(axis=0), points.max(axis=0)
    return 0.5 * (lo + hi), 0.5 * (hi - lo)


def search_starts(rng, n, modes, regions, box=None):
    """``n`` starts for discovery: exact draws of a widened version of the reference.

    Each start comes, with equal probabilities, from one of the broad Gaussians
    ``regions`` (pairs ``(mu, var)``, diagonal: the reference's defensive part, the
    region of the run's starts) as ``N(mu, s^2 diag(var))``, uniformly from the box
    ``box`` (``(centre, half-widths)``, from :func:`search_box`) with its half-widths
    times ``s``, or (when modes are known) from ``N(m_k, s^2 S_k)`` around a known mode
    picked uniformly (every mode alike: a missed mode may lie next to a light one).  The
    scale ``s`` is log-uniform on ``SEARCH_SCALES`` (regions), ``BOX_SCALES`` (the box)
    and ``MODE_SCALES`` (modes): a scale mixture, so that the region between the modes
    and the neighbourhood of each are covered whatever their sizes.  The box reaches the
    corners of the region that Gaussian draws in several dimensions miss (they
    concentrate on a shell): on issue 12's 8-D heavy-tailed mixture
    (``tests/tempering/heavy_mixture.py``) a climb from the box of uniform starts found
    the sd-0.5 mode (1 to 5.5) e-5 of the time, from the Gaussians (0 to 5) e-6; scales
    up to 4 reach a light narrow mode in the far corner of a 5-D mixture (2e-4 against 0
    with the box inflated by 1.25 only).
    """
    d = regions[0][0].size
    z = rng.standard_normal((n, d))
    n_boxes = 0 if box is None else 1
    sources = len(regions) + n_boxes + (1 if modes else 0)
    source = rng.integers(0, sources, n)
    near = source == len(regions) + n_boxes
    scale = np.exp(rng.uniform(*np.log(SEARCH_SCALES), n))
    scale[near] = np.exp(rng.uniform(*np.log(MODE_SCALES), int(near.sum())))
    boxed = source == len(regions) if box is not None else np.zeros(n, dtype=bool)
    scale[boxed] = np.exp(rng.uniform(*np.log(BOX_SCALES), int(boxed.sum())))
    out = np.empty((n, d))
    for j, (mu, var) in enumerate(regions):
        rows = source == j
        out[rows] = mu + scale[rows, None] * np.sqrt(var) * z[rows]
    if box is not None:
        out[boxed] = box[0] + scale[boxed, None] * box[1] * rng.uniform(
            -1.0, 1.0, (int(boxed.sum()), d))
    if modes:
        pick = rng.integers(0, len(modes), n)
        for k, mode in enumerate(modes):
            rows = near & (pick == k)
            out[rows] = mode.location + scale[rows, None] * (z[rows] @ np.linalg.cholesky(mode.cov).T)
    return out


def survey(target, rng, starts, modes, points, seen, region, told, budget):
    """Discovery with a budget of ``budget`` target evaluations: :func:`discover` from
    ``starts`` (the chains' states), then from :func:`search_starts` in chunks of
    ``SEARCH_CHUNK`` starts (fewer where they would take more than ``SEARCH_BYTES``) until
    the budget is spent, each chunk around the modes known by
    then (and stopping early in them); its broad Gaussians are the :func:`defensive`
    one of ``points`` and ``seen`` and ``region`` (``(mu, var)``: where the run started),
    its box the :func:`search_box` of ``told`` (the points where the run was told to
    look) and the modes.  Returns ``(modes, climbs, evaluations)``."""
    mu, var = defensive(modes, points, seen)
    length = ASCENT_LENGTH * float(np.sqrt(np.mean(var)))
    modes, climbs, spent = discover(target, starts, modes, length)
    chunk = max(1, min(SEARCH_CHUNK, SEARCH_BYTES // (8 * mu.size)))
    while spent < budget:
        draws = search_starts(rng, chunk, modes, [defensive(modes, points, seen), region],
                              search_box(told, modes))
        modes, more, evals = discover(target, draws, modes, length, budget=budget - spent)
        climbs += more
        spent += evals
    return modes, climbs, spent


def defensive(modes, points, seen=None):
    """``(mu, V)``, the centre and diagonal variance of the defensive Gaussian: the
    :func:`spread` of ``points`` and ``modes`` (its variance at least ``seen``, the widest
    spread the run has seen), the variance inflated by ``BROAD_INFLATION``."""
    mu, var = spread(points, modes)
    if seen is not None:
        var = np.maximum(var, seen)
    return mu, BROAD_INFLATION * np.maximum(var, 1e-8 * max(1.0, float(np.max(var))))


def mode_reference(modes, points, defensive_weight=DEFENSIVE_WEIGHT, seen=None):
    """The arrays of ``(1 - delta) sum_k w_k N(m_k, S_k) + delta N(mu, V)``
    (module docstring; ``delta = defensive_weight``, ``(mu, V)`` from :func:`defensive`);
    only the defensive part when no mode is known."""
    mu, var = defensive(modes, points, seen)
    means = [mu]
    covs = [np.diag(var)]
    weights = [1.0]
    if modes:
        w = (1.0 - defensive_weight) * laplace_weights(modes)
        means += [mode.location for mode in modes]
        covs += [mode.cov for mode in modes]
        weights = [defensive_weight] + list(w)
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


def mode_table(modes, draws, found_at=None, last_discovery=None):
    """The ``tempering`` group's mode variables (``inference_data.TemperingVar.MODES``):
    location, log p, Laplace weight (normalised Laplace mass), occupancy, the
    fraction of the beta = 1 ``draws`` (C, n, d) whose nearest mode, in the Mahalanobis
    distance of each mode's Laplace covariance, is that mode, and its standard error:
    the spread of the chains' own occupancies over sqrt(C) (independent chains), never
    below the binomial ``sqrt(o (1 - o) / N)`` of all ``N`` draws (with ``o`` clipped to
    ``[1/N, 1 - 1/N]``: chains that all agree, on a mode none visited say, do not make it 0);
    with ``found_at`` (the warm-up step at which each mode was found) and
    ``last_discovery`` (the step of the last discovery), those too."""
    from ..inference_data import TemperingVar as V

    if not modes:
        return {} if last_discovery is None else {V.LAST_DISCOVERY: ((), int(last_discovery))}
    d = modes[0].location.size
    draws = np.asarray(draws, dtype=np.float64)
    draws = draws.reshape((-1,) + draws.shape[-2:]) if draws.ndim == 3 else draws.reshape(1, -1, d)
    chains, n = draws.shape[:2]
    distance = np.array([_mahalanobis2(mode, draws.reshape(-1, d)) for mode in modes])
    nearest = np.argmin(distance, axis=0).reshape(chains, n)
    per_chain = np.array([np.bincount(row, minlength=len(modes)) / max(n, 1) for row in nearest])
    occupancy = per_chain.mean(axis=0)
    total = max(chains * n, 1)
    o = np.clip(occupancy, 1.0 / total, 1.0 - 1.0 / total)
    se = np.sqrt(o * (1.0 - o) / total)
    if chains > 1:
        se = np.maximum(se, per_chain.std(axis=0, ddof=1) / np.sqrt(chains))
    table = {V.MODE_LOCATION: (("mode", "mode_dim"), np.array([m.location for m in modes])),
             V.MODE_LOG_P: (("mode",), np.array([m.log_p for m in modes])),
             V.MODE_LAPLACE_WEIGHT: (("mode",), laplace_weights(modes)),
             V.MODE_OCCUPANCY: (("mode",), occupancy),
             V.MODE_OCCUPANCY_SE: (("mode",), se)}
    if found_at is not None:
        table[V.MODE_FOUND_AT] = (("mode",), np.asarray(found_at, dtype=np.int64))
        table[V.LAST_DISCOVERY] = ((), int(last_discovery))
    return table


def discovery_message(group):
    """A warning (else ``None``) when the last discovery of the warm-up still found a mode
    (and it was not the only one): discovery had not levelled off, so more modes may be
    missing, and a mode never found is missing from the draws and the evidence without
    any other sign (the chains mix among the modes they know); or when it found none."""
    from ..inference_data import TemperingVar as V

    if V.LAST_DISCOVERY not in group:
        return None                    # not a mode-aware run
    if V.MODE_FOUND_AT not in group:
        return ("mode discovery found no mode (the climbs ended on ridges, at a singular "
                "peak, or kept rising: an unbounded density?): the reference path ran from "
                "the broad defensive Gaussian alone and its evidence covers what the chains "
                "reached; check that p is bounded and normalisable")
    found_at = group[V.MODE_FOUND_AT].values
    last = int(group[V.LAST_DISCOVERY])
    late = np.flatnonzero(found_at == last)
    if last == 0 or late.size == 0:
        return None
    return (f"mode discovery was still finding modes in its last round (mode(s) "
            f"{late.tolist()} of {found_at.size}, at warm-up step {last}): modes may be missing "
            "from the draws and the evidence; run with a larger tune")


def occupancy_message(group):
    """A warning (else ``None``) when a mode's beta = 1 occupancy in the ``tempering`` group
    disagrees with its Laplace weight far beyond the Monte Carlo error: their ratio (each
    plus ``OCCUPANCY_FLOOR``) beyond ``OCCUPANCY_FACTOR`` either way and their difference
    above ``OCCUPANCY_SE`` standard errors.  A Laplace weight is only a local Gaussian
    fit (a Student-t mode's was 8x too small, and the path still weighed it right), hence
    the wide margin; beyond it, either the mode is far from Gaussian or the chains did
    not move between modes in proportion (a mode found late, a poor path)."""
    from ..inference_data import TemperingVar as V

    if V.MODE_OCCUPANCY_SE not in group:
        return None
    o = group[V.MODE_OCCUPANCY].values
    w = group[V.MODE_LAPLACE_WEIGHT].values
    se = group[V.MODE_OCCUPANCY_SE].values
    ratio = (o + OCCUPANCY_FLOOR) / (w + OCCUPANCY_FLOOR)
    bad = (np.abs(np.log(ratio)) > np.log(OCCUPANCY_FACTOR)) & (np.abs(o - w) > OCCUPANCY_SE * se)
    if not bad.any():
        return None
    shown = "; ".join(f"mode {k} (log p {group[V.MODE_LOG_P].values[k]:.4g}): occupancy "
                      f"{o[k]:.3g} +- {se[k]:.2g}, Laplace weight {w[k]:.3g}"
                      for k in np.flatnonzero(bad)[:4])
    return (f"the beta = 1 occupancy of the modes found disagrees with their Laplace weights: "
            f"{shown}.  Either the mode is far from Gaussian (heavy tails, skew, a ridge) or "
            "the chains did not mix between modes: check tempering_summary (round trips, "
            "swap acceptance) and run longer (a larger tune finds modes earlier)")


def log_evidence_guess(modes):
    """``logsumexp_k log mass_k``: the Laplace estimate of ``log integral of p`` (None without modes)."""
    if not modes:
        return None
    log_mass = np.array([mode.log_mass for mode in modes])
    top = log_mass.max()
    return float(top + np.log(np.exp(log_mass - top).sum()))
