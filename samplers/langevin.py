"""``Langevin``: MALA (the default) and the unadjusted Langevin algorithm (ULA).

    x' = x + h grad log p(x) + sqrt(2 h) xi,    xi ~ N(0, I)

MALA adds the Metropolis-Hastings test of ``kernels.langevin`` and is exact
for any ``h``.  ULA takes every step (Roberts and Tweedie 1996); its
stationary law is biased by O(h).  On N(0, s^2) its stationary variance is
exactly ``s^2 / (1 - h / (2 s^2))``, and it diverges once ``h >= 2 s^2``: on
a Gaussian, ULA at ``h = c / lambda_max`` (``lambda_max`` the largest
eigenvalue of the precision) inflates the variance along the stiffest
direction by the factor ``1 / (1 - c / 2)``, and by less along the others.
ULA's default step is that rule (:class:`CurvatureStep`), with ``c =
step_scale = 0.05``: at most +2.6% on any Gaussian.

The transition itself is in ``kernels/langevin.py``; the multi-chain loop in
``engine`` runs its plan (one replica, one level, no communication).
"""
import numpy as np

from ._checks import check_bool, check_positive
from .engine import Adaptation, Explorer, RunPlan, doubling_rounds, single_round
from .sampler import Sampler

__all__ = ["Langevin", "CurvatureStep", "ULA_STEP_SCALE", "CURVATURE_CHAINS"]

#: ULA's default ``h lambda_max``: a variance bias of at most 1 / (1 - 0.025) - 1 = 2.6% on a Gaussian.
ULA_STEP_SCALE = 0.05
#: Chains whose positions are measured for the curvature (the first ones): enough for a
#: maximum over the warm-up, a bounded cost when hundreds of chains run.
CURVATURE_CHAINS = 16


class Langevin(Sampler):
    """Langevin Monte Carlo: MALA, or ULA with ``metropolis=False``.

    Parameters
    ----------
    step_size : float, optional
        The step ``h``.  When ``None``: MALA tunes it during ``tune`` by dual
        averaging (Hoffman and Gelman 2014) so the acceptance probability
        averages ``target_accept``; ULA sets it from the curvature,
        ``h = step_scale / lambda_max`` (:class:`CurvatureStep`).  Give a
        step size to run the exact discrete-time chain you want.
    metropolis : bool
        ``True`` (default): MALA, exact for any step.  ``False``: ULA, biased
        by O(h) (module docstring).
    target_accept : float
        Acceptance the MALA tuning aims for; 0.574 is optimal in high
        dimension (Roberts and Rosenthal 1998).
    step_scale : float
        ULA's ``h lambda_max`` when ``step_size`` is ``None``; the variance
        bias on a Gaussian is at most ``1 / (1 - step_scale / 2) - 1``.

    Output: ``sample_stats`` holds ``lp``, ``diverging``, ``outside_support``
    and ``step_size``, and for MALA ``acceptance_rate``.  A proposal with
    ``log p = -inf`` is outside the support: rejected (by ULA too) and
    marked ``outside_support``.  A NaN log density, a non-finite gradient or
    a Metropolis log ratio below -1000 is a divergence: MALA rejects it, and
    ULA, which cannot reject, freezes the chain at its last point; either
    is marked ``diverging`` and reported in the convergence warning.
    """

    def __init__(self, step_size=None, metropolis=True, *, target_accept=0.574,
                 step_scale=ULA_STEP_SCALE):
        self.step_size = check_positive(step_size, "step_size", allow_none=True)
        self.metropolis = check_bool(metropolis, "metropolis")
        self.target_accept = check_positive(target_accept, "target_accept", upper=1.0)
        self.step_scale = check_positive(step_scale, "step_scale", upper=2.0)

    @property
    def name(self):
        return "MALA" if self.metropolis else "ULA"

    def settings(self):
        return {"step_size": self.step_size, "metropolis": self.metropolis,
                "target_accept": self.target_accept, "step_scale": self.step_scale}

    def plan(self, target, tune=None, initial=None):
        """One level at beta = 1, one replica, no communication.  With ``step_size=None``:
        MALA tunes the step in one warm-up round; ULA measures the curvature at the
        start and after each of the doubling warm-up rounds (:class:`CurvatureStep`)."""
        self._check_target(target)
        tune = self._tune(target, tune)
        explorer = Explorer(self.metropolis, self.step_size, self.target_accept)
        if self.metropolis or self.step_size is not None:
            return RunPlan(betas=np.ones(1), tune=tune, rounds=single_round(tune), explorer=explorer)
        return RunPlan(betas=np.ones(1), tune=tune, rounds=doubling_rounds(tune),
                       explorer=explorer._replace(step_scale=self.step_scale),
                       adaptation=CurvatureStep(self.step_scale))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"Langevin({args})"


class CurvatureStep(Adaptation):
    """ULA's step from the curvature: ``h = step_scale / lambda_max``.

    ``lambda_max`` is the largest eigenvalue of the Hessian of ``-log p``
    (``Target.hessian_max_eig``), maximised over the positions of the first
    :data:`CURVATURE_CHAINS` chains at the start and after every warm-up
    round; the step only shrinks.  On a Gaussian the result is exact and the
    bias is that of the module docstring; on other targets the curvature of
    the places the warm-up visited stands for the whole, so regions of
    higher curvature visited only later (far tails of a banana) get a
    larger ``h lambda`` there.  A chain that diverged during a round (ULA
    freezes it) is released at its last point and the step divided by
    ``FREEZE_FACTOR``: the warm-up started where the curvature was lower
    than where the chain went.
    """

    FREEZE_FACTOR = 10.0

    def __init__(self, step_scale):
        self.step_scale = step_scale

    def start(self, target, state, settings):
        lam = self.max_curvature(target, state.x[:, 0])
        state.step_size[:] = self.step_scale / lam if lam is not None else self.step_scale
        return settings

    def adapt(self, target, state, settings, acc, last):
        h = float(state.step_size.min())
        if state.frozen.any():
            h /= self.FREEZE_FACTOR
            state.frozen[:] = False
        lam = self.max_curvature(target, state.x[:, 0])
        if lam is not None:
            h = min(h, self.step_scale / lam)
        state.step_size[:] = h
        return settings

    @staticmethod
    def max_curvature(target, points):
        """The largest finite positive ``hessian_max_eig`` over ``points`` (or ``None``)."""
        values = []
        for x in points[:CURVATURE_CHAINS]:
            with np.errstate(all="ignore"):
                lam = target.hessian_max_eig(x)
            if np.isfinite(lam) and lam > 0:
                values.append(lam)
        return max(values) if values else None
