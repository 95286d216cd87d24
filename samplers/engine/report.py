"""What a run reports: sample stats of the draws and warm-up, and the run diagnostics of a ladder."""
from .state import LEVEL_MOVES, NO_COMMUNICATION

__all__ = ["sample_stats", "diagnostics"]


def sample_stats(block, settings, warm=False):
    """``sample_stats`` of a ``DrawRecord`` (the draws, or the warm-up with ``warm``):
    ``lp``, ``diverging``, ``outside_support``, ``step_size``; ``acceptance_rate`` with a Metropolis
    correction; with level moves, ``n_steps`` of the draws or ``level`` of the warm-up."""
    stats = {"lp": block.lp, "diverging": block.diverging, "outside_support": block.outside_support,
             "step_size": block.step_size}
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
    (``None`` without), from the sums of the sampling round: see
    ``inference_data.tempering_group``; with level moves also the log weights and
    the level trace."""
    from ..inference_data import tempering_group

    state, settings, acc = result.state, result.settings, result.acc
    if settings.communication == NO_COMMUNICATION:
        return None
    level_moves = settings.communication == LEVEL_MOVES
    return tempering_group(
        settings.betas, acc.pair_accept.sum(axis=0), acc.pair_tries.sum(axis=0),
        acc.occupancy.sum(axis=0), acc.round_trips, state.steps, acc.stone,
        log_weights=state.log_weights if level_moves else None,
        level_trace=acc.level_trace if level_moves else None, stone_reverse=acc.stone_reverse)
