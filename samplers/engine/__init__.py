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

Python side (:func:`drive`): compile the loop for the target's ``params``
type (once, then from the disk cache), call it on chunks of steps, update
the progress bar between chunks.  Chunk sizes adapt so each call lasts about
``CHUNK_SECONDS``; this cannot change a single draw, because every random
number is a function of the step counter (``_rng``).
"""
from .rounds import CHUNK_SECONDS, chains_done, drive, initialize_state
from .state import (LEVEL_MOVES, N_BATCHES, NO_COMMUNICATION, SWAPS_DEO, SWAPS_SEO, Accumulators,
                    ChainState, DrawRecord, Records, Settings, new_accumulators, new_records,
                    new_state, restore_state, save_state)
from .loop import initialize, run_chunk, run_chunk_batched
