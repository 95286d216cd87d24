"""The driver: the one compiled multi-chain loop, and the Python around it.

Python side (:func:`drive`): compile the loop for the target's ``params``
type (once, then from the disk cache), call it on successive chunks of steps,
update the progress bar between chunks and time the run.  Chunk sizes adapt
so each call lasts about ``CHUNK_SECONDS``; this cannot change a single draw,
because every random number is a function of the step counter (``_rng``).

Compiled side (:func:`langevin_chunk`): chains in parallel (``prange``); for
each chain, steps ``first .. stop - 1`` of the run: one transition, step-size
adaptation while tuning, and thinned recording into preallocated outputs.

Step ``s`` of a run is warm-up while ``s < n_tune``; recorded draw ``k`` of a
phase is the state after step ``(k + 1) * thin - 1`` of that phase.  Per draw,
``acceptance_rate`` is the mean acceptance probability over the ``thin``
steps that led to it and ``diverging`` whether any of them diverged.
"""
import time

import numba
import numpy as np
from numba import prange

from ._jit import logp_grad_type, pjit
from .kernels.adaptation import (dual_averaging_init, dual_averaging_update, final_step_size,
                                 initial_step_size)
from .kernels.langevin import all_finite, langevin_step

__all__ = ["drive", "compile_for", "langevin_chunk", "langevin_init", "CHUNK_SECONDS"]

#: Target wall time of one compiled call between progress-bar updates.
CHUNK_SECONDS = 0.25


@pjit
def langevin_chunk(logp_grad, params, first, stop,
                   x, lp, grad, step_size, adapt_state, frozen, window, keys, step0,
                   metropolis, adapt, target_accept, n_tune, thin,
                   out_x, out_lp, out_accept, out_diverging, out_step,
                   warm_x, warm_lp, warm_accept, warm_diverging, warm_step):
    """Advance every chain from run step ``first`` to ``stop`` (see module docstring).

    State arrays (one row per chain, updated in place): ``x``, ``lp``,
    ``grad``, ``step_size``, ``adapt_state`` (dual averaging), ``frozen``
    (ULA chains stopped by a non-finite value) and ``window`` (acceptance sum
    and divergence count since the last recorded draw).  ``keys`` are the
    chains' Philox keys and ``step0`` the stream counter of run step 0.
    ``warm_*`` have zero draws when warm-up is not saved.
    """
    n_chains, dim = x.shape
    n_warm = warm_x.shape[1]
    for c in prange(n_chains):
        noise = np.empty(dim)
        y = np.empty(dim)
        grad_y = np.empty(dim)
        for s in range(first, stop):
            h = step_size[c]
            if frozen[c]:
                accept, diverging = 0.0, True
            else:
                lp[c], accept, diverging = langevin_step(
                    logp_grad, params, x[c], lp[c], grad[c], h, 1.0, metropolis,
                    keys[c], step0 + s, noise, y, grad_y)
                if diverging and not metropolis:
                    frozen[c] = True
            window[c, 0] += accept
            window[c, 1] += 1.0 if diverging else 0.0
            if s < n_tune:
                if adapt:
                    step_size[c] = dual_averaging_update(adapt_state[c], accept, target_accept)
                    if s == n_tune - 1:
                        step_size[c] = final_step_size(adapt_state[c])
                if (s + 1) % thin == 0:
                    k = (s + 1) // thin - 1
                    if k < n_warm:
                        warm_x[c, k] = x[c]
                        warm_lp[c, k] = lp[c]
                        warm_accept[c, k] = window[c, 0] / thin
                        warm_diverging[c, k] = window[c, 1] > 0.0
                        warm_step[c, k] = h
                    window[c, 0] = 0.0
                    window[c, 1] = 0.0
                if s == n_tune - 1:
                    window[c, 0] = 0.0
                    window[c, 1] = 0.0
            else:
                u = s - n_tune
                if (u + 1) % thin == 0:
                    k = (u + 1) // thin - 1
                    out_x[c, k] = x[c]
                    out_lp[c, k] = lp[c]
                    out_accept[c, k] = window[c, 0] / thin
                    out_diverging[c, k] = window[c, 1] > 0.0
                    out_step[c, k] = h
                    window[c, 0] = 0.0
                    window[c, 1] = 0.0


def compile_for(kernel, target, args):
    """Compile ``kernel(target.logp_grad, target.params, *args)`` for this params type.

    Returns the compiled entry point, to be called with the same arguments.
    The target function is typed as a first-class function, so the compiled
    loop depends only on the *types* of the arguments and is found in the disk
    cache by every later process (``_jit``).  Calling the dispatcher itself
    would not do: it would type the target as a dispatcher and compile (and
    fail to cache) a second version for every target function.
    """
    arg_types = [logp_grad_type(target.params_type), target.params_type]
    arg_types += [numba.typeof(a) for a in args]
    arg_types = tuple(arg_types)
    kernel.compile(arg_types)
    return kernel.overloads[arg_types].entry_point


def drive(kernel, target, n_steps, state_args, progressbar=True, desc="sampling"):
    """Run ``kernel`` over ``n_steps`` steps in chunks; return the wall time in seconds.

    ``kernel(logp_grad, params, first, stop, *state_args)`` advances every
    chain over steps ``first .. stop - 1``.
    """
    compiled = compile_for(kernel, target, (0, 0) + tuple(state_args))
    bar = None
    if progressbar:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_steps, desc=desc, unit="step", leave=True)
    start = time.perf_counter()
    first, chunk = 0, 1
    try:
        while first < n_steps:
            stop = min(first + chunk, n_steps)
            tic = time.perf_counter()
            compiled(target.logp_grad, target.params, first, stop, *state_args)
            target.raise_python_error()
            elapsed = time.perf_counter() - tic
            if bar is not None:
                bar.update(stop - first)
            # Grow (at most 4x) or shrink the chunk towards CHUNK_SECONDS per call.
            per_step = max(elapsed, 1e-9) / (stop - first)
            chunk = int(max(1, min(4 * chunk, CHUNK_SECONDS / per_step)))
            first = stop
    finally:
        if bar is not None:
            bar.close()
    return time.perf_counter() - start


@pjit
def langevin_init(logp_grad, params, x, lp, grad, step_size, adapt_state, keys,
                  search_step, target_accept):
    """Log density and gradient at the initial points; with ``search_step``, an
    initial step size per chain (``initial_step_size``) and a fresh dual-averaging state."""
    n_chains, dim = x.shape
    for c in prange(n_chains):
        lp[c] = logp_grad(x[c], params, grad[c])
        if search_step and all_finite(lp[c], grad[c]):
            step_size[c] = initial_step_size(
                logp_grad, params, x[c], lp[c], grad[c], 1.0, target_accept, keys[c],
                np.empty(dim), np.empty(dim), np.empty(dim))
            dual_averaging_init(adapt_state[c], step_size[c])
