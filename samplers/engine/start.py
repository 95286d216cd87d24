"""The two ways a run starts: fresh from initial points, or where a saved run ended.

Each returns a :class:`Start` (the chain state and the settings of the first
round) whose log densities and gradients are finite, or raises ``ValueError``.
"""
from typing import NamedTuple

import numpy as np

from .plan import COMMUNICATION_KINDS
from .rounds import initialize_state, refresh_path
from .state import ChainState, Settings, new_state, no_reference, restore_state, saved_reference

__all__ = ["Start", "RunArgs", "fresh_start", "resumed_start"]


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
    an initial one per level: ``kernels.adaptation.initial_step_size``), then
    lets the plan's adaptation set up the state (``Adaptation.start``).
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
