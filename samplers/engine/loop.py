"""The compiled loop: every chain's steps (explore, communicate, record), in chunks.

See the package docstring (``samplers.engine``) for what a step does.
"""
import numpy as np
from numba import types

from .._jit import MATRIX, VECTOR, borrowed, jit, scratch_vector
from .._rng import COMMUNICATE, NOISE, fill_normals, uniform
from ..kernels.adaptation import (dual_averaging_started, dual_averaging_update, final_step_size,
                                  log_weight_update)
from ..kernels.communication import level_move, swap_replicas
from ..kernels.langevin import (DIVERGED, MOVED_OR_REJECTED, OUTSIDE_SUPPORT, copy_into,
                                langevin_step, propose)
from ..kernels.reference import ReferenceArrays, has_reference, reference_draw, reference_logq_grad
from ..kernels.symmetry import orthogonal_move
from .state import LEVEL_MOVES, NO_COMMUNICATION, SWAPS_DEO

__all__ = ["run_chunk", "run_chunk_batched", "communicate_step", "skip_communication",
           "symmetry_step", "skip_symmetry", "draw_from_reference", "skip_reference",
           "reference_logq", "skip_logq", "STEP_FUNCTIONS", "PRECOMPUTED_TYPE", "REFRESH_TYPE",
           "LOGQ_TYPE"]


