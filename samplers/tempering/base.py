"""What simulated and parallel tempering share: their configuration and the plan it makes.

The ladder (the *schedule*) and the weights are adapted between tuning
rounds by the plan's adaptation (``tempering.adaptation``); the run
diagnostics are reported by the engine (``engine.report``).
"""
import warnings

import numpy as np

from .. import ladders
from .._checks import check_bool, check_count, check_positive
from ..engine import Explorer, RunPlan, doubling_rounds, single_round
from ..engine.state import no_reference
from ..inference_data import SAMPLER_STATE, TEMPERING, RunAttr, TemperingVar
from ..sampler import Sampler
from . import evidence, tails
from .adaptation import ModeDiscovery, mode_rounds
from .modes import discovery_message, occupancy_message
from .variational import STATES_PER_LEVEL, VariationalReference
from .reference import as_reference

__all__ = ["TemperingSampler"]

#: The least default warm-up with ``reference="modes"`` (``default_tune``).
MODES_WARMUP = 4000
#: ``reference="auto"`` (the default) runs ``"modes"`` up to this dimension and the
#: classic path above it: every Laplace component of ``q`` costs O(d^2) per step
#: (x1.3 of a dense 100-D Gaussian target, ``benchmarks/bench_reference_cost.py``),
#: so beyond d ~ 100 it would dominate a target that costs O(d).
AUTO_MODES_MAX_DIM = 100
#: Positions per chain and warm-up round that mode discovery climbs from, besides the
#: replicas' final states (``engine.RunPlan.explored_positions``).
EXPLORED_POSITIONS = 16


