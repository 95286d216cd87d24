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
from ..engine.state import reference_of, with_reference
from ..kernels.adaptation import dual_averaging_restart, sa_restart_count
from ..inference_data import swap_rejection
from .evidence import log_ratios, log_z
from .modes import (BROAD_INFLATION, CLIMB_ITERATIONS, RUNAWAY, climb, log_evidence_guess,
                    mode_reference, mode_table, spread, survey)
from .reference import reference_logpdf

__all__ = ["LadderAdaptation", "AdaptiveWeights", "FixedWeights", "ProgressiveWeights",
           "ModeDiscovery", "mode_rounds", "initial_guesses", "restart_weights", "INITIAL_GUESSES",
           "progressive_rounds", "RESTART_GAIN",
           "PAPER_STEPS_PER_LEVEL", "CLIMB_ITERATIONS"]

#: Gain at which the stochastic approximation of the weights restarts after a ladder move.
RESTART_GAIN = 0.1
#: Warm-up steps per level that the progressive ("paper") weights need at least.
PAPER_STEPS_PER_LEVEL = 100


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
        with np.errstate(divide="ignore"):  # log 0 = -inf at a reference path's level 0
            log_old, log_new = np.log(old), np.log(new)
        rel, _ = log_z(acc.stone)
        if np.all(np.isfinite(rel)):
            # The round's stepping-stone estimate, pooled over chains, is a
            # better start for the weights than each chain's own.
            state.log_weights[:] = -rel
            state.sa_count[:] = sa_restart_count(old.size, RESTART_GAIN)
        for c in range(state.x.shape[0]):
            # Step sizes scale smoothly with beta: interpolate log h in log beta (a
            # reference path's level 0, beta = 0, draws exactly and keeps its entry).
            hot = 1 if old[0] == 0.0 else 0
            state.step_size[c, hot:] = np.exp(np.interp(log_new[hot:], log_old[hot:],
                                                        np.log(state.step_size[c, hot:])))
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
        climbs = [_climb(target, x0, state.lp[c, 0]) for x0, c in zip(starts, first)]
        peaks = np.array([peak for peak, _ in climbs])[which.reshape(-1), None]
        if betas[0] == 0.0:
            # A reference path: with q close to p / Z, log Z(beta) = beta log Z, and
            # log Z ≈ log p(m) - log q(m) at the mode m.
            log_q = reference_logpdf(reference_of(settings), np.array([x for _, x in climbs]))
            w = -(peaks - log_q[which.reshape(-1), None]) * betas
        else:
            w = -peaks * betas + 0.5 * dim * np.log(betas)
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
    """``(log p, point)`` where L-BFGS reaches from ``x0`` in ``CLIMB_ITERATIONS``
    iterations (``(lp0, x0)`` if that is not higher, or if the climb fails)."""
    x, peak, _ = climb(target, x0, CLIMB_ITERATIONS)
    return (peak, x) if np.isfinite(peak) and peak > lp0 else (float(lp0), x0)


#: Draws of ``target.default_initial`` that mode discovery climbs from at the start (and
#: that set the variational reference's first q).
INITIAL_GUESSES = 32


def initial_guesses(target, state):
    """``INITIAL_GUESSES`` draws ``(n, d)`` of ``target.default_initial`` (where, with the
    starts, the run was told to look), and the generator that drew them, seeded from the
    run's stream keys (reproducible)."""
    rng = np.random.default_rng([int(k) for k in state.keys[0]])
    return np.array([np.asarray(target.default_initial(rng), dtype=np.float64).reshape(-1)
                     for _ in range(INITIAL_GUESSES)]), rng


def restart_weights(state, settings, log_evidence):
    """Simulated tempering's weights after the path's reference changed (a no-op for
    parallel tempering, or without ``log_evidence``): they estimated the old path; with
    q close to p / Z, ``log Z(beta) = beta log Z`` (top level at 0), and the stochastic
    approximation restarts at ``RESTART_GAIN``."""
    if state.x.shape[1] == 1 and log_evidence is not None:
        state.log_weights[:] = log_evidence * (1.0 - settings.betas)
        state.sa_count[:] = sa_restart_count(settings.betas.size, RESTART_GAIN)
