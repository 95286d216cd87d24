"""The driver: the one compiled multi-chain loop, and the Python around it.

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
import time
from typing import NamedTuple

import numba
import numpy as np
from numba import prange, types
from numba.experimental.function_type import _get_wrapper_address

from ._jit import (MATRIX, VECTOR, batch_logp_grad_type, borrowed, jit, logp_grad_type, pjit,
                   scratch_vector)
from ._rng import COMMUNICATE, NOISE, fill_normals, uniform
from .kernels.adaptation import (dual_averaging_init, dual_averaging_update, final_step_size,
                                 initial_step_size, log_weight_update)
from .kernels.communication import level_move, swap_replicas
from .kernels.langevin import all_finite, copy_into, langevin_step, propose
from .kernels.symmetry import orthogonal_move

__all__ = ["ChainState", "Settings", "Accumulators", "Records", "new_state", "new_accumulators",
           "new_records", "initialize", "drive", "run_chunk", "run_chunk_batched", "CHUNK_SECONDS", "N_BATCHES",
           "NO_COMMUNICATION", "LEVEL_MOVES", "SWAPS_DEO", "SWAPS_SEO"]

#: Target wall time of one compiled call between progress-bar updates.
CHUNK_SECONDS = 0.25
#: Batches per chain for the batch-means standard errors of log Z.
N_BATCHES = 20

NO_COMMUNICATION, LEVEL_MOVES, SWAPS_DEO, SWAPS_SEO = 0, 1, 2, 3


class ChainState(NamedTuple):
    """Per-chain arrays (C chains, R replicas, L levels, d coordinates), updated in place."""
    x: np.ndarray            # (C, R, d) positions
    lp: np.ndarray           # (C, R) untempered log density at x
    grad: np.ndarray         # (C, R, d) its gradient
    level: np.ndarray        # (C, R) level of each replica
    identity: np.ndarray     # (C, R) walker at each slot (moves with swaps)
    phase: np.ndarray        # (C, R) per walker: 0 unknown, 1 seen top, 2 then bottom
    direction: np.ndarray    # (C,) lifted level-move direction, +1 or -1
    step_size: np.ndarray    # (C, L)
    adapt_state: np.ndarray  # (C, L, 4) dual averaging per level
    log_weights: np.ndarray  # (C, L) simulated tempering, estimates of -log Z_i
    sa_count: np.ndarray     # (C,) stochastic-approximation updates so far
    frozen: np.ndarray       # (C,) ULA chain stopped by a non-finite value
    window: np.ndarray       # (C, 3) acceptance sum, divergences, steps since last draw
    keys: np.ndarray         # (C, 2) Philox keys
    offset: np.ndarray       # (C,) stream counter of run step 0 (steps of earlier runs)
    steps: np.ndarray        # (C,) run steps done
    visits: np.ndarray       # (C,) top-level visits after warm-up
    collected: np.ndarray    # (C,) draws recorded


class Settings(NamedTuple):
    """Scalars and the ladder, fixed within one call of :func:`drive`."""
    betas: np.ndarray        # (L,)
    metropolis: bool
    adapt_step: bool
    target_accept: float
    adapt_weights: bool
    communication: int
    lifted: bool
    steps_per_swap: int
    max_level: int           # levels above it are closed (progressive weights)
    n_tune: int
    draws: int
    thin: int
    stop_step: int           # no chain goes past this run step in this call
    round_first: int         # warm-up round used for the accumulator batches
    round_len: int
    symmetry_rank: int       # k > 0: an orthogonal move X -> X O (k x k) after every transition


class Accumulators(NamedTuple):
    """Statistics summed over a phase, per chain; reset by the Python side."""
    pair_accept: np.ndarray  # (C, L-1) sum of acceptance probabilities of pair (i, i+1)
    pair_tries: np.ndarray   # (C, L-1)
    occupancy: np.ndarray    # (C, L) steps at each level
    round_trips: np.ndarray  # (C,) bottom-to-top-and-back... completed trips
    stone: np.ndarray        # (C, L, B, 3) running log-sum-exp of (b_{i+1}-b_i) lp at level i
    energy: np.ndarray       # (C, L, B, 2) sum of lp and count at level i (thermodynamic integration)
    level_trace: np.ndarray  # (C, T) level of replica 0 every thin steps after warm-up, -1 after


class Records(NamedTuple):
    """Preallocated outputs: draws after warm-up and (possibly empty) warm-up."""
    x: np.ndarray            # (C, draws, d)
    lp: np.ndarray
    accept: np.ndarray
    diverging: np.ndarray
    step_size: np.ndarray
    n_steps: np.ndarray      # steps since the previous draw
    warm_x: np.ndarray       # (C, n_warm, d)
    warm_lp: np.ndarray
    warm_accept: np.ndarray
    warm_diverging: np.ndarray
    warm_step_size: np.ndarray
    warm_level: np.ndarray


def new_state(x0, keys, n_replicas, n_levels):
    """A fresh state: every replica of chain ``c`` starts at ``x0[c]``."""
    n_chains, dim = x0.shape
    x = np.ascontiguousarray(np.repeat(x0[:, None, :], n_replicas, axis=1))
    level = np.zeros((n_chains, n_replicas), dtype=np.int64)
    if n_replicas == n_levels:
        level[:] = np.arange(n_levels)
    return ChainState(
        x=x, lp=np.zeros((n_chains, n_replicas)), grad=np.zeros_like(x), level=level,
        identity=np.tile(np.arange(n_replicas, dtype=np.int64), (n_chains, 1)),
        phase=np.zeros_like(level), direction=np.ones(n_chains, dtype=np.int64),
        step_size=np.full((n_chains, n_levels), np.nan), adapt_state=np.zeros((n_chains, n_levels, 4)),
        log_weights=np.zeros((n_chains, n_levels)), sa_count=np.zeros(n_chains, dtype=np.int64),
        frozen=np.zeros(n_chains, dtype=np.bool_), window=np.zeros((n_chains, 3)),
        keys=np.ascontiguousarray(keys, dtype=np.uint64), offset=np.zeros(n_chains, dtype=np.int64),
        steps=np.zeros(n_chains, dtype=np.int64),
        visits=np.zeros(n_chains, dtype=np.int64), collected=np.zeros(n_chains, dtype=np.int64))


def new_accumulators(n_chains, n_levels, trace_len=0):
    stone = np.zeros((n_chains, n_levels, N_BATCHES, 3))
    stone[..., 0] = -np.inf
    return Accumulators(
        pair_accept=np.zeros((n_chains, n_levels - 1)), pair_tries=np.zeros((n_chains, n_levels - 1)),
        occupancy=np.zeros((n_chains, n_levels)), round_trips=np.zeros(n_chains, dtype=np.int64),
        stone=stone, energy=np.zeros((n_chains, n_levels, N_BATCHES, 2)),
        level_trace=np.full((n_chains, trace_len), -1, dtype=np.int64))


def new_records(n_chains, draws, n_warm, dim):
    def block(n, *shape, dtype=np.float64):
        return np.zeros((n_chains, n) + shape, dtype=dtype)

    return Records(block(draws, dim), block(draws), block(draws), block(draws, dtype=np.bool_),
                   block(draws), block(draws, dtype=np.int64), block(n_warm, dim), block(n_warm),
                   block(n_warm), block(n_warm, dtype=np.bool_), block(n_warm),
                   block(n_warm, dtype=np.int64))


@jit
def initialize(logp_grad, params, state, settings, search_step):
    """Log density and gradient of every replica; with ``search_step``, an initial
    step size per level (``initial_step_size``) and fresh dual averaging.

    Serial: it runs once per sample() call and costs a few hundred gradient
    evaluations per chain, while a parallel version would add seconds of
    compilation.
    """
    for c in range(state.x.shape[0]):
        _initialize_chain(logp_grad, params, state, settings, search_step, c)


@jit
def _initialize_chain(logp_grad, params, state, settings, search_step, c):
    n_chains, n_replicas, dim = state.x.shape
    n_levels = settings.betas.shape[0]
    for r in range(n_replicas):
        state.lp[c, r] = logp_grad(state.x[c, r], params, state.grad[c, r])
    if not search_step:
        return
    for lev in range(n_levels):
        r = lev if n_replicas == n_levels else 0
        if all_finite(state.lp[c, r], state.grad[c, r]):
            state.step_size[c, lev] = initial_step_size(
                logp_grad, params, state.x[c, r], state.lp[c, r], state.grad[c, r],
                settings.betas[lev], settings.target_accept, state.keys[c], lev,
                np.empty(dim), np.empty(dim), np.empty(dim))
        else:
            state.step_size[c, lev] = 1.0
        dual_averaging_init(state.adapt_state[c, lev], state.step_size[c, lev])


@pjit
def run_chunk(logp_grad, params, n_steps, state, settings, acc, rec, communicate, symmetry):
    """Advance every chain by up to ``n_steps`` steps (see the module docstring).

    ``communicate`` and ``symmetry`` are :func:`communicate_step` and
    :func:`symmetry_step` or the no-op :func:`skip_communication` and
    :func:`skip_symmetry`, passed as first-class functions: compiled on
    their own rather than inlined into this loop, they keep its cold
    compilation (LLVM's optimisation of one large function) to a few seconds
    for plain Langevin.
    """
    for c in prange(state.x.shape[0]):
        # np.int64: the prange index is unsigned when lowered; without the cast the
        # chain body would be compiled twice (typed once as int64, once as uint64).
        _advance_chain(logp_grad, params, n_steps, state, settings, acc, rec, communicate,
                       symmetry, np.int64(c))


@jit
def _advance_chain(logp_grad, params, n_steps, state, settings, acc, rec, communicate, symmetry, c):
    """Chain ``c`` of :func:`run_chunk`.

    A separate (serial) function: inside ``prange``, numba 0.68 loses writes
    to arrays reached through a NamedTuple (``state.steps[c] = ...``).
    """
    # Borrowed arrays and stack scratch: no reference counting in the loop.
    params, state, settings, acc, rec = borrowed((params, state, settings, acc, rec))
    n_chains, n_replicas, dim = state.x.shape
    betas = settings.betas
    n_levels = betas.shape[0]
    top = n_levels - 1
    tempered = n_levels > 1  # occupancy and log Z statistics are kept for ladders only
    tracked = n_replicas - 1
    n_warm = rec.warm_x.shape[1]
    n_trace = acc.level_trace.shape[1]
    n_batches = acc.stone.shape[2]
    noise = scratch_vector(dim)
    y = scratch_vector(dim)
    grad_y = scratch_vector(dim)
    # The counters written every step live in locals until the end of the call:
    # the chains' entries share cache lines, which two threads writing them
    # every step would pass back and forth.
    s = state.steps[c]
    collected = state.collected[c]
    visits = state.visits[c]
    window_accept, window_diverging, window_steps = state.window[c, 0], state.window[c, 1], state.window[c, 2]
    for _ in range(n_steps):
        tuning = s < settings.n_tune
        if s >= settings.stop_step or (not tuning and collected >= settings.draws):
            break  # the test of _running, written out: a call here costs ~20% on cheap targets
        t = state.offset[c] + s
        batch = 0
        if tempered:  # two integer divisions: skipped where no statistic needs them
            if tuning:
                batch = (s - settings.round_first) * n_batches // max(settings.round_len, 1)
            else:
                batch = collected * n_batches // settings.draws
            batch = min(max(batch, 0), n_batches - 1)

        # Explore: a Langevin step of every replica at its level.
        for r in range(n_replicas):
            lev = state.level[c, r]
            h = state.step_size[c, lev]
            if state.frozen[c]:
                accept, diverging = 0.0, True
            else:
                state.lp[c, r], accept, diverging = langevin_step(
                    logp_grad, params, state.x[c, r], state.lp[c, r], state.grad[c, r], h,
                    betas[lev], settings.metropolis, state.keys[c], t, r, noise, y, grad_y)
                if diverging and not settings.metropolis:
                    state.frozen[c] = True
            if r == tracked:
                window_accept += accept
                window_diverging += 1.0 if diverging else 0.0
                window_steps += 1.0
            if tuning and settings.adapt_step:
                state.step_size[c, lev] = dual_averaging_update(
                    state.adapt_state[c, lev], accept, settings.target_accept)
            if settings.symmetry_rank > 0 and not state.frozen[c]:
                symmetry(state, settings, c, r, t)
            if tempered:
                _accumulate(acc, c, lev, batch, betas, state.lp[c, r])

        # Communicate: level moves or swaps, every steps_per_swap steps.
        if settings.communication != NO_COMMUNICATION and (t + 1) % settings.steps_per_swap == 0:
            communicate(state, settings, acc, c, t, tuning)

        # Record.
        if tuning:
            if s == settings.n_tune - 1 and settings.adapt_step:
                for lev in range(n_levels):
                    if state.adapt_state[c, lev, 3] > 0:
                        state.step_size[c, lev] = final_step_size(state.adapt_state[c, lev])
            if (s + 1) % settings.thin == 0:
                k = (s + 1) // settings.thin - 1
                if k < n_warm:
                    lev = state.level[c, tracked]
                    copy_into(state.x[c, tracked], rec.warm_x[c, k])
                    rec.warm_lp[c, k] = state.lp[c, tracked]
                    rec.warm_accept[c, k] = window_accept / window_steps
                    rec.warm_diverging[c, k] = window_diverging > 0.0
                    rec.warm_step_size[c, k] = state.step_size[c, lev]
                    rec.warm_level[c, k] = lev
                window_accept = window_diverging = window_steps = 0.0
            if s == settings.n_tune - 1:
                window_accept = window_diverging = window_steps = 0.0
        else:
            u = s - settings.n_tune
            if n_trace > 0 and u % settings.thin == 0 and u // settings.thin < n_trace:
                acc.level_trace[c, u // settings.thin] = state.level[c, 0]
            if state.level[c, tracked] == top:
                visits += 1
                # (thin == 1 first: an integer division costs ~10 ns, a tenth of a cheap step)
                if settings.thin == 1 or visits % settings.thin == 0:
                    k = collected
                    copy_into(state.x[c, tracked], rec.x[c, k])
                    rec.lp[c, k] = state.lp[c, tracked]
                    rec.accept[c, k] = window_accept / window_steps
                    rec.diverging[c, k] = window_diverging > 0.0
                    rec.step_size[c, k] = state.step_size[c, top]
                    rec.n_steps[c, k] = int(window_steps)
                    window_accept = window_diverging = window_steps = 0.0
                    collected = k + 1
        s += 1
    state.steps[c] = s
    state.collected[c] = collected
    state.visits[c] = visits
    state.window[c, 0], state.window[c, 1], state.window[c, 2] = window_accept, window_diverging, window_steps


@jit
def run_chunk_batched(batch_logp_grad, params, n_steps, state, settings, acc, rec, communicate,
                      symmetry, precomputed):
    """:func:`run_chunk` for a target that evaluates many points in one call.

    Step-major instead of chain-major: every chain proposes, then one call of
    ``batch_logp_grad`` evaluates all ``C * R`` proposals (for matrix sensing,
    one BLAS matrix-matrix product instead of ``C * R`` matrix-vector ones:
    the operator is read from memory once per step, not once per chain),
    then every chain takes its step with :func:`_advance_chain`, whose
    target is ``precomputed`` (:func:`_precomputed`, passed as a first-class
    function so that this loop stays in the disk cache) reading those results.  The proposals are
    made exactly as ``langevin_step`` makes them (same random numbers, same
    arithmetic), so the draws are those :func:`run_chunk` would give with the
    same values of the log density.  Serial in the chains: the parallelism
    is inside the batched evaluation.
    """
    n_chains, n_replicas, dim = state.x.shape
    ys = np.empty((n_chains * n_replicas, dim))
    grads_y = np.empty((n_chains * n_replicas, dim))
    lps_y = np.empty(n_chains * n_replicas)
    next_row = np.zeros(1, dtype=np.int64)
    cache = (lps_y, grads_y, next_row)
    noise = np.empty(dim)
    running = np.zeros(n_chains, dtype=np.bool_)
    for _ in range(n_steps):
        for c in range(n_chains):
            running[c] = _running(state, settings, c)
            if running[c]:
                t = state.offset[c] + state.steps[c]
                for r in range(n_replicas):
                    lev = state.level[c, r]
                    fill_normals(state.keys[c], t, NOISE, r, noise)
                    propose(state.x[c, r], state.grad[c, r], state.step_size[c, lev],
                            settings.betas[lev], noise, ys[c * n_replicas + r])
        if not running.any():
            break
        batch_logp_grad(ys, params, grads_y, lps_y)
        for c in range(n_chains):
            if running[c]:
                next_row[0] = c * n_replicas
                _advance_chain(precomputed, cache, 1, state, settings, acc, rec, communicate,
                               symmetry, c)


#: The type of ``_precomputed``'s cache and of the function itself, as passed to
#: ``run_chunk_batched``.
PRECOMPUTED_TYPE = types.FunctionType(types.float64(
    VECTOR, types.Tuple((VECTOR, MATRIX, types.int64[::1])), VECTOR))


@jit
def _precomputed(y, cache, grad_out):
    """A "target" returning the next row of batched results (``run_chunk_batched``):
    the replicas of a chain ask for their proposals in order."""
    lps, grads, next_row = cache
    i = next_row[0]
    next_row[0] = i + 1
    copy_into(grads[i], grad_out)
    return lps[i]


@jit
def _running(state, settings, c):
    """Whether chain ``c`` takes another step in this call."""
    s = state.steps[c]
    return s < settings.stop_step and (s < settings.n_tune or state.collected[c] < settings.draws)


@jit
def communicate_step(state, settings, acc, c, t, tuning):
    """The communication of chain ``c`` after step ``t``: a simulated-tempering level
    move or parallel-tempering swaps (``kernels.communication``), round-trip
    counts, and while tuning the stochastic-approximation update of the
    simulated-tempering log weights."""
    betas = settings.betas
    n_levels = betas.shape[0]
    if settings.communication == LEVEL_MOVES:
        state.level[c, 0], state.direction[c] = level_move(
            state.level[c, 0], state.direction[c], state.lp[c, 0], betas[:settings.max_level + 1],
            state.log_weights[c], settings.lifted, state.keys[c], t,
            acc.pair_accept[c], acc.pair_tries[c])
    else:
        if settings.communication == SWAPS_DEO:
            parity = ((t + 1) // settings.steps_per_swap) % 2
        else:
            parity = 0 if uniform(state.keys[c], t, COMMUNICATE, n_levels) < 0.5 else 1
        swap_replicas(state.x[c], state.lp[c], state.grad[c], state.identity[c], betas,
                      parity, state.keys[c], t, acc.pair_accept[c], acc.pair_tries[c])
    for r in range(state.x.shape[1]):
        _round_trip(acc, state, c, r, n_levels - 1)
    if tuning and settings.adapt_weights:
        state.sa_count[c] += 1
        log_weight_update(state.log_weights[c, :settings.max_level + 1],
                          state.level[c, 0], state.sa_count[c])


@jit
def skip_communication(state, settings, acc, c, t, tuning):
    """The ``communicate`` of runs without a ladder (never called)."""
    return


@jit
def symmetry_step(state, settings, c, r, t):
    """The exact move X -> X O of a target with that symmetry (``kernels.symmetry``)."""
    k = settings.symmetry_rank
    orthogonal_move(state.x[c, r], state.grad[c, r], k, state.keys[c], t, r, np.empty((k, k)),
                    np.empty(k))


@jit
def skip_symmetry(state, settings, c, r, t):
    """The ``symmetry`` of targets without one (never called)."""
    return


#: The communicate and symmetry steps :func:`drive` chooses between.
STEP_FUNCTIONS = (communicate_step, skip_communication, symmetry_step, skip_symmetry)


@jit
def _accumulate(acc, c, lev, batch, betas, lp):
    """Add one visit of level ``lev`` to the occupancy and log Z statistics."""
    acc.occupancy[c, lev] += 1.0
    acc.energy[c, lev, batch, 0] += lp
    acc.energy[c, lev, batch, 1] += 1.0
    if lev < betas.shape[0] - 1:
        # Running log-sum-exp of (beta_{i+1} - beta_i) lp: stepping stone / importance sampling.
        v = (betas[lev + 1] - betas[lev]) * lp
        if np.isfinite(v):
            m = acc.stone[c, lev, batch, 0]
            if v > m:
                acc.stone[c, lev, batch, 1] = acc.stone[c, lev, batch, 1] * np.exp(m - v) + 1.0
                acc.stone[c, lev, batch, 0] = v
            else:
                acc.stone[c, lev, batch, 1] += np.exp(v - m)
        acc.stone[c, lev, batch, 2] += 1.0


@jit
def _round_trip(acc, state, c, r, top):
    """Count a round trip when a walker reaches the top after the bottom after the top."""
    walker = state.identity[c, r]
    lev = state.level[c, r]
    if lev == top:
        if state.phase[c, walker] == 2:
            acc.round_trips[c] += 1
        state.phase[c, walker] = 1
    elif lev == 0 and state.phase[c, walker] == 1:
        state.phase[c, walker] = 2


def compile_for(kernel, target, args, batched=False):
    """Compile ``kernel(f, target.params, *args)`` for this params type, where ``f`` is
    ``target.logp_grad`` (or ``target.batch_logp_grad`` when ``batched``, and then
    :func:`_precomputed` comes last in ``args``).

    Returns the compiled entry point, to be called with the same arguments,
    and the signatures of its first-class function arguments (``None`` for
    the others), for :func:`_resolve`.
    The target function is typed as a first-class function, so the compiled
    loop depends only on the *types* of the arguments and is found in the disk
    cache by every later process (``_jit``).  Calling the dispatcher itself
    would not do: it would type the target as a dispatcher and compile (and
    fail to cache) a second version for every target function.  The same
    holds for the ``communicate`` and ``symmetry`` steps among ``args``
    (dispatchers of :data:`STEP_FUNCTIONS`), typed here from the records.
    """
    key = (kernel, target.params_type, batched, _layout(args))
    entry = _COMPILED.get(key)
    if entry is not None:
        return entry
    function_type = batch_logp_grad_type if batched else logp_grad_type
    arg_types = [function_type(target.params_type), target.params_type]
    for a in args:
        if a is _precomputed:
            arg_types.append(PRECOMPUTED_TYPE)
        elif _is_step(a):
            signature = _step_signature(a, args)
            a.compile(signature)
            arg_types.append(types.FunctionType(signature))
        else:
            arg_types.append(numba.typeof(a))
    arg_types = tuple(arg_types)
    kernel.compile(arg_types)
    entry = kernel.overloads[arg_types].entry_point
    _COMPILED[key] = entry = (entry, [t.signature if isinstance(t, types.FunctionType) else None
                                      for t in arg_types])
    return entry


class _Resolved:
    """A compiled function argument whose address is looked up once.

    Passed a dispatcher where the compiled loop expects a first-class
    function, numba finds its address on every call, hashing the whole
    signature (state records included): about 0.1 ms per function, three
    per call, which a sweep of many short runs pays hundreds of times.
    This object gives numba the address directly (its "wrapper address
    protocol") and keeps the function alive.
    """
    __slots__ = ("function", "address")

    def __init__(self, function, signature):
        self.function = function
        self.address = _get_wrapper_address(function, signature)

    def __wrapper_address__(self):
        return self.address


def _resolve(argument, signature):
    """``argument`` as :class:`_Resolved` where ``signature`` says it is a function."""
    return argument if signature is None else _Resolved(argument, signature)


def _is_step(a):
    return any(a is f for f in STEP_FUNCTIONS)  # identity: ``in`` would compare arrays


def _step_signature(function, args):
    """``communicate(state, settings, acc, c, t, tuning)`` or ``symmetry(state, settings, c, r, t)``,
    typed from the state, settings and accumulator records among ``args``."""
    state, settings, acc = (next(a for a in args if isinstance(a, cls))
                            for cls in (ChainState, Settings, Accumulators))
    records = [numba.typeof(state), numba.typeof(settings)]
    if function is communicate_step or function is skip_communication:
        return types.none(*records, numba.typeof(acc), types.int64, types.int64, types.boolean)
    return types.none(*records, types.int64, types.int64, types.int64)


#: Entry points by kernel, params type and argument layout: ``numba.typeof`` of
#: the state records costs about a millisecond per call, which adds up over
#: the many short runs of a sweep.
_COMPILED = {}


def _layout(args):
    """What decides the numba types of ``args``: dtype, dimensions and contiguity of
    every array (records are tuples of arrays), the Python type of the rest (the
    step functions themselves)."""
    out = []
    for a in args:
        if _is_step(a) or a is _precomputed:
            out.append(a)
        elif isinstance(a, tuple):
            out.append(tuple(_layout(a)))
        elif isinstance(a, np.ndarray):
            out.append((a.dtype.str, a.ndim, a.flags.c_contiguous, a.flags.f_contiguous))
        else:
            out.append(type(a))
    return tuple(out)


def drive(target, state, settings, acc, rec, progress=None, max_steps=None):
    """Run :func:`run_chunk` (:func:`run_chunk_batched` for a target with a
    ``batch_logp_grad``) until every chain reaches ``settings.stop_step`` or has its draws.

    ``progress`` is a tqdm bar counting warm-up steps plus draws (of the
    slowest chain), or ``None``.  ``max_steps`` bounds the run steps of a
    chain (simulated tempering that never reaches the top level); reaching it
    raises ``RuntimeError``.  Returns the wall time in seconds.
    """
    batched = target.batch_logp_grad is not None
    steps = (communicate_step if settings.communication != NO_COMMUNICATION else skip_communication,
             symmetry_step if settings.symmetry_rank > 0 else skip_symmetry)
    if batched:
        kernel, function, extra = run_chunk_batched, target.batch_logp_grad, steps + (_precomputed,)
    else:
        kernel, function, extra = run_chunk, target.logp_grad, steps
    compiled, signatures = compile_for(kernel, target, (0, state, settings, acc, rec) + extra,
                                       batched)
    function = _resolve(function, signatures[0])
    extra = tuple(_resolve(a, sig) for a, sig in zip(extra, signatures[-len(extra):]))
    start = time.perf_counter()
    chunk = 1
    n_tune, draws = settings.n_tune, settings.draws

    def done():
        finished = (state.steps >= settings.stop_step) | (
            (state.steps >= n_tune) & (state.collected >= draws))
        return bool(finished.all())

    def position():
        return int(np.min(np.minimum(state.steps, n_tune) + state.collected))

    shown = position()
    while not done():
        tic = time.perf_counter()
        before = int(state.steps.sum())
        compiled(function, target.params, chunk, state, settings, acc, rec, *extra)
        target.raise_python_error()
        elapsed = time.perf_counter() - tic
        if progress is not None:
            now = position()
            progress.update(now - shown)
            shown = now
        if max_steps is not None and np.any(state.steps >= max_steps) and not done():
            raise RuntimeError(
                f"after {max_steps} steps, chain(s) {np.flatnonzero(state.collected < draws).tolist()} "
                f"had collected only {state.collected.min()} of {draws} draws at beta = 1: the level "
                "walk rarely reaches the top level (poor log weights or too wide a ladder)")
        # Grow (at most 4x) or shrink the chunk towards CHUNK_SECONDS per call.
        advanced = max(int(state.steps.sum()) - before, 1) / len(state.steps)
        per_step = max(elapsed, 1e-9) / advanced
        chunk = int(max(1, min(4 * chunk, CHUNK_SECONDS / per_step)))
    return time.perf_counter() - start


def initialize_state(target, state, settings, search_step):
    """Run :func:`initialize` (compiled for this target)."""
    compile_for(initialize, target, (state, settings, search_step))[0](
        target.logp_grad, target.params, state, settings, search_step)
    target.raise_python_error()
