"""The records of a run: chain state, settings, accumulators, draws; fresh, saved and restored.

All are NamedTuples of arrays (and scalars), passed to the compiled loop
(``loop``) and updated there in place; the Python side allocates them.
"""
from typing import NamedTuple

import numpy as np

__all__ = ["ChainState", "Settings", "Accumulators", "Records", "new_state", "new_accumulators",
           "new_records", "N_BATCHES", "NO_COMMUNICATION", "LEVEL_MOVES", "SWAPS_DEO", "SWAPS_SEO"]

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
