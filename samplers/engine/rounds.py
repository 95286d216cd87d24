"""The rounds of a run: explore and communicate (the compiled loop, in chunks), adapt, record.

:func:`run` executes a plan (``plan.RunPlan``) from a start (``start``):
every tuning round runs the compiled loop to the round's last step
(:func:`run_round`; explore and communicate happen in the loop, step by
step) and then calls the plan's adaptation (``Adaptation.adapt``); after
warm-up, one more round collects the draws.  As Pigeons.jl's
``run_one_round!`` / ``adapt`` split.
"""
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba
import numpy as np

from ..targets.interface import call_batch_target, call_target
from .compile import _resolve, compile_for, is_loaded
from .start import refresh_path
from .loop import (_precomputed, communicate_step, draw_from_reference, reference_logq,
                   run_chunk, run_chunk_batched, skip_communication, skip_logq, skip_reference,
                   skip_symmetry, symmetry_step)
from .state import LEVEL_MOVES, NO_COMMUNICATION, new_accumulators, new_records

__all__ = ["run", "Result", "run_round", "chains_done", "CHUNK_SECONDS",
           "MIN_STEPS_PER_DRAW"]

#: What the progress bar says while the loop compiles or loads from the disk cache.
COMPILING = "compiling (the first run on a machine takes ~9 s; then cached)"
#: Target wall time of one compiled call between progress-bar updates.
CHUNK_SECONDS = 0.25
#: The sampling round's step budget per chain: max(draws, MIN_BUDGET_DRAWS) x thin x
#: max(MIN_STEPS_PER_DRAW, STEPS_PER_DRAW_PER_LEVEL x L) after warm-up.  Only simulated
#: tempering can reach it (its draws are visits of the top level); it then returns the
#: draws every chain has, with a warning, rather than lose the run.
MIN_STEPS_PER_DRAW = 50
STEPS_PER_DRAW_PER_LEVEL = 10
MIN_BUDGET_DRAWS = 100


class Result(NamedTuple):
    """What a run leaves: the records, the final state and settings, the statistics of the
    sampling round (``acc``) and the wall time of the compiled loop."""
    records: object
    state: object
    settings: object
    acc: object
    wall: float


def run(target, plan, start, run_args, progress=None):
    """Execute ``plan`` on ``target`` from ``start`` (``start.fresh_start`` or
    ``start.resumed_start``) for ``run_args`` (``start.RunArgs``).

    ``progress``: the label of a tqdm progress bar counting warm-up steps plus
    draws, or ``None`` for none.  Returns a :class:`Result`.
    """
    state, settings = start
    n_chains, _, dim = state.x.shape
    tune, draws, thin = plan.tune, run_args.draws, run_args.thin
    n_warm = tune // thin if run_args.save_warmup else 0
    rec = new_records(n_chains, draws, n_warm, dim)
    bar = None
    if progress is not None:
        from tqdm.auto import tqdm

        # Warm-up counts steps, sampling counts draws: a draw of simulated tempering
        # takes a random number of steps (its visits of the top level).
        bar = tqdm(total=tune + draws, desc=f"{progress} (warm-up steps, then draws)", unit="it",
                   leave=True)
    wall = 0.0
    try:
        first = 0
        for stop in plan.rounds:
            acc = new_accumulators(n_chains, settings.betas.size,
                                   explored=(plan.explored_positions, dim))
            settings = settings._replace(stop_step=stop, round_first=first, round_len=stop - first)
            wall += run_round(target, state, settings, acc, rec, bar)
            if plan.adaptation is not None:
                before = settings.ref_weights
                settings = plan.adaptation.adapt(target, state, settings, acc, stop == tune)
                if settings.ref_weights is not before:
                    refresh_path(target, state, settings, before)
            first = stop
        n_levels = settings.betas.size
        trace_len = draws * n_levels if settings.communication == LEVEL_MOVES else 0
        acc = new_accumulators(n_chains, n_levels, trace_len)
        budget = tune + max(draws, MIN_BUDGET_DRAWS) * thin * max(
            MIN_STEPS_PER_DRAW, STEPS_PER_DRAW_PER_LEVEL * n_levels)
        settings = settings._replace(stop_step=budget, round_first=tune, round_len=1)
        wall += run_round(target, state, settings, acc, rec, bar)
    finally:
        if bar is not None:
            bar.close()
    short = state.collected < draws
    if short.any():
        kept = int(state.collected.min())
        message = (f"after {budget - tune} steps past warm-up, chain(s) {np.flatnonzero(short).tolist()} "
                   f"had only {kept} of {draws} draws at beta = 1: the level walk rarely reaches the "
                   "top level (poor log weights, too wide a ladder, or too short a warm-up)")
        # Never thrown away: even with no draw, the diagnostics (occupancy, weights, round
        # trips, the level trace) say why, and the state can be resumed.
        warnings.warn(f"{message}; returning the first {kept} draws of every chain"
                      + (" (none: see the tempering group)" if kept == 0 else ""),
                      RuntimeWarning, stacklevel=4)
        rec = rec._replace(draws=type(rec.draws)(*(column[:, :kept] for column in rec.draws)))
    return Result(rec, state, settings, acc, wall)


