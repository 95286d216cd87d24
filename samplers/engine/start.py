"""The two ways a run starts: fresh from initial points, or where a saved run ended.

Each returns a :class:`Start` (the chain state and the settings of the first
round) whose log densities and gradients are finite, or raises ``ValueError``.

The initial log densities and the initial step-size search run here, in
Python, through the target's own compiled function (``Target.logp_and_grad``):
a few hundred evaluations per run, which a compiled version made the first
run on a machine pay ~2.4 s of compilation for (``benchmarks/RESULTS.md``).
"""
from typing import NamedTuple

import numpy as np

from .._rng import INIT_STEP
from ..kernels.adaptation import dual_averaging_restart
from ..kernels.reference import reference_logq_grad
from .plan import COMMUNICATION_KINDS
from .state import (ChainState, Settings, new_state, no_reference, reference_of, restore_state,
                    saved_reference)

__all__ = ["Start", "RunArgs", "fresh_start", "resumed_start", "initialize_state",
           "refresh_path", "initial_step_size", "MAX_SEARCH_TRIALS"]

#: Trials of the initial step-size search (the step doubles or halves each time).
MAX_SEARCH_TRIALS = 200


class RunArgs(NamedTuple):
    """The length of a run, as asked of ``sample`` or ``resume``."""
    draws: int          # draws per chain (after thinning)
    thin: int
    save_warmup: bool


class Start(NamedTuple):
    state: ChainState
    settings: Settings


def fresh_start(target, plan, x0, keys, run):
    """Every replica of chain ``c`` at ``x0[c]`` (``(C, d)``) with stream key ``keys[c]``.

    Evaluates the log densities (and, when the step size is tuned, searches
    an initial one per level: :func:`initial_step_size`), then lets the plan's
    adaptation set up the state (``Adaptation.start``).
    """
    step_size = plan.explorer.step_size
    adapt_step = plan.explorer.dual_averaging
    if adapt_step and plan.tune == 0:
        raise ValueError("step_size=None is tuned during warm-up: give tune > 0 or a step_size")
    state = new_state(x0, keys, plan.n_replicas, plan.n_levels,
                      reference=plan.reference is not None)
    if step_size is not None:
        state.step_size[:] = step_size
    reference = no_reference(x0.shape[1]) if plan.reference is None else plan.reference
    settings = _settings(plan, run, plan.betas, adapt_step, plan.adapt_weights, reference)
    initialize_state(target, state, settings, adapt_step)
    _check_finite(state)
    if plan.adaptation is not None:
        before = settings.ref_weights
        settings = plan.adaptation.start(target, state, settings)
        if settings.ref_weights is not before:
            refresh_path(target, state, settings, before)
            _check_finite(state)
    return Start(state, settings)


def resumed_start(plan, saved, run):
    """The state at the end of a saved run (``state.save_state``) and its ladder.

    The saved log densities and gradients are kept: evaluating them again
    could differ in the last bit (a batched target's BLAS sums in another
    order) and change the draws.  ``plan`` is a continuation
    (``RunPlan.continuation``): nothing is tuned.
    """
    state = restore_state(saved)
    _check_finite(state)
    return Start(state, _settings(plan, run, saved["betas"][0], adapt_step=False,
                                  adapt_weights=False,
                                  reference=saved_reference(saved, state.x.shape[2])))


def initialize_state(target, state, settings, search_step):
    """Log density and gradient of every replica (and log q with its gradient on a
    reference path); with ``search_step``, an initial step size per level
    (:func:`initial_step_size`, at the replica of that level: parallel tempering's
    replica ``lev``, else the only one) and fresh dual averaging.  A reference path's
    level beta = 0 draws exactly from q and takes no step (1.0 is kept there)."""
    n_chains, n_replicas, dim = state.x.shape
    ref = reference_of(settings)
    path = ref.weights.shape[0] > 0
    for c in range(n_chains):
        for r in range(n_replicas):
            state.lp[c, r], state.grad[c, r] = target.logp_and_grad(state.x[c, r])
            if path:
                state.lq[c, r] = reference_logq_grad(state.x[c, r], ref, state.grad_q[c, r],
                                                     np.empty(dim))
    if not search_step:
        return
    for c in range(n_chains):
        for lev, beta in enumerate(settings.betas):
            r = lev if n_replicas == settings.betas.size else 0
            if path and beta == 0.0:
                state.step_size[c, lev] = 1.0  # exact draws from the reference: no step
            elif np.isfinite(state.lp[c, r]) and np.all(np.isfinite(state.grad[c, r])):
                rng = np.random.Generator(np.random.Philox(key=state.keys[c],
                                                           counter=[0, INIT_STEP, lev, 0]))
                state.step_size[c, lev] = initial_step_size(
                    target, ref, state.x[c, r], state.lp[c, r], state.lq[c, r], state.grad[c, r],
                    state.grad_q[c, r], beta, settings.target_accept, rng)
            else:
                state.step_size[c, lev] = 1.0
        dual_averaging_restart(state.adapt_state[c], state.step_size[c])


