"""Adaptation of a ladder run between tuning rounds: the ladder (the *schedule*) and the
simulated-tempering log weights, as ``engine.Adaptation`` objects of a run plan.

Within a round the compiled loop adapts the step sizes (dual averaging) and,
for adaptive weights, the log weights by stochastic approximation
(``kernels.adaptation``).  Between rounds:

* **ladder** (:class:`LadderAdaptation`; Syed et al. 2022, arXiv 1905.02939,
  section 5): warm-up is split into rounds of doubling length
  (``engine.DOUBLING_PARTS`` of ``tune``).  After every round but the
  last, the rejection rate of each neighbouring pair, pooled over chains,
  gives the communication barrier ``Lambda``; the levels are re-placed at
  equal spacing of ``Lambda`` (``ladders.equalize``), and the per-level step
  sizes and log weights are interpolated to the new levels.  The last round
  tunes on the final ladder.
* **adaptive weights** (:class:`AdaptiveWeights`): start from the Laplace
  guess at the mode L-BFGS climbs to from each start; after a round that
  moved the ladder, restart from the round's stepping-stone estimate; at the
  end of warm-up, freeze at it.
* **fixed weights** (:class:`FixedWeights`) and the paper's **progressive
  weights** (:class:`ProgressiveWeights`, one level opened per round).
"""
import numpy as np

from .. import ladders
from ..engine import Adaptation
from ..kernels.adaptation import dual_averaging_restart, sa_restart_count
from ..inference_data import swap_rejection
from .evidence import log_ratios, log_z

__all__ = ["LadderAdaptation", "AdaptiveWeights", "FixedWeights", "ProgressiveWeights",
           "progressive_rounds", "RESTART_GAIN",
           "PAPER_STEPS_PER_LEVEL", "CLIMB_ITERATIONS"]

#: Gain at which the stochastic approximation of the weights restarts after a ladder move.
RESTART_GAIN = 0.1
#: Warm-up steps per level that the progressive ("paper") weights need at least.
PAPER_STEPS_PER_LEVEL = 100
#: L-BFGS iterations of the climb behind the starting weights.
CLIMB_ITERATIONS = 200