def chains_done(state, settings):
    """Which chains take no further step in a call with these settings: at ``stop_step``, or
    past warm-up with their draws (the compiled loop's ``_chain_running``, negated, for all chains)."""
    return (state.steps >= settings.stop_step) | (
        (state.steps >= settings.n_tune) & (state.collected >= settings.draws))


def run_round(target, state, settings, acc, rec, progress=None):
    """Run :func:`run_chunk` (:func:`run_chunk_batched` for a target with a
    ``batch_logp_grad``) until every chain reaches ``settings.stop_step`` or has its draws.

    ``progress`` is a tqdm bar counting warm-up steps plus draws (of the
    slowest chain), or ``None``.  Returns the wall time in seconds.
    """
    batched = target.batch_logp_grad is not None
    # A reference path's state carries grad log q from the start, while its reference
    # may still be empty (log q = 0, before the first round's mode discovery): the
    # explorer evaluates log q wherever there is a grad_q, the exact draw where there
    # is a reference.
    steps = (communicate_step if settings.communication != NO_COMMUNICATION else skip_communication,
             symmetry_step if settings.symmetry_rank > 0 else skip_symmetry,
             draw_from_reference if settings.ref_weights.shape[0] > 0 else skip_reference,
             reference_logq if state.grad_q.shape[2] > 0 else skip_logq)
    if batched:  # one call for all chains: their proposals are evaluated together
        kernel, function, extra = run_chunk_batched, call_batch_target, steps + (_precomputed,)
        blocks = [()]
    else:
        kernel, function, extra = run_chunk, call_target, steps
        blocks = chain_blocks(len(state.steps))
    records = (state, settings, acc, rec.draws, rec.warmup)
    if (progress is not None and progress.n == 0
            and not is_loaded(kernel, target, (0,) + records + extra + blocks[0], batched)):
        # The first run on a machine compiles the loop (about 6 s, once): say so,
        # and restart the clock after, so the rate and ETA are those of the sampling.
        # (First round only: later rounds reuse its compiled loop.)
        progress.set_postfix_str(COMPILING, refresh=True)
    compiled, signatures = compile_for(kernel, target, (0,) + records + extra + blocks[0],
                                       batched)
    if progress is not None and progress.postfix == COMPILING:
        progress.set_postfix_str("", refresh=False)
        progress.reset(total=progress.total)
        progress.update(int(np.min(np.minimum(state.steps, settings.n_tune) + state.collected)))
    function = _resolve(function, signatures[0])
    handle = target.handle(batched)
    extra = tuple(_resolve(a, sig) for a, sig in zip(extra, signatures[3 + len(records):]))
    start = time.perf_counter()
    chunk = 1
    n_tune = settings.n_tune

    def done():
        return bool(chains_done(state, settings).all())

    def position():
        return int(np.min(np.minimum(state.steps, n_tune) + state.collected))

    shown = position()
    while not done():
        tic = time.perf_counter()
        before = int(state.steps.sum())
        on_threads(blocks, lambda block: compiled(function, handle, chunk, *records, *extra, *block))
        target.raise_python_error()
        elapsed = time.perf_counter() - tic
        if progress is not None:
            now = position()
            progress.update(now - shown)
            shown = now
        # Grow (at most 4x) or shrink the chunk towards CHUNK_SECONDS per call.
        advanced = max(int(state.steps.sum()) - before, 1) / len(state.steps)
        per_step = max(elapsed, 1e-9) / advanced
        chunk = int(max(1, min(4 * chunk, CHUNK_SECONDS / per_step)))
    return time.perf_counter() - start


def chain_blocks(n_chains):
    """Contiguous blocks ``(first, stop)`` of the chains, one per thread: as many as
    ``numba.get_num_threads()`` (the package's thread count, ``numba.set_num_threads``)
    allows.  Chains never interact and each has its own random streams, so the
    draws do not depend on the blocks."""
    n = max(1, min(numba.get_num_threads(), n_chains))
    edges = [n_chains * i // n for i in range(n + 1)]
    return [(first, stop) for first, stop in zip(edges[:-1], edges[1:])]


def on_threads(blocks, call):
    """``call(block)`` for every block, at once on a pool of threads (the compiled loop
    releases the GIL); the calling thread takes the first block."""
    if len(blocks) == 1:
        call(blocks[0])
        return
    futures = [_pool(len(blocks) - 1).submit(call, block) for block in blocks[1:]]
    call(blocks[0])
    for future in futures:
        future.result()


_POOL = [None]


def _pool(n):
    """A pool of at least ``n`` worker threads, kept for the process."""
    if _POOL[0] is None or _POOL[0]._max_workers < n:
        _POOL[0] = ThreadPoolExecutor(n, thread_name_prefix="samplers")
    return _POOL[0]