@jit(nogil=True)
def run_chunk(logp_grad, params, n_steps, state, settings, acc, draws, warmup, communicate,
              symmetry, refresh, logq, first, stop):
    """Advance chains ``first, ..., stop - 1`` by up to ``n_steps`` steps each (see the
    module docstring).

    ``communicate``, ``symmetry``, ``refresh`` and ``logq`` are
    :func:`communicate_step`, :func:`symmetry_step`, :func:`draw_from_reference`
    and :func:`reference_logq` or the no-ops :func:`skip_communication`,
    :func:`skip_symmetry`, :func:`skip_reference` and :func:`skip_logq`,
    passed as first-class functions: compiled on their own rather than inlined
    into this loop, they keep its cold compilation (LLVM's optimisation of one
    large function) to a few seconds for plain Langevin, which never compiles
    the others (the reference's log density alone: 0.5 s).

    The chain loop and the step loop are one compiled function, the entry
    point itself: a separate compiled function per chain would be optimised
    twice by LLVM on a cold start, once on its own and once more where it is
    linked into its caller (1.2 s of the first ``sample()``).

    Serial, and without the GIL: the engine runs blocks of chains on threads
    (``rounds.run_round``).  A ``prange`` here would add about 3.4 s to the
    first compilation on a machine (numba's parallel lowering of a loop whose
    body takes every record), for the same parallelism: chains never interact.
    """
    # Borrowed arrays and stack scratch: no reference counting in the loop.
    params, state, settings, acc, draws, warmup = borrowed((params, state, settings, acc, draws,
                                                            warmup))
    n_replicas, dim = state.x.shape[1:]
    betas = settings.betas
    n_levels = betas.shape[0]
    top = n_levels - 1
    tempered = n_levels > 1  # occupancy and log Z statistics are kept for ladders only
    tracked = n_replicas - 1
    n_warm = warmup.x.shape[1]
    n_trace = acc.level_trace.shape[1]
    n_batches = acc.stone.shape[2]
    noise = scratch_vector(dim)
    y = scratch_vector(dim)
    grad_y = scratch_vector(dim)
    ref = _reference(settings)
    path = has_reference(ref)
    gq_y = scratch_vector(state.grad_q.shape[2])
    for c in range(first, stop):
        # The counters written every step live in locals until the end of the call:
        # the chains' entries share cache lines, which two threads writing them
        # every step would pass back and forth.
        s = state.steps[c]
        collected = state.collected[c]
        visits = state.visits[c]
        window_accept, window_diverging, window_outside, window_steps = (
            state.window[c, 0], state.window[c, 1], state.window[c, 2], state.window[c, 3])
        for _ in range(n_steps):
            if not _chain_running(s, collected, settings):
                break
            tuning = s < settings.n_tune
            t = state.offset[c] + s
            batch = 0
            if tempered:  # two integer divisions: skipped where no statistic needs them
                if tuning:
                    batch = (s - settings.round_first) * n_batches // max(settings.round_len, 1)
                else:
                    batch = collected * n_batches // settings.draws
                batch = min(max(batch, 0), n_batches - 1)

            # Explore: a Langevin step of every replica at its level; on a reference
            # path, the level beta = 0 is the reference itself, drawn exactly.
            for r in range(n_replicas):
                lev = state.level[c, r]
                h = state.step_size[c, lev]
                if state.frozen[c]:
                    accept, status = 0.0, DIVERGED
                elif path and betas[lev] == 0.0:
                    state.lq[c, r] = refresh(settings.ref_weights, settings.ref_factors,
                                             state.x[c, r], state.grad_q[c, r], state.keys[c], t, r,
                                             noise)
                    state.lp[c, r] = logp_grad(state.x[c, r], params, state.grad[c, r])
                    accept, status = 1.0, MOVED_OR_REJECTED
                else:
                    state.lp[c, r], state.lq[c, r], accept, status = langevin_step(
                        logp_grad, params, logq, ref, state.x[c, r], state.lp[c, r], state.lq[c, r],
                        state.grad[c, r], state.grad_q[c, r], h, betas[lev], settings.metropolis,
                        state.keys[c], t, r, noise, y, grad_y, gq_y)
                    if status == DIVERGED and not settings.metropolis:
                        state.frozen[c] = True
                if r == tracked:
                    window_accept += accept
                    window_diverging += 1.0 if status == DIVERGED else 0.0
                    window_outside += 1.0 if status == OUTSIDE_SUPPORT else 0.0
                    window_steps += 1.0
                if tuning and settings.adapt_step:
                    state.step_size[c, lev] = dual_averaging_update(
                        state.adapt_state[c, lev], accept, settings.target_accept)
                if settings.symmetry_rank > 0 and not state.frozen[c]:
                    symmetry(state, settings, c, r, t)
                if tempered:
                    # The path's log ratio between levels: log p - log q (log q = 0: classic).
                    _accumulate(acc, c, lev, batch, betas, state.lp[c, r] - state.lq[c, r])

            # Keep a few positions of the round, the replicas in turn (mode discovery).
            if tuning and acc.explored.shape[1] > 0:
                _keep_explored(acc.explored[c], acc.explored_level[c], state.x[c], state.level[c],
                               settings.round_first, settings.round_len, s)

            # Communicate: level moves or swaps, every steps_per_swap steps.
            if settings.communication != NO_COMMUNICATION and (t + 1) % settings.steps_per_swap == 0:
                communicate(state, settings, acc, c, t, tuning)

            # Record.
            if tuning:
                if s == settings.n_tune - 1 and settings.adapt_step:
                    for lev in range(n_levels):
                        if dual_averaging_started(state.adapt_state[c, lev]):
                            state.step_size[c, lev] = final_step_size(state.adapt_state[c, lev])
                if (s + 1) % settings.thin == 0:
                    k = (s + 1) // settings.thin - 1
                    if k < n_warm:
                        lev = state.level[c, tracked]
                        _record_row(warmup, c, k, state, tracked, lev, window_accept,
                                    window_diverging, window_outside, window_steps)
                        warmup.level[c, k] = lev
                    window_accept = window_diverging = window_outside = window_steps = 0.0
                if s == settings.n_tune - 1:
                    window_accept = window_diverging = window_outside = window_steps = 0.0
            else:
                u = s - settings.n_tune
                if n_trace > 0 and u % settings.thin == 0 and u // settings.thin < n_trace:
                    acc.level_trace[c, u // settings.thin] = state.level[c, 0]
                if state.level[c, tracked] == top:
                    visits += 1
                    # (thin == 1 first: an integer division costs ~10 ns, a tenth of a cheap step)
                    if settings.thin == 1 or visits % settings.thin == 0:
                        k = collected
                        _record_row(draws, c, k, state, tracked, top, window_accept,
                                    window_diverging, window_outside, window_steps)
                        draws.n_steps[c, k] = int(window_steps)
                        window_accept = window_diverging = window_outside = window_steps = 0.0
                        collected = k + 1
            s += 1
        state.steps[c] = s
        state.collected[c] = collected
        state.visits[c] = visits
        state.window[c, 0], state.window[c, 1] = window_accept, window_diverging
        state.window[c, 2], state.window[c, 3] = window_outside, window_steps


@jit
def run_chunk_batched(batch_logp_grad, params, n_steps, state, settings, acc, draws, warmup,
                      communicate, symmetry, refresh, logq, precomputed):
    """:func:`run_chunk` for a target that evaluates many points in one call.

    Step-major instead of chain-major: every chain proposes, then one call of
    ``batch_logp_grad`` evaluates all ``C * R`` proposals (for matrix sensing,
    one BLAS matrix-matrix product instead of ``C * R`` matrix-vector ones:
    the operator is read from memory once per step, not once per chain),
    then every chain takes its step with :func:`run_chunk`, whose
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
            running[c] = _chain_running(state.steps[c], state.collected[c], settings)
            if running[c]:
                t = state.offset[c] + state.steps[c]
                for r in range(n_replicas):
                    lev = state.level[c, r]
                    fill_normals(state.keys[c], t, NOISE, r, noise)
                    propose(state.x[c, r], state.grad[c, r], state.grad_q[c, r],
                            state.step_size[c, lev], settings.betas[lev], noise,
                            ys[c * n_replicas + r])
        if not running.any():
            break
        batch_logp_grad(ys, params, grads_y, lps_y)
        for c in range(n_chains):
            if running[c]:
                next_row[0] = c * n_replicas
                run_chunk(precomputed, cache, 1, state, settings, acc, draws, warmup,
                          communicate, symmetry, refresh, logq, c, c + 1)


#: The type of ``_precomputed``'s cache and of the function itself, as passed to
#: ``run_chunk_batched``.
PRECOMPUTED_TYPE = types.FunctionType(types.float64(
    VECTOR, types.Tuple((VECTOR, MATRIX, types.int64[::1])), VECTOR))


@jit(no_cpython_wrapper=True)
def _precomputed(y, cache, grad_out):
    """A "target" returning the next row of batched results (``run_chunk_batched``):
    the replicas of a chain ask for their proposals in order."""
    lps, grads, next_row = cache
    i = next_row[0]
    next_row[0] = i + 1
    copy_into(grads[i], grad_out)
    return lps[i]


@jit(no_cpython_wrapper=True)
def draw_from_reference(weights, factors, x, grad_q, key, t, r, noise):
    """A reference path's level beta = 0 (the ``refresh`` of :func:`run_chunk`): ``x``
    becomes an exact draw from the reference (``kernels.reference``, its arrays
    ``weights`` and ``factors``) from the streams of step ``t`` and replica ``r``;
    returns log q there and writes its gradient."""
    ref = ReferenceArrays(weights, factors)
    reference_draw(ref, key, t, r, noise, x)
    return reference_logq_grad(x, ref, grad_q, noise)


@jit(no_cpython_wrapper=True)
def skip_reference(weights, factors, x, grad_q, key, t, r, noise):
    """The ``refresh`` of runs on the classic path (never called)."""
    return 0.0


#: The type of the ``refresh`` argument of :func:`run_chunk`.
REFRESH_TYPE = types.FunctionType(types.float64(
    types.float64[:, ::1], types.float64[:, :, ::1], VECTOR, VECTOR, types.uint64[::1],
    types.int64, types.int64, VECTOR))


@jit(no_cpython_wrapper=True)
def reference_logq(weights, factors, x, grad_q, scratch):
    """A reference path's log q at ``x`` (the ``logq`` of :func:`run_chunk`; the
    reference's arrays ``weights`` and ``factors``), its gradient written to ``grad_q``."""
    return reference_logq_grad(x, ReferenceArrays(weights, factors), grad_q, scratch)


@jit(no_cpython_wrapper=True)
def skip_logq(weights, factors, x, grad_q, scratch):
    """The ``logq`` of runs on the classic path (never called)."""
    return 0.0


#: The type of the ``logq`` argument of :func:`run_chunk`.
LOGQ_TYPE = types.FunctionType(types.float64(
    types.float64[:, ::1], types.float64[:, :, ::1], VECTOR, VECTOR, VECTOR))


@jit(no_cpython_wrapper=True)
def _keep_explored(explored, explored_level, x, level, round_first, round_len, s):
    """Row ``k`` of ``explored`` (one chain's) at round step ``k * interval``: replica
    ``k % R`` of ``x`` (the chain's replicas), its level (of ``level``) in ``explored_level``."""
    n_kept = explored.shape[0]
    interval = max(round_len // n_kept, 1)
    k = s - round_first
    if k % interval == 0 and k // interval < n_kept:
        r = (k // interval) % x.shape[0]
        copy_into(x[r], explored[k // interval])
        explored_level[k // interval] = level[r]


@jit(inline="always")
def _reference(settings):
    """The path's reference (``kernels.reference``) from its flat fields in ``settings``."""
    return ReferenceArrays(settings.ref_weights, settings.ref_factors)


@jit(inline="always")
def _chain_running(steps, collected, settings):
    """Whether a chain that has made ``steps`` run steps and recorded ``collected`` draws
    takes another step in this call: it is below ``stop_step``, and still tuning or short
    of its draws.  (``rounds.chains_done`` is the same test on all chains at once, in NumPy.)

    Inlined (numba IR): as a compiled call, this test cost ~20% of a step on cheap targets.
    """
    return steps < settings.stop_step and (steps < settings.n_tune or collected < settings.draws)


@jit(inline="always")
def _record_row(block, c, k, state, r, lev, window_accept, window_diverging, window_outside,
                window_steps):
    """Write replica ``r`` of chain ``c`` (at level ``lev``) as row ``k`` of ``block``
    (a ``DrawRecord``), with the acceptance, divergences and proposals outside the
    support of the window since the last row."""
    copy_into(state.x[c, r], block.x[c, k])
    block.lp[c, k] = state.lp[c, r]
    block.accept[c, k] = window_accept / window_steps
    block.diverging[c, k] = window_diverging > 0.0
    block.outside_support[c, k] = window_outside > 0.0
    block.step_size[c, k] = state.step_size[c, lev]


@jit(no_cpython_wrapper=True)
def communicate_step(state, settings, acc, c, t, tuning):
    """The communication of chain ``c`` after step ``t``: a simulated-tempering level
    move or parallel-tempering swaps (``kernels.communication``), round-trip
    counts, and while tuning the stochastic-approximation update of the
    simulated-tempering log weights."""
    betas = settings.betas
    n_levels = betas.shape[0]
    if settings.communication == LEVEL_MOVES:
        state.level[c, 0], state.direction[c] = level_move(
            state.level[c, 0], state.direction[c], state.lp[c, 0] - state.lq[c, 0],
            betas[:settings.max_level + 1],
            state.log_weights[c], settings.lifted, state.keys[c], t,
            acc.pair_accept[c], acc.pair_tries[c])
    else:
        if settings.communication == SWAPS_DEO:
            parity = ((t + 1) // settings.steps_per_swap) % 2
        else:
            parity = 0 if uniform(state.keys[c], t, COMMUNICATE, n_levels) < 0.5 else 1
        swap_replicas(state.x[c], state.lp[c], state.grad[c], state.lq[c], state.grad_q[c],
                      state.identity[c], betas, parity, state.keys[c], t, acc.pair_accept[c],
                      acc.pair_tries[c])
    for r in range(state.x.shape[1]):
        _round_trip(acc, state, c, r, n_levels - 1)
    if tuning and settings.adapt_weights:
        state.sa_count[c] += 1
        log_weight_update(state.log_weights[c, :settings.max_level + 1],
                          state.level[c, 0], state.sa_count[c])


@jit(no_cpython_wrapper=True)
def skip_communication(state, settings, acc, c, t, tuning):
    """The ``communicate`` of runs without a ladder (never called)."""
    return


@jit(no_cpython_wrapper=True)
def symmetry_step(state, settings, c, r, t):
    """The exact move X -> X O of a target with that symmetry (``kernels.symmetry``)."""
    k = settings.symmetry_rank
    orthogonal_move(state.x[c, r], state.grad[c, r], k, settings.symmetry_rows, state.keys[c], t,
                    r, np.empty((k, k)), np.empty(k))


@jit(no_cpython_wrapper=True)
def skip_symmetry(state, settings, c, r, t):
    """The ``symmetry`` of targets without one (never called)."""
    return


#: The communicate, symmetry, refresh and logq steps :func:`rounds.run_round` chooses between.
STEP_FUNCTIONS = (communicate_step, skip_communication, symmetry_step, skip_symmetry,
                  draw_from_reference, skip_reference, reference_logq, skip_logq)


@jit(no_cpython_wrapper=True)
def _accumulate(acc, c, lev, batch, betas, lp):
    """Add one visit of level ``lev`` to the occupancy and log Z statistics: the
    stepping-stone sums of ``exp((beta_{i+1} - beta_i) lp)`` at level ``i`` (forward)
    and of ``exp(-(beta_i - beta_{i-1}) lp)`` (reverse; ``tempering.evidence``)."""
    acc.occupancy[c, lev] += 1.0
    if lev < betas.shape[0] - 1:
        _add_exp(acc.stone, c, lev, batch, (betas[lev + 1] - betas[lev]) * lp)
    if lev > 0:
        _add_exp(acc.stone_reverse, c, lev, batch, (betas[lev - 1] - betas[lev]) * lp)


@jit(inline="always")
def _add_exp(record, c, lev, batch, v):
    """Add ``exp(v)`` to the running sums ``record[c, lev, batch]`` = (m, sum exp(v - m),
    count, sum exp(2 (v - m))), ``m`` the running maximum (a log-sum-exp without overflow)."""
    if np.isfinite(v):
        m = record[c, lev, batch, 0]
        if v > m:
            scale = np.exp(m - v)
            record[c, lev, batch, 1] = record[c, lev, batch, 1] * scale + 1.0
            record[c, lev, batch, 3] = record[c, lev, batch, 3] * scale * scale + 1.0
            record[c, lev, batch, 0] = v
        else:
            e = np.exp(v - m)
            record[c, lev, batch, 1] += e
            record[c, lev, batch, 3] += e * e
    record[c, lev, batch, 2] += 1.0


@jit(no_cpython_wrapper=True)
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