class TemperingSampler(Sampler):
    """Base class: a ladder, Langevin exploration at every level, communication."""

    def __init__(self, betas=None, *, step_size=None, steps_per_swap=10, metropolis=True,
                 target_accept=0.574, adapt_ladder=None, reference="auto"):
        auto = isinstance(reference, str) and reference == "auto"
        if not auto:
            as_reference(reference, None)  # its type; its dimension is checked against the target's
        self.reference = reference
        # With "auto" either ladder: one from 0 asks for a reference path, one above 0 for
        # p^beta (``path``).
        self.betas = None if betas is None else ladders.check_ladder(
            betas, "betas", from_zero=None if auto else reference is not None)
        self.step_size = check_positive(step_size, "step_size", allow_none=True)
        self.steps_per_swap = check_count(steps_per_swap, "steps_per_swap")
        self.metropolis = check_bool(metropolis, "metropolis")
        if not self.metropolis and self.step_size is None:
            # Tuned to MALA's acceptance, ULA sits at its stability limit: its variance
            # is inflated several-fold and the mode weights with it (README, "ULA's bias").
            raise ValueError(
                "metropolis=False (ULA explorers) needs a step_size: the step tuned to MALA's "
                "acceptance puts ULA at its stability limit, where its bias moves the mode "
                "weights far; give step_size (ULA's variance bias on a Gaussian of precision "
                "lambda is 1 / (1 - step_size * lambda / 2) - 1) or keep metropolis=True")
        self.target_accept = check_positive(target_accept, "target_accept", upper=1.0)
        if adapt_ladder is None:
            adapt_ladder = betas is None
        self.adapt_ladder = check_bool(adapt_ladder, "adapt_ladder")

    def settings(self):
        return {"betas": None if self.betas is None else self.betas.tolist(),
                "step_size": self.step_size, "steps_per_swap": self.steps_per_swap,
                "metropolis": self.metropolis, "target_accept": self.target_accept,
                "adapt_ladder": self.adapt_ladder, "reference": self._reference_setting()}

    def path(self, target):
        """The reference this sampler runs on ``target``: ``reference``, where the default
        ``"auto"`` is ``"modes"`` except on the classic path (``None``) when

        * ``betas`` are given and start above 0 (a ladder for ``p^beta``),
        * the target evaluates batches (``batch_logp_grad``: no reference paths),
        * ``target.dim > AUTO_MODES_MAX_DIM`` (log q's O(d^2) cost per step),
        * simulated tempering has ``log_weights="paper"`` or fixed weights (set for
          the classic ladder).
        """
        if not (isinstance(self.reference, str) and self.reference == "auto"):
            return self.reference
        classic = ((self.betas is not None and self.betas[0] > 0)
                   or target.batch_logp_grad is not None
                   or target.dim > AUTO_MODES_MAX_DIM
                   or getattr(self, "log_weights", "adaptive") != "adaptive")
        return None if classic else "modes"

    def _reference_setting(self):
        """``reference`` as recorded: None, the kind, or the fixed reference's fingerprint."""
        return _describe(self.reference)

    def _attrs(self, target, *args):
        """The run's attributes, with the path that ran (``RunAttr.PATH``: ``"auto"``
        resolved by :meth:`path`; ``"classic"`` for p^beta)."""
        return {**super()._attrs(target, *args),
                RunAttr.PATH: _describe(self.path(target)) or "classic"}

    def default_tune(self, target):
        """The sampler's warm-up (1000 steps), and with ``reference="modes"`` at least
        ``MODES_WARMUP`` steps: its first half discovers modes on the classic path.
        Measured on the 10-D mixture of unequal scales (``benchmarks/bench_tempering.py``'s
        target, uniform starts, 3 seeds): parallel tempering's mode-weight error was
        0.15-0.35 with 1000 steps, 0.05-0.15 with 4000."""
        tune = super().default_tune(target)
        return max(tune, MODES_WARMUP) if self.path(target) == "modes" else tune

    def ladder(self, target):
        """The ladder a run starts on: ``betas``, or ``ladders.default_ladder(target.dim)``.
        With a fixed reference the default is ``ladders.reference_ladder`` of as many
        levels; with ``"modes"`` the run starts on the classic default ladder and
        switches to ``betas`` (or ``reference_ladder``) halfway through warm-up."""
        default = ladders.default_ladder(target.dim)
        path = self.path(target)
        if path == "modes":
            return default if self.betas is None else ladders.geometric(
                ladders.DEFAULT_BETA_MIN, self.betas.size)
        if self.betas is not None:
            return self.betas.copy()
        if path is not None:
            return ladders.reference_ladder(default.size)
        return default

    def _plan(self, target, tune, adaptation=None, **kwargs):
        """The plan with this configuration's ladder, explorer, steps between
        communications and path; rounds of adaptation when ``adapt_ladder`` or
        ``reference="modes"``."""
        self._check_target(target)
        tune = self._tune(target, tune)
        reference = as_reference(self.path(target), target.dim)
        if reference is not None and target.batch_logp_grad is not None:
            # The batched loop evaluates every replica's Langevin proposal in one call,
            # before the level-0 replica would be replaced by its exact draw.
            raise ValueError("reference paths need a target evaluated one point at a time: "
                             "this target evaluates batches (batch_logp_grad); use reference=None")
        rounds = doubling_rounds(tune) if self.adapt_ladder else single_round(tune)
        if reference == "variational":  # the reference path, q refitted after every round
            rounds = doubling_rounds(tune)
            adaptation = VariationalReference(adaptation)
            reference = no_reference(target.dim)  # room for one; set by the adaptation's start
            kwargs.setdefault("explored_positions", STATES_PER_LEVEL * self.ladder(target).size)
        elif isinstance(reference, str):  # "modes": discovery, then the reference path
            rounds, switch = mode_rounds(tune)
            betas = self.betas if self.betas is not None else ladders.reference_ladder(
                ladders.default_ladder(target.dim).size)
            adaptation = ModeDiscovery(adaptation, switch, betas, rounds[0])
            reference = no_reference(target.dim)  # room for one; none during discovery
            kwargs.setdefault("explored_positions", EXPLORED_POSITIONS)
        kwargs.setdefault("rounds", rounds)
        return RunPlan(betas=np.ascontiguousarray(self.ladder(target), dtype=np.float64),
                       explorer=Explorer(self.metropolis, self.step_size, self.target_accept),
                       tune=tune, steps_per_swap=self.steps_per_swap, adaptation=adaptation,
                       reference=reference, **kwargs)

    def _warn_after_run(self, target, idata, draws):
        """A ``RuntimeWarning`` if hot levels of the classic path are improper or their
        replicas ran off (``tempering.tails``), and an ``EvidenceWarning`` (a
        ``RuntimeWarning``) if the run's log Z standard errors cannot be trusted
        (``tempering.evidence.check_evidence``; on a reference path also when p's tail is
        polynomial, which this marks in ``idata``: ``log_z_trusted`` False, the reason in
        the ``tempering`` group's ``evidence_caveat`` attribute); warnings about the modes
        found (``tempering.modes``)."""
        if self.path(target) is None:      # the classic path p^beta
            state = idata[SAMPLER_STATE]
            message = tails.hot_level_message(
                target, idata[TEMPERING][TemperingVar.BETA].values,
                draws, state["x"].values.reshape(-1, target.dim),
                state["level"].values.reshape(-1))
            if message is not None:
                warnings.warn(f"{self.name}: {message}", RuntimeWarning, stacklevel=4)
        elif draws.size:          # a reference path: is its evidence's se honest?
            message = tails.heavy_tail_evidence_message(target, draws)
            if message is not None:
                idata[TEMPERING][TemperingVar.LOG_Z_TRUSTED] = False
                idata[TEMPERING].attrs[evidence.CAVEAT] = message
        message = evidence.untrusted_message(idata[TEMPERING])
        if message is not None:
            warnings.warn(f"{self.name}: {message}", evidence.EvidenceWarning, stacklevel=4)
        for message in (occupancy_message(idata[TEMPERING]), discovery_message(idata[TEMPERING])):
            if message is not None:
                warnings.warn(f"{self.name}: {message}", RuntimeWarning, stacklevel=4)


def _describe(reference):
    """A reference as recorded: None, the kind, or a fixed reference's type and fingerprint."""
    if reference is None or isinstance(reference, str):
        return reference
    return f"{type(reference).__name__}:{reference.fingerprint()}"
