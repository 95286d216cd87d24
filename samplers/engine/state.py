"""The records of a run: chain state, settings, accumulators, draws; fresh, saved and restored.

All are NamedTuples of arrays (and scalars), passed to the compiled loop
(``loop``) and updated there in place; the Python side allocates them.
"""
from typing import NamedTuple

import numpy as np

from ..kernels.adaptation import DUAL_AVERAGING_SLOTS
from ..kernels.reference import ReferenceArrays

__all__ = ["ChainState", "Settings", "Accumulators", "DrawRecord", "Records", "new_state",
           "new_accumulators", "new_records", "new_draw_record", "save_state", "restore_state",
           "saved_reference", "no_reference", "reference_of", "with_reference",
           "level_dtype", "N_BATCHES", "NO_COMMUNICATION", "LEVEL_MOVES", "SWAPS_DEO", "SWAPS_SEO"]

#: Batches per chain for the batch-means standard errors of log Z.
N_BATCHES = 20

NO_COMMUNICATION, LEVEL_MOVES, SWAPS_DEO, SWAPS_SEO = 0, 1, 2, 3


class ChainState(NamedTuple):
    """Per-chain arrays (C chains, R replicas, L levels, d coordinates), updated in place."""
    x: np.ndarray            # (C, R, d) positions
    lp: np.ndarray           # (C, R) untempered log density at x
    grad: np.ndarray         # (C, R, d) its gradient
    lq: np.ndarray           # (C, R) the path's reference log density at x (0: classic path)
    grad_q: np.ndarray       # (C, R, d) its gradient ((C, R, 0) on the classic path)
    level: np.ndarray        # (C, R) level of each replica
    identity: np.ndarray     # (C, R) walker at each slot (moves with swaps)
    phase: np.ndarray        # (C, R) per walker: 0 unknown, 1 seen top, 2 then bottom
    direction: np.ndarray    # (C,) lifted level-move direction, +1 or -1
    step_size: np.ndarray    # (C, L)
    adapt_state: np.ndarray  # (C, L, DUAL_AVERAGING_SLOTS) dual averaging per level
    log_weights: np.ndarray  # (C, L) simulated tempering, estimates of -log Z_i
    sa_count: np.ndarray     # (C,) stochastic-approximation updates so far
    frozen: np.ndarray       # (C,) ULA chain stopped by a non-finite value
    window: np.ndarray       # (C, 4) since the last draw: acceptance sum, divergences, outside support, steps
    keys: np.ndarray         # (C, 2) Philox keys
    offset: np.ndarray       # (C,) stream counter of run step 0 (steps of earlier runs)
    steps: np.ndarray        # (C,) run steps done
    visits: np.ndarray       # (C,) top-level visits after warm-up
    collected: np.ndarray    # (C,) draws recorded


class Settings(NamedTuple):
    """Scalars and the ladder, fixed within one call of :func:`rounds.run_round`."""
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
    symmetry_rows: int       # d: the move acts on the first d * symmetry_rank coordinates
    # The path's reference (``ReferenceArrays``, flat: the parallel loop cannot take a
    # record nested in a record; :func:`reference_of`, :func:`with_reference`).  No
    # components: the classic path p^beta.
    ref_weights: np.ndarray
    ref_factors: np.ndarray


class Accumulators(NamedTuple):
    """Statistics summed over a phase, per chain; reset by the Python side."""
    pair_accept: np.ndarray  # (C, L-1) sum of acceptance probabilities of pair (i, i+1)
    pair_tries: np.ndarray   # (C, L-1)
    occupancy: np.ndarray    # (C, L) steps at each level
    round_trips: np.ndarray  # (C,) bottom-to-top-and-back... completed trips
    stone: np.ndarray        # (C, L, B, 4) at level i, of v = (b_{i+1}-b_i) lp: running maximum m,
                             # sum of exp(v - m), count, sum of exp(2 (v - m)) (tempering.evidence)
    stone_reverse: np.ndarray  # (C, L, B, 4) the same at level i of v = -(b_i - b_{i-1}) lp
    level_trace: np.ndarray  # (C, T) level of replica 0 every thin steps after warm-up, -1 after
                             # (int8, or int16 for ladders of more than 127 levels)
    explored: np.ndarray     # (C, S, d) tuning rounds: S positions spread over the round, the
                             # replicas taken in turn (for mode discovery; S = 0: none kept)
    explored_level: np.ndarray  # (C, S) the level of each kept position, -1 until written


