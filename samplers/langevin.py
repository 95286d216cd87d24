"""``Langevin``: the unadjusted Langevin algorithm (ULA) and MALA.

    x' = x + h grad log p(x) + sqrt(2 h) xi,    xi ~ N(0, I)

ULA takes every step (Roberts and Tweedie 1996); its stationary law is
biased by O(h).  MALA adds the Metropolis-Hastings test of
``kernels.langevin`` and is exact for any ``h``.  The transition itself is in
``kernels/langevin.py``; the multi-chain loop in ``engine`` runs its plan
(one replica, one level, no communication).
"""
import numpy as np

from ._checks import check_bool, check_positive
from .engine import Explorer, RunPlan, single_round
from .sampler import Sampler

__all__ = ["Langevin"]


class Langevin(Sampler):
    """Langevin Monte Carlo: ULA, or MALA with ``metropolis=True``.

    Parameters
    ----------
    step_size : float, optional
        The step ``h``.  When ``None`` it is tuned during ``tune`` by dual
        averaging (Hoffman and Gelman 2014) so the Metropolis acceptance
        probability averages ``target_accept``; for ULA that is the
        acceptance MALA would have at the same ``h``, a scale-aware choice
        that keeps the discretisation bias moderate.  Give a step size to
        run the exact discrete-time chain you want.
    metropolis : bool
        ``False``: ULA.  ``True``: MALA.
    target_accept : float
        Acceptance the tuning aims for; 0.574 is optimal for MALA in high
        dimension (Roberts and Rosenthal 1998).

    Output: ``sample_stats`` holds ``lp``, ``diverging`` and ``step_size``,
    and for MALA ``acceptance_rate``.  A non-finite log density or gradient
    at a proposal is rejected by MALA and marked ``diverging``; ULA cannot
    reject, so the chain is frozen at its last finite point, its later
    draws are marked ``diverging``, and a warning gives the count.
    """

    def __init__(self, step_size=None, metropolis=False, *, target_accept=0.574):
        self.step_size = check_positive(step_size, "step_size", allow_none=True)
        self.metropolis = check_bool(metropolis, "metropolis")
        self.target_accept = check_positive(target_accept, "target_accept", upper=1.0)

    @property
    def name(self):
        return "MALA" if self.metropolis else "ULA"

    def settings(self):
        return {"step_size": self.step_size, "metropolis": self.metropolis,
                "target_accept": self.target_accept}

    def plan(self, target, tune=None, initial=None):
        """One level at beta = 1, one replica, no communication; the step size tuned
        during the one warm-up round when ``step_size`` is ``None``."""
        self._check_target(target)
        tune = self._tune(target, tune)
        return RunPlan(betas=np.ones(1), tune=tune, rounds=single_round(tune),
                       explorer=Explorer(self.metropolis, self.step_size, self.target_accept))

    def __repr__(self):
        return (f"Langevin(step_size={self.step_size}, metropolis={self.metropolis}, "
                f"target_accept={self.target_accept})")

