"""The engine: the one compiled multi-chain loop, and the Python around it.

Every sampler of the package is this loop with different settings.  A chain
holds ``R`` replicas on a ladder of ``L`` inverse temperatures
``betas[0] < ... < betas[L-1] = 1``; each step has two parts (the roles of
Pigeons.jl):

* **explore**: one Langevin transition (``kernels.langevin``) of every
  replica at its level's ``beta`` and step size;
* **communicate**, every ``steps_per_swap`` steps: a simulated-tempering
  level move or parallel-tempering swaps (``kernels.communication``), in
  :func:`communicate_step`, which the loop receives as a first-class
  function (a no-op for plain Langevin) so that it is compiled on its own.

Plain Langevin is ``R = L = 1`` with no communication; simulated tempering
is ``R = 1`` with level moves; parallel tempering is ``R = L`` with swaps (the
replica at slot ``i`` is at level ``i``).  While tuning, step sizes adapt per
level (dual averaging) and simulated-tempering weights by stochastic
approximation; ladder adaptation (the *schedule*) happens in Python between
tuning rounds, on statistics pooled over chains.

The tracked replica is the last slot, ``R - 1``.  Warm-up step ``s`` is
recorded when ``(s + 1) % thin == 0`` (the tracked replica, at whatever level
it is).  After warm-up, every step at which the tracked replica is at level
``L - 1`` is a visit, and every ``thin``-th visit is a draw, until ``draws``
draws: a fixed number of steps for Langevin and parallel tempering, a random
one for simulated tempering.  Per draw, ``acceptance_rate`` is the mean
acceptance probability of the tracked replica since the last draw and
``diverging`` whether any of those steps diverged.

A target that evaluates many points in one call (``Target.batch_logp_grad``,
for example matrix sensing, where that is one BLAS matrix product) runs the
same step, step-major: :func:`run_chunk_batched`.  A target with a symmetry
``X -> X O`` (``settings.symmetry_rank``) gets an exact random orthogonal
move after each transition (``kernels.symmetry``).

One entry point: a sampler's :class:`RunPlan` (``plan``), a start
(:func:`fresh_start` or :func:`resumed_start`, ``start``), then :func:`run`
(``rounds``), whose :class:`Result` the sampler reports (``report``)::

    plan = sampler.plan(target, tune, initial=x0)
    result = engine.run(target, plan, engine.fresh_start(target, plan, x0, keys, run_args),
                        run_args)

Modules: ``state`` (the records, fresh, saved and restored), ``loop`` (the
compiled loop), ``compile`` (compiled once per ``params`` type, then from
the disk cache), ``rounds`` (tuning rounds and the sampling round, the loop
called in chunks of about ``CHUNK_SECONDS`` between progress-bar updates;
chunking cannot change a single draw, because every random number is a
function of the step counter, ``_rng``), ``plan``, ``start`` and ``report``.
"""
from .plan import (COMMUNICATION_KINDS, DOUBLING_PARTS, Adaptation, Explorer, RunPlan,
                   doubling_rounds, single_round)
from .report import diagnostics, sample_stats
from .rounds import CHUNK_SECONDS, Result, chains_done, run, run_round
from .start import RunArgs, Start, fresh_start, resumed_start
from .state import save_state

__all__ = ["RunPlan", "Explorer", "Adaptation", "COMMUNICATION_KINDS", "single_round",
           "doubling_rounds", "DOUBLING_PARTS", "RunArgs",
           "Start", "fresh_start", "resumed_start", "run", "run_round", "Result", "chains_done",
           "sample_stats", "diagnostics", "save_state", "CHUNK_SECONDS"]