class DrawRecord(NamedTuple):
    """Preallocated record of ``n`` states per chain (the draws, or the warm-up).

    Row ``k`` holds the tracked replica when it was recorded and, over the
    steps since the previous row, its mean acceptance probability and
    whether any of them diverged.
    """
    x: np.ndarray            # (C, n, d)
    lp: np.ndarray           # (C, n)
    accept: np.ndarray       # (C, n)
    diverging: np.ndarray    # (C, n) bool
    outside_support: np.ndarray  # (C, n) bool: a proposal with log p = -inf was rejected
    step_size: np.ndarray    # (C, n) step size of the level it was at
    level: np.ndarray        # (C, n) its level (warm-up only: draws are at the top; else (C, 0))
    n_steps: np.ndarray      # (C, n) steps since the previous row (draws only; else (C, 0))


class Records(NamedTuple):
    """The draws after warm-up and the (possibly empty) saved warm-up."""
    draws: DrawRecord
    warmup: DrawRecord


def new_state(x0, keys, n_replicas, n_levels, reference=False):
    """A fresh state: every replica of chain ``c`` starts at ``x0[c]``; ``reference``: room
    for the gradient of a reference path's ``log q``."""
    n_chains, dim = x0.shape
    x = np.ascontiguousarray(np.repeat(x0[:, None, :], n_replicas, axis=1))
    level = np.zeros((n_chains, n_replicas), dtype=np.int64)
    if n_replicas == n_levels:
        level[:] = np.arange(n_levels)
    return ChainState(
        x=x, lp=np.zeros((n_chains, n_replicas)), grad=np.zeros_like(x),
        lq=np.zeros((n_chains, n_replicas)),
        grad_q=np.zeros((n_chains, n_replicas, dim if reference else 0)), level=level,
        identity=np.tile(np.arange(n_replicas, dtype=np.int64), (n_chains, 1)),
        phase=np.zeros_like(level), direction=np.ones(n_chains, dtype=np.int64),
        step_size=np.full((n_chains, n_levels), np.nan),
        adapt_state=np.zeros((n_chains, n_levels, DUAL_AVERAGING_SLOTS)),
        log_weights=np.zeros((n_chains, n_levels)), sa_count=np.zeros(n_chains, dtype=np.int64),
        frozen=np.zeros(n_chains, dtype=np.bool_), window=np.zeros((n_chains, 4)),
        keys=np.ascontiguousarray(keys, dtype=np.uint64), offset=np.zeros(n_chains, dtype=np.int64),
        steps=np.zeros(n_chains, dtype=np.int64),
        visits=np.zeros(n_chains, dtype=np.int64), collected=np.zeros(n_chains, dtype=np.int64))


def level_dtype(n_levels):
    """The smallest signed integer type that holds the levels ``0..n_levels-1`` and -1."""
    return np.int8 if n_levels <= np.iinfo(np.int8).max else np.int16


def new_accumulators(n_chains, n_levels, trace_len=0, explored=(0, 0)):
    """Zeroed accumulators; ``trace_len`` entries of level trace per chain, -1 until written;
    ``explored = (S, d)``: room for S positions of every chain (NaN until written) and their
    levels (-1 until written)."""
    stone = np.zeros((n_chains, n_levels, N_BATCHES, 4))
    stone[..., 0] = -np.inf
    return Accumulators(
        pair_accept=np.zeros((n_chains, n_levels - 1)), pair_tries=np.zeros((n_chains, n_levels - 1)),
        occupancy=np.zeros((n_chains, n_levels)), round_trips=np.zeros(n_chains, dtype=np.int64),
        stone=stone, stone_reverse=stone.copy(),
        level_trace=np.full((n_chains, trace_len), -1, dtype=level_dtype(n_levels)),
        explored=np.full((n_chains,) + tuple(explored), np.nan),
        explored_level=np.full((n_chains, explored[0]), -1, dtype=level_dtype(n_levels)))