def progressive_rounds(tune, n_levels):
    """The rounds of progressive weights: ``L - 1`` that open one level each, then one on the
    whole ladder.  ``ValueError`` when ``tune`` is too short for them."""
    if tune < PAPER_STEPS_PER_LEVEL * n_levels:
        raise ValueError(
            f"tune={tune} is too short for log_weights='paper': it needs at least "
            f"{PAPER_STEPS_PER_LEVEL} warm-up steps per level ({PAPER_STEPS_PER_LEVEL * n_levels})")
    return tuple(tune * (r + 1) // n_levels for r in range(n_levels))


class LadderAdaptation(Adaptation):
    """Re-place the levels at equal communication barrier after every round but the last."""

    def adapt(self, target, state, settings, acc, last):
        if last:
            return settings
        rejection = _pooled_rejection(acc)
        if rejection is None:
            return settings
        old = settings.betas
        new = ladders.equalize(old, rejection)
        log_old, log_new = np.log(old), np.log(new)
        rel, _ = log_z(acc.stone)
        if np.all(np.isfinite(rel)):
            # The round's stepping-stone estimate, pooled over chains, is a
            # better start for the weights than each chain's own.
            state.log_weights[:] = -rel
            state.sa_count[:] = sa_restart_count(old.size, RESTART_GAIN)
        for c in range(state.x.shape[0]):
            # Step sizes scale smoothly with beta: interpolate log h in log beta.
            state.step_size[c] = np.exp(np.interp(log_new, log_old, np.log(state.step_size[c])))
            dual_averaging_restart(state.adapt_state[c], state.step_size[c])
            # log Z is smooth (convex) in beta: interpolate the weights in beta.
            state.log_weights[c] = np.interp(new, old, state.log_weights[c])
        return settings._replace(betas=np.ascontiguousarray(new))


class AdaptiveWeights(LadderAdaptation):
    """Simulated tempering's adaptive weights, with the ladder adaptation when ``adapt_ladder``."""

    def __init__(self, adapt_ladder):
        self.adapt_ladder = bool(adapt_ladder)

    def start(self, target, state, settings):
        betas = settings.betas
        state.level[:] = betas.size - 1
        # Laplace guess, exact for a Gaussian with its mode at m:
        # log Z(beta) = beta log p(m) - (d/2) log beta + const, with m the
        # mode L-BFGS climbs to from the chain's start.  log p(x0) itself
        # would do only for a start at a mode: from a start 25 sd out
        # (log p(x0) 140 below the modes') the hot levels began 100+ nats
        # too heavy, the stochastic approximation could not undo it within
        # the warm-up, and the frozen weights kept the walk at the top.
        dim = state.x.shape[2]
        # One climb per distinct start: ensembles often start many chains at one point.
        starts, first, which = np.unique(state.x[:, 0], axis=0, return_index=True,
                                         return_inverse=True)
        peaks = np.array([_climb(target, x0, state.lp[c, 0]) for x0, c in zip(starts, first)])
        w = -peaks[which.reshape(-1), None] * betas + 0.5 * dim * np.log(betas)
        state.log_weights[:] = w - w[:, -1:]
        return settings

    def adapt(self, target, state, settings, acc, last):
        if self.adapt_ladder:
            settings = super().adapt(target, state, settings, acc, last)
        if last:
            # Freeze the weights at the last round's stepping-stone estimate,
            # pooled over chains: consistent, and far less noisy than the
            # final iterate of any one chain's stochastic approximation
            # (which served to spread the round's steps over all levels).
            rel, _ = log_z(acc.stone)
            if np.all(np.isfinite(rel)):
                state.log_weights[:] = -rel
        return settings


class FixedWeights(Adaptation):
    """Simulated tempering with given weights: start at the top level with them."""

    def __init__(self, log_weights):
        self.log_weights = np.array(log_weights, dtype=np.float64)

    def start(self, target, state, settings):
        state.level[:] = settings.betas.size - 1
        state.log_weights[:] = self.log_weights
        return settings


class ProgressiveWeights(Adaptation):
    """The paper's progressive weights: start at the hottest level with only it open;
    after round ``r`` estimate Z_{r+1}/Z_r at level r, then open level r + 1."""

    def start(self, target, state, settings):
        state.level[:] = 0
        state.log_weights[:] = 0.0
        return settings._replace(max_level=0)

    def adapt(self, target, state, settings, acc, last):
        r = settings.max_level
        if last or r == settings.betas.size - 1:
            return settings
        ratio = log_ratios(acc.stone)[0][r]
        if not np.isfinite(ratio):
            raise RuntimeError(f"log_weights='paper': no draws at level {r} to estimate Z_{r + 1}/Z_{r}; "
                               "increase tune")
        state.log_weights[:, r + 1] = state.log_weights[:, r] - ratio
        if r + 1 == settings.betas.size - 1:
            state.log_weights[:] -= state.log_weights[:, -1:].copy()
        return settings._replace(max_level=r + 1)


def _pooled_rejection(acc):
    """Rejection rate of every neighbouring pair, pooled over chains (None if a pair was never tried)."""
    tries = acc.pair_tries.sum(axis=0)
    if np.any(tries == 0):
        return None
    return swap_rejection(acc.pair_accept.sum(axis=0), tries)


def _climb(target, x0, lp0):
    """log p at the point L-BFGS reaches from ``x0`` in ``CLIMB_ITERATIONS``
    iterations (``lp0 = log p(x0)`` if that is not higher, or if the climb fails)."""
    from scipy.optimize import minimize

    def negative(x):
        value, grad = target.logp_and_grad(x)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return np.inf, np.zeros_like(x)  # L-BFGS backtracks from non-finite values
        return -value, -grad

    with np.errstate(all="ignore"):
        result = minimize(negative, x0, jac=True, method="L-BFGS-B",
                          options={"maxiter": CLIMB_ITERATIONS})
    peak = -float(result.fun)
    return peak if np.isfinite(peak) and peak > lp0 else float(lp0)
