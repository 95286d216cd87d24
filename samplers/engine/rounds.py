"""The Python side of a run: the compiled loop called in chunks, with the progress bar.
"""
import time

import numpy as np

from .compile import _resolve, compile_for
from .loop import (_precomputed, communicate_step, initialize, run_chunk, run_chunk_batched,
                   skip_communication, skip_symmetry, symmetry_step)
from .state import NO_COMMUNICATION

__all__ = ["drive", "initialize_state", "CHUNK_SECONDS"]

#: Target wall time of one compiled call between progress-bar updates.
CHUNK_SECONDS = 0.25


def chains_done(state, settings):
    """Which chains take no further step in a call with these settings: at ``stop_step``, or
    past warm-up with their draws (the compiled loop's ``_chain_running``, negated, for all chains)."""
    return (state.steps >= settings.stop_step) | (
        (state.steps >= settings.n_tune) & (state.collected >= settings.draws))


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
    records = (state, settings, acc, rec.draws, rec.warmup)
    compiled, signatures = compile_for(kernel, target, (0,) + records + extra,
                                       batched)
    function = _resolve(function, signatures[0])
    extra = tuple(_resolve(a, sig) for a, sig in zip(extra, signatures[-len(extra):]))
    start = time.perf_counter()
    chunk = 1
    n_tune, draws = settings.n_tune, settings.draws

    def done():
        return bool(chains_done(state, settings).all())

    def position():
        return int(np.min(np.minimum(state.steps, n_tune) + state.collected))

    shown = position()
    while not done():
        tic = time.perf_counter()
        before = int(state.steps.sum())
        compiled(function, target.params, chunk, *records, *extra)
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