def new_draw_record(n_chains, n, dim, level=False, n_steps=False):
    """A zeroed :class:`DrawRecord` of ``n`` rows, with the ``level`` or ``n_steps`` column."""
    def column(length, *shape, dtype=np.float64):
        return np.zeros((n_chains, length) + shape, dtype=dtype)

    return DrawRecord(x=column(n, dim), lp=column(n), accept=column(n),
                      diverging=column(n, dtype=np.bool_),
                      outside_support=column(n, dtype=np.bool_), step_size=column(n),
                      level=column(n if level else 0, dtype=np.int64),
                      n_steps=column(n if n_steps else 0, dtype=np.int64))


def new_records(n_chains, draws, n_warm, dim):
    """Records of ``draws`` draws (with ``n_steps``) and ``n_warm`` warm-up states (with ``level``)."""
    return Records(draws=new_draw_record(n_chains, draws, dim, n_steps=True),
                   warmup=new_draw_record(n_chains, n_warm, dim, level=True))


def reference_of(settings):
    """The path's reference in ``settings``, as ``ReferenceArrays``."""
    return ReferenceArrays(*(getattr(settings, "ref_" + name) for name in ReferenceArrays._fields))


def with_reference(settings, reference):
    """``settings`` with the path's reference ``reference`` (``ReferenceArrays``)."""
    return settings._replace(**{"ref_" + name: value for name, value in reference._asdict().items()})


#: The saved names of the reference's arrays (``ReferenceArrays`` fields, prefixed).
_REFERENCE_PREFIX = "reference_"


def save_state(state, settings):
    """What a continuation needs: every state array (chain first), the ladder and the
    path's reference, by name."""
    saved = {name: np.asarray(value) for name, value in state._asdict().items()}
    n_chains = state.x.shape[0]
    saved["betas"] = np.broadcast_to(settings.betas, (n_chains, settings.betas.size)).copy()
    for name, value in reference_of(settings)._asdict().items():
        saved[_REFERENCE_PREFIX + name] = np.broadcast_to(value, (n_chains,) + value.shape).copy()
    return saved


def saved_reference(saved, dim):
    """The reference of a saved run (:func:`save_state`; none in runs saved before paths)."""
    if _REFERENCE_PREFIX + "weights" not in saved:
        return no_reference(dim)
    return ReferenceArrays(**{name: np.ascontiguousarray(saved[_REFERENCE_PREFIX + name][0])
                              for name in ReferenceArrays._fields})


def no_reference(dim):
    """The empty reference of the classic path ``p^beta``."""
    return ReferenceArrays(np.zeros((0, 3)), np.zeros((0, 2 * dim + 1, dim)))


def restore_state(saved):
    """The state at the end of a saved run (:func:`save_state`), as the start of its continuation:
    the stream counters run on, the per-run counters start again at zero."""
    saved = dict(saved)
    n_chains, n_replicas, _ = np.shape(saved["x"])
    saved.setdefault("lq", np.zeros((n_chains, n_replicas)))  # runs saved before paths
    saved.setdefault("grad_q", np.zeros((n_chains, n_replicas, 0)))
    fields = {name: np.ascontiguousarray(saved[name]) for name in ChainState._fields}
    fields["keys"] = fields["keys"].astype(np.uint64)
    fields["frozen"] = fields["frozen"].astype(np.bool_)
    fields["offset"] = fields["offset"] + fields["steps"]
    for name in ("steps", "visits", "collected"):
        fields[name] = np.zeros_like(fields[name])
    fields["window"] = np.zeros_like(fields["window"])
    return ChainState(**fields)
