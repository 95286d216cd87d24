"""What simulated and parallel tempering share: settings, the ladder schedule, diagnostics.

Ladder adaptation (the *schedule*, Syed et al. 2022, arXiv 1905.02939,
section 5): warm-up is split into rounds of doubling length (1, 2, 4, 8
parts of ``tune``).  After every round but the last, the rejection rate of
each neighbouring pair, pooled over chains, gives the communication barrier
``Lambda``; the levels are re-placed at equal spacing of ``Lambda``
(``ladders.equalize``), and the per-level step sizes and log weights are
interpolated to the new levels.  The last round tunes on the final ladder.
"""
import numpy as np

from .. import engine as driver, ladders
from .._checks import check_bool, check_count, check_positive
from ..sampler import Sampler
from .evidence import log_z

__all__ = ["TemperingSampler"]

#: Warm-up rounds of the adaptive ladder, as parts of ``tune`` (doubling).
LADDER_ROUNDS = (1, 2, 4, 8)


class TemperingSampler(Sampler):
    """Base class: a ladder, Langevin exploration at every level, communication."""

    def __init__(self, betas=None, *, step_size=None, steps_per_swap=10, metropolis=True,
                 target_accept=0.574, adapt_ladder=None):
        self.betas = None if betas is None else ladders.check_ladder(betas, "betas")
        self.step_size = check_positive(step_size, "step_size", allow_none=True)
        self.steps_per_swap = check_count(steps_per_swap, "steps_per_swap")
        self.metropolis = check_bool(metropolis, "metropolis")
        self.target_accept = check_positive(target_accept, "target_accept", upper=1.0)
        if adapt_ladder is None:
            adapt_ladder = betas is None
        self.adapt_ladder = check_bool(adapt_ladder, "adapt_ladder")

    def settings(self):
        return {"betas": None if self.betas is None else self.betas.tolist(),
                "step_size": self.step_size, "steps_per_swap": self.steps_per_swap,
                "metropolis": self.metropolis, "target_accept": self.target_accept,
                "adapt_ladder": self.adapt_ladder}

    def _ladder(self, target):
        if self.betas is not None:
            return self.betas.copy()
        return ladders.default_ladder(target.dim)

    def _tuning_rounds(self, tune):
        if not self.adapt_ladder or tune == 0:
            return super()._tuning_rounds(tune)
        ends = np.cumsum(LADDER_ROUNDS) * tune // sum(LADDER_ROUNDS)
        return sorted({int(e) for e in ends if e > 0})

    def _between_rounds(self, state, settings, acc, last):
        if not self.adapt_ladder or last:
            return settings
        rejection = _pooled_rejection(acc)
        if rejection is None:
            return settings
        old = settings.betas
        new = ladders.equalize(old, rejection)
        log_old, log_new = np.log(old), np.log(new)
        rel, _ = log_z(acc.stone)
        if np.all(np.isfinite(rel)):
            # The round's stepping-stone estimate, pooled over chains, is a
            # better start for the weights than each chain's own.
            state.log_weights[:] = -rel
            # Restart the stochastic approximation at a gain of about 0.1.
            state.sa_count[:] = int(np.ceil(old.size * 10 ** (1 / 0.6)))
        for c in range(state.x.shape[0]):
            # Step sizes scale smoothly with beta: interpolate log h in log beta.
            state.step_size[c] = np.exp(np.interp(log_new, log_old, np.log(state.step_size[c])))
            for lev in range(new.size):
                state.adapt_state[c, lev] = (0.0, 0.0, np.log(10 * state.step_size[c, lev]), 0.0)
            # log Z is smooth (convex) in beta: interpolate the weights in beta.
            state.log_weights[c] = np.interp(new, old, state.log_weights[c])
        return settings._replace(betas=np.ascontiguousarray(new))

    def _diagnostics(self, state, settings, acc):
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
        if self.communication == driver.LEVEL_MOVES:
            out["log_weights"] = (("chain", "level"), state.log_weights.copy())
            out["level_trace"] = (("chain", "trace_step"), acc.level_trace.copy())
        return out


def _pooled_rejection(acc):
    """Rejection rate of every neighbouring pair, pooled over chains (None if a pair was never tried)."""
    tries = acc.pair_tries.sum(axis=0)
    if np.any(tries == 0):
        return None
    return np.clip(1.0 - acc.pair_accept.sum(axis=0) / tries, 0.0, 1.0)