def refresh_path(target, state, settings, before):
    """After an adaptation changed the path's reference (from the reference array
    ``before``, ``settings.ref_weights`` then): log q at every replica, and, when the
    run has just left the classic path for a reference path, new step sizes."""
    initialize_state(target, state, settings, search_step=before.size == 0 and settings.adapt_step)


def initial_step_size(target, ref, x, lp, lq, grad, grad_q, beta, target_accept, rng):
    """Double or halve ``h`` from 1 until the acceptance of one proposal crosses
    ``target_accept``.

    A heuristic start for dual averaging, after Stan's: it puts ``h`` within a
    factor of two of the scale where acceptance changes, whatever the target's
    scale.  Each trial proposes from ``x`` with fresh noise from ``rng`` (a
    chain's own stream, ``INIT_STEP``), as the Langevin kernel at level ``beta``
    of the path does (``kernels.langevin``: ``y = x + h g_beta(x) + sqrt(2 h) xi``),
    and computes MALA's acceptance probability ``min(1, alpha)``; on a reference
    path ``ref`` (else empty, with ``lq = 0`` and ``grad_q`` empty) enters ``g_beta``
    and ``alpha`` with weight ``1 - beta``.
    """
    path = grad_q.shape[0] > 0
    g_x = beta * grad + ((1.0 - beta) * grad_q if path else 0.0)
    h = 1.0
    direction = 0
    for _ in range(MAX_SEARCH_TRIALS):
        with np.errstate(all="ignore"):  # a far proposal: inf or NaN, acceptance 0
            y = x + h * g_x + np.sqrt(2.0 * h) * rng.standard_normal(x.shape[0])
            lp_y, grad_y = target.logp_and_grad(y)
            lq_y, gq_y = 0.0, grad_q
            if path:
                gq_y = np.empty_like(grad_q)
                lq_y = reference_logq_grad(y, ref, gq_y, np.empty_like(y))
            accept = 0.0
            if np.isfinite(lp_y) and np.all(np.isfinite(grad_y)) and np.isfinite(lq_y):
                g_y = beta * grad_y + ((1.0 - beta) * gq_y if path else 0.0)
                forward = np.sum((y - x - h * g_x) ** 2)
                backward = np.sum((x - y - h * g_y) ** 2)
                log_alpha = (beta * (lp_y - lp) + (1.0 - beta) * (lq_y - lq)
                             + (forward - backward) / (4.0 * h))
                if not np.isnan(log_alpha):
                    accept = 1.0 if log_alpha >= 0.0 else float(np.exp(log_alpha))
        up = accept > target_accept
        if direction == 0:
            direction = 1 if up else -1
        elif (direction == 1) != up:
            break
        h = h * 2.0 if direction == 1 else h * 0.5
    return h


def _settings(plan, run, betas, adapt_step, adapt_weights, reference):
    betas = np.ascontiguousarray(betas, dtype=np.float64)
    explorer = plan.explorer
    return Settings(
        betas=betas, metropolis=explorer.metropolis, adapt_step=adapt_step,
        target_accept=explorer.target_accept, adapt_weights=bool(adapt_weights),
        communication=COMMUNICATION_KINDS[plan.communication], lifted=plan.lifted,
        steps_per_swap=plan.steps_per_swap, max_level=betas.size - 1, n_tune=plan.tune,
        draws=run.draws, thin=run.thin, stop_step=plan.tune, round_first=0,
        round_len=max(plan.tune, 1), symmetry_rank=plan.symmetry_rank,
        symmetry_rows=plan.symmetry_rows, **{"ref_" + name: value for name, value in
                                             reference._asdict().items()})


def _check_finite(state):
    bad = ~(np.isfinite(state.lp) & np.all(np.isfinite(state.grad), axis=2)).all(axis=1)
    if np.any(bad):
        raise ValueError(
            f"initial: the log density or its gradient is not finite at the initial point "
            f"of chain(s) {np.flatnonzero(bad).tolist()}"
        )
