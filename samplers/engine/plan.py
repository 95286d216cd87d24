"""The run plan: everything the engine needs to know about a sampler, as data.

A sampler (``Sampler.plan(target, tune)``) turns its configuration into a
:class:`RunPlan`; the engine executes it.  Every sampler of the package is
one plan of the same loop:

* Langevin (ULA, MALA): one level, one replica, no communication;
* SimulatedTempering: L levels, one replica, ``"level_moves"``, the ladder
  and the log weights adapted between rounds;
* ParallelTempering: L levels, L replicas, ``"swaps_deo"`` or
  ``"swaps_seo"``, the ladder adapted between rounds;
* MatrixLangevin: Langevin with ``symmetry_rank = k``.

Within a tuning round the compiled loop adapts the step sizes (dual
averaging, when ``explorer.dual_averaging``) and, with ``adapt_weights``,
the level-move log weights (stochastic approximation).  Between rounds the
plan's :class:`Adaptation` object may change the ladder, the weights and the
step sizes (Pigeons.jl's ``adapt``).
"""
from dataclasses import dataclass, replace
from typing import NamedTuple, Optional

import numpy as np

__all__ = ["RunPlan", "Explorer", "Adaptation", "COMMUNICATION_KINDS", "single_round",
           "doubling_rounds", "DOUBLING_PARTS"]

#: The communication kinds of a plan, and their codes in the compiled loop.
COMMUNICATION_KINDS = {"none": 0, "level_moves": 1, "swaps_deo": 2, "swaps_seo": 3}


class Explorer(NamedTuple):
    """The Langevin transition within a level."""
    metropolis: bool                #: MALA (True) or ULA (False)
    step_size: Optional[float]      #: one step size for every level, or None: tuned in warm-up
    target_accept: float            #: acceptance the dual averaging aims for
    #: With ``step_size`` None: set the step to ``step_scale / lambda_max`` from the curvature
    #: (``Target.hessian_max_eig``) instead of tuning it by dual averaging (ULA's rule).
    step_scale: Optional[float] = None

    @property
    def dual_averaging(self):
        """Whether the step size is tuned by dual averaging during warm-up."""
        return self.step_size is None and self.step_scale is None


class Adaptation:
    """Work between tuning rounds, and on the fresh state (no-op here; see
    ``samplers.tempering.adaptation``).  Holds no run state: everything it
    changes is in the chain state and the settings it is given.
    """

    def start(self, target, state, settings):
        """Set up a fresh state once the initial log densities are known; return the settings."""
        return settings

    def adapt(self, target, state, settings, acc, last):
        """After a tuning round (``acc``: its statistics; ``last``: it ended warm-up):
        adapt ``state`` in place and return the settings for what follows."""
        return settings

    def diagnostics(self, draws):
        """What the adaptation found, for the run's ``tempering`` group, given the draws
        ``(C, n, d)``: ``{name: (dims, values)}`` (none here)."""
        return {}


#: Warm-up rounds of doubling length, as parts of ``tune``: the adaptation between rounds
#: (the ladder, ULA's step) sees ever longer and later stretches of the warm-up.
DOUBLING_PARTS = (1, 2, 4, 8)


def doubling_rounds(tune):
    """Run steps at which rounds of doubling length end (the last is ``tune``)."""
    ends = np.cumsum(DOUBLING_PARTS) * tune // sum(DOUBLING_PARTS)
    return tuple(sorted({int(e) for e in ends if e > 0}))


def single_round(tune):
    """The tuning rounds of a warm-up without ladder adaptation: one, or none for ``tune = 0``."""
    return (tune,) if tune > 0 else ()


@dataclass(frozen=True, eq=False)
class RunPlan:
    """What the engine runs (``samplers.engine.run``).

    betas : array (L,)
        The ladder at the start, increasing to 1 (``np.ones(1)``: no tempering).
    explorer : Explorer
    tune : int
        Warm-up steps.
    rounds : tuple of int
        The run steps at which tuning rounds end, increasing, the last ``tune``
        (empty when ``tune = 0``).
    communication : str
        One of :data:`COMMUNICATION_KINDS`: none, simulated-tempering level
        moves, parallel-tempering deterministic or stochastic even-odd swaps.
    replica_per_level : bool
        One replica per level in each chain (parallel tempering) instead of one.
    steps_per_swap : int
        Explorer steps between communications.
    lifted : bool
        Level moves keep a direction (non-reversible).
    adapt_weights : bool
        Stochastic approximation of the level-move log weights while tuning.
    symmetry_rank : int
        ``k > 0``: an exact random orthogonal move ``X -> X O`` of a ``(d, k)``
        target after every transition.
    symmetry_rows : int
        ``d``: the move acts on the first ``d k`` coordinates (a target may
        carry more, invariant under the move: a sampled log noise level).
    adaptation : Adaptation or None
        Set-up of a fresh state and work between tuning rounds.
    reference : kernels.reference.ReferenceArrays or None
        The reference ``q`` of a reference path ``q^(1-beta) p^beta`` (then
        ``betas[0] = 0``: that level draws from ``q`` exactly), at the start
        (the adaptation may change it between rounds); ``None``: the
        classic path ``p^beta``.
    explored_positions : int
        Positions per chain kept from every tuning round (``Accumulators.explored``),
        spread over the round, for the adaptation to read (mode discovery).
    """
    betas: np.ndarray
    explorer: Explorer
    tune: int
    rounds: tuple
    communication: str = "none"
    replica_per_level: bool = False
    steps_per_swap: int = 1
    lifted: bool = True
    adapt_weights: bool = False
    symmetry_rank: int = 0
    symmetry_rows: int = 0
    adaptation: Optional[Adaptation] = None
    reference: Optional[object] = None
    explored_positions: int = 0

    def __post_init__(self):
        if self.communication not in COMMUNICATION_KINDS:
            raise ValueError(f"communication must be one of {sorted(COMMUNICATION_KINDS)}, "
                             f"got {self.communication!r}")
        if tuple(self.rounds) != tuple(sorted(set(self.rounds))) or (
                self.rounds and self.rounds[-1] != self.tune) or (self.tune > 0 and not self.rounds):
            raise ValueError(f"rounds must increase to tune={self.tune}, got {self.rounds}")

    @property
    def n_levels(self):
        return int(np.size(self.betas))

    @property
    def n_replicas(self):
        """Replicas per chain (gradient evaluations per step)."""
        return self.n_levels if self.replica_per_level else 1

    def continuation(self, betas):
        """The plan that continues a finished run of this plan on its final ladder
        ``betas``: no warm-up, nothing adapted; the step sizes and weights are the
        saved ones."""
        return replace(self, betas=np.array(betas, dtype=np.float64), tune=0, rounds=(),
                       adapt_weights=False, adaptation=None,
                       explorer=self.explorer._replace(step_size=None))
