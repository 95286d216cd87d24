"""The BlackJAX side of the benchmarks: MALA on many chains, as BlackJAX's docs run it.

``blackjax.mala`` with ``jax.vmap`` over chains inside ``jax.lax.scan`` over
steps, ``jax.jit``-compiled; every position and acceptance probability is
kept, as ``samplers`` keeps them.
"""
import jax
import numpy as np

__all__ = ["mala_runner"]


def mala_runner(logdensity, step_size, x0, steps, seed):
    """A compiled, warmed-up ``run() -> (positions, acceptance)`` for chains started at ``x0``."""
    import blackjax
    import jax.numpy as jnp

    mala = blackjax.mala(logdensity, step_size)

    @jax.jit
    def run_chains(key, positions):
        states = jax.vmap(mala.init)(positions)

        def one_step(states, step_key):
            keys = jax.random.split(step_key, positions.shape[0])
            states, info = jax.vmap(mala.step)(keys, states)
            return states, (states.position, info.acceptance_rate)

        _, (xs, accept) = jax.lax.scan(one_step, states, jax.random.split(key, steps))
        return xs, accept

    key = jax.random.key(seed)
    positions = jnp.asarray(np.reshape(x0, (np.shape(x0)[0], -1)))
    jax.block_until_ready(run_chains(key, positions))  # warm-up: trace and compile
    return lambda: jax.block_until_ready(run_chains(key, positions))