#: Target evaluations of mode discovery per warm-up round, as a multiple of the round's
#: Langevin steps of every chain times the levels of the ladder (a replica per level, as in
#: parallel tempering): discovery at most doubles parallel tempering's warm-up; simulated
#: tempering, one replica per chain, gets the same search (with its single replica the
#: search was 13x smaller on a 13-level ladder and missed a light narrow mode of a 5-D
#: mixture in 3 of 6 runs).
DISCOVERY_SHARE = 1.0


class ModeDiscovery(Adaptation):
    """``reference="modes"``: discover modes on the classic path, then run the
    reference path from the mode-aware reference (``tempering.modes``).

    Warm-up has two phases (``mode_rounds``):

    * **start**: L-BFGS from the initial points and ``INITIAL_GUESSES`` draws of
      the target's default initial distribution;
    * **discovery** (the first half): the classic path ``p^beta`` on a
      geometric ladder, whose hot levels spread far beyond any one mode;
      after every round L-BFGS climbs from the replicas of every level;
    * **reference path** (the second half): at the switch the ladder becomes
      ``reference_betas`` (from 0), the reference the mixture of the modes'
      Laplace approximations and a defensive part, and the step sizes are
      searched again; rounds that discover a new mode rebuild the reference.

    After the last warm-up round the reference stays fixed, so the kept draws
    come from one Markov chain.  ``inner`` is the run's other adaptation (the
    ladder, simulated tempering's weights, or ``None``).  Holds the modes
    found in its run (a plan serves one run).
    """

    def __init__(self, inner, switch, reference_betas, first_round):
        self.inner = inner
        self.switch = int(switch)
        self.first_round = int(first_round)
        self.reference_betas = np.ascontiguousarray(reference_betas, dtype=np.float64)
        self.modes = []
        self.found_at = []        # the warm-up step of the discovery that found each mode
        self.last_discovery = 0
        self.climbs = 0
        self.evaluations = 0

    def start(self, target, state, settings):
        # The starts, and as many draws of the target's default initial distribution
        # (from the run's own stream keys: reproducible): where the run was told to look.
        guesses, self.rng = initial_guesses(target, state)
        points = np.unique(np.concatenate([state.x.reshape(-1, state.x.shape[2]), guesses]),
                           axis=0)
        self.steps = int(state.steps.max())
        # The widest spread seen so far (starts, then the replicas of every level):
        # the defensive part never shrinks below it, so that a region the chains
        # left (the starts on the far side of a barrier) stays within reach.
        self.seen = spread(points, [])[1]
        # Where the run was told to look: discovery keeps drawing starts there, also
        # once the defensive part has moved to the modes found (a heavy mode's basin
        # swallows the climbs from around it).  The spread of the starts and of the
        # guesses apart: many guesses must not shrink the spread of a few starts.
        starts = state.x.reshape(-1, state.x.shape[2])
        self.told = points
        self.start_region = (spread(points, [])[0], BROAD_INFLATION * np.maximum(
            spread(starts, [])[1], spread(guesses, [])[1]))
        self.n_levels = settings.betas.size
        self._survey(target, state, points, points, None, self.first_round)
        # The region the run may explore: RUNAWAY times the spread of the starts and
        # the modes around their centre.  A replica beyond it on the classic path
        # means improper or runaway hot levels (a heavy tail): discovery stops there.
        self.centre, scale = spread(points, self.modes)
        self.radius = RUNAWAY * float(np.sqrt(np.sum(scale)))
        if self.inner is not None:
            settings = self.inner.start(target, state, settings)
        return settings

    def _survey(self, target, state, starts, points, seen, steps):
        """Discovery (``modes.survey``) from ``starts`` and draws of the widened defensive
        Gaussian over ``points``, with ``DISCOVERY_SHARE`` times the target evaluations of
        ``steps`` Langevin steps of a replica per level in every chain."""
        from threadpoolctl import threadpool_limits

        budget = DISCOVERY_SHARE * steps * state.x.shape[0] * self.n_levels
        known = len(self.modes)
        # One BLAS thread: L-BFGS and the Laplace fits make many tiny BLAS calls, and
        # threaded OpenBLAS waiting for a busy core cost 24 ms per L-BFGS climb against
        # 0.4 ms single-threaded (a 5-D target on a loaded 2-core machine).
        with threadpool_limits(1, user_api="blas"):
            self.modes, climbs, evals = survey(target, self.rng, starts, self.modes, points,
                                               seen, self.start_region, self.told, budget)
        self.last_discovery = int(state.steps.max())
        self.found_at += [self.last_discovery] * (len(self.modes) - known)
        self.climbs += climbs
        self.evaluations += evals

    def adapt(self, target, state, settings, acc, last):
        on_path = settings.ref_weights.size > 0
        if self.inner is not None:
            settings = self.inner.adapt(target, state, settings, acc, last)
        if last:
            return settings
        points = state.x.reshape(-1, state.x.shape[2])
        explored = acc.explored.reshape(-1, state.x.shape[2])
        explored = explored[np.all(np.isfinite(explored), axis=1)]
        with np.errstate(all="ignore"):
            near = np.linalg.norm(explored - self.centre, axis=1) <= self.radius
            inside = np.linalg.norm(points - self.centre, axis=1) <= self.radius
        known = len(self.modes)
        kept = np.concatenate([points[inside], explored[near]])
        steps = int(state.steps.max())
        self._survey(target, state, kept, np.vstack([points[inside], self.centre]), self.seen,
                     steps - self.steps)
        self.steps = steps
        if kept.shape[0] > 1:
            self.seen = np.maximum(self.seen, spread(kept, [])[1])
        runaway = not inside.all()
        if not on_path and (runaway or int(state.steps.min()) >= self.switch):
            if runaway:
                # Replicas that ran off restart at their chain's beta = 1 replica, or
                # at the heaviest mode (on the reference path a far point has
                # log p - log q huge and would be swapped up to the target level).
                far = ~inside.reshape(state.x.shape[:2])
                top = state.x.shape[1] - 1
                best = (max(self.modes, key=lambda mode: mode.log_mass).location if self.modes
                        else self.centre)
                for c, r in zip(*np.nonzero(far)):
                    state.x[c, r] = best if far[c, top] else state.x[c, top]
            settings = with_reference(settings._replace(betas=self.reference_betas),
                                      self._reference(points[inside]))
            evidence = log_evidence_guess(self.modes)
        elif on_path and len(self.modes) > known:
            settings = with_reference(settings, self._reference(points[inside]))
            # log Z(1) is the same on every path: the round's stepping-stone estimate.
            rel, _ = log_z(acc.stone)
            evidence = -rel[0] if np.isfinite(rel[0]) else log_evidence_guess(self.modes)
        else:
            return settings
        restart_weights(state, settings, evidence)
        return settings

    def _reference(self, points):
        """The mode-aware reference of the modes found, its defensive part over ``points``
        (the replicas inside the region), the centre and the widest spread seen."""
        return mode_reference(self.modes, np.vstack([points, self.centre]), seen=self.seen)

    def diagnostics(self, draws):
        return mode_table(self.modes, draws, self.found_at, self.last_discovery)


def mode_rounds(tune):
    """The warm-up rounds of ``reference="modes"``: doubling rounds over the first half
    (discovery on the classic path), then over the second (the reference path).
    Returns ``(rounds, switch)``, ``switch`` the step that ends the first half."""
    from ..engine import doubling_rounds

    switch = tune // 2
    rounds = doubling_rounds(switch) + tuple(switch + r for r in doubling_rounds(tune - switch))
    return tuple(sorted(set(rounds))), switch
