"""What a run reports: sample stats of the draws and warm-up, and the run diagnostics of a ladder."""
import numpy as np

from .. import ladders
from .state import LEVEL_MOVES, NO_COMMUNICATION

__all__ = ["sample_stats", "diagnostics"]


def sample_stats(block, settings, warm=False):
    """``sample_stats`` of a ``DrawRecord`` (the draws, or the warm-up with ``warm``):
    ``lp``, ``diverging``, ``step_size``; ``acceptance_rate`` with a Metropolis
    correction; with level moves, ``n_steps`` of the draws or ``level`` of the warm-up."""
    stats = {"lp": block.lp, "diverging": block.diverging, "step_size": block.step_size}
    if settings.metropolis:
        stats["acceptance_rate"] = block.accept
    if settings.communication == LEVEL_MOVES:
        if warm:
            stats["level"] = block.level
        else:
            stats["n_steps"] = block.n_steps
    return stats


def diagnostics(result):
    """The run diagnostics of a run with communication, as ``{name: (dims, values)}``
    (``None`` without): the final ladder, log Z(beta) - log Z(1) and its se by stepping
    stone, occupancy, acceptance and attempts per neighbouring pair, round trips and run
    steps per chain, the communication barrier and the levels it suggests; with level
    moves the log weights and the level trace.  All from the sampling round."""
    from ..tempering.evidence import log_z  # (the tempering package imports the engine)

    state, settings, acc = result.state, result.settings, result.acc
    if settings.communication == NO_COMMUNICATION:
        return None
    betas = settings.betas
    n_levels = betas.size
    rel, se = log_z(acc.stone)
    tries = acc.pair_tries.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        acceptance = acc.pair_accept.sum(axis=0) / tries
    rejection = np.clip(1.0 - np.nan_to_num(acceptance, nan=0.0), 0.0, 1.0)
    barrier = ladders.communication_barrier(betas, rejection) if n_levels > 1 else None
    occupancy = acc.occupancy.sum(axis=0)
    occupancy = occupancy / max(occupancy.sum(), 1.0)
    out = {
        "beta": (("level",), betas.copy()),
        "log_z": (("level",), rel),
        "log_z_se": (("level",), se),
        "occupancy": (("level",), occupancy),
        "swap_acceptance": (("pair",), np.nan_to_num(acceptance, nan=0.0)),
        "swap_attempts": (("pair",), tries),
        "round_trips": (("chain",), acc.round_trips.copy()),
        "steps": (("chain",), state.steps.copy()),
        "communication_barrier": ((), float(barrier.total) if barrier else 0.0),
        "suggested_levels": ((), int(barrier.suggested_levels()) if barrier else 1),
    }
    if settings.communication == LEVEL_MOVES:
        out["log_weights"] = (("chain", "level"), state.log_weights.copy())
        out["level_trace"] = (("chain", "trace_step"), acc.level_trace.copy())
    return out
