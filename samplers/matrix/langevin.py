"""``MatrixLangevin``: Langevin for the posterior of a low-rank factor X near its orbit.

For p(X) ~ exp(-beta ||A(X X^T) - b||^2) the mass sits, for large beta, near
the two pieces E1 = {X0 R : det R = 1} and E2 = {X0 R : det R = -1} of the
orbit of a minimiser X0 (Moitra and Risteski 2020, "Fast convergence for
Langevin diffusion with manifold structure", arXiv 2002.05576).  Langevin
started near a piece mixes over that piece's neighbourhood in polynomial
time, and p is the equal-weight union of the two.  So the sampler

1. finds X0: a spectral start (top-k eigenvectors of the moment matrix) and
   gradient-based minimisation of the loss (``init="gd"``);
2. puts chain c at X0 R_c with R_c a random rotation, det R_c = +1 for even c
   and -1 for odd c, so both pieces carry chains;
3. runs ULA (as in the paper) or MALA on every chain, with the default step
   size h = step_scale / lambda_max, lambda_max the largest eigenvalue of the
   Hessian of -log p at the initial point;
4. optionally (``symmetry_moves=True``) multiplies X by a Haar-random
   orthogonal matrix after every step, an exact move of p
   (``kernels.symmetry``) that jumps between E1 and E2;
5. summarises the draws by invariants (``invariants.summarize``).

With an unknown noise level (a problem built without ``beta`` and
``noise_std``) the chains move on (X, u) jointly, u = log(sigma) / tau,
starting at log sigma = its conditional mode s0 given X0.  In log sigma the
curvature is only 2 (m + 2a), usually far below lambda_X, that of the X
block (beta(s0) times the loss Hessian's); at the step 0.1 / lambda_X its
autocorrelation time would be ~lambda_X / (0.2 (m + 2a)) steps.  So the
coordinate is stretched (``MatrixProblem.with_log_sigma_scale``) with
tau^2 = lambda_X / (4 (m + 2a)): curvature lambda_X / 2 in u, about 20
steps of autocorrelation, and lambda_max (of the joint Hessian) still
lambda_X.  tau is kept in ``matrix_summary.attrs["log_sigma_scale"]``
(``resume`` reuses it); ``posterior.sigma`` is in natural units.

The loop is the package's engine; matrix sensing evaluates all chains in one
BLAS product per step (``Target.batch_logp_grad``).
"""
from dataclasses import replace

import numpy as np

from .._checks import check_bool, check_count, check_positive
from .._rng import make_seed
from ..inference_data import MATRIX_SUMMARY
from .. import convergence
from ..engine import single_round
from ..langevin import Langevin
from .invariants import chain_rotation as _rotation, summarize
from .problems import MatrixProblem

__all__ = ["MatrixLangevin", "INVARIANTS"]

#: The rotation-invariant summaries whose R-hat and ESS are checked after a run.
INVARIANTS = ("loss", "distance", "singular_values")


class MatrixLangevin(Langevin):
    """Posterior sampler for ``samplers.matrix`` problems (factorization, sensing, completion).

    Parameters
    ----------
    step_size : float, optional
        The Langevin step h.  ``None``: h = ``step_scale`` / lambda_max with
        lambda_max the largest eigenvalue of the Hessian of -log p (beta
        times the Hessian of the loss) at the initial point.  ULA is stable
        for h < 2 / lambda_max; at h = 0.1 / lambda_max its stationary
        variance along the stiffest direction is too large by the factor
        1 / (1 - h lambda / 2), about 5%, and by less along softer ones (the
        exact discrete-time variance of ULA on a Gaussian).  Not tuned: the
        chain is a fixed Markov chain from the first step.
    init : "gd", "spectral" or array (d, k)
        The reference minimiser X0: spectral start then minimisation of the
        loss (``problem.minimize``), the spectral start alone, or your own.
    metropolis : bool
        ``False``: ULA, as in the paper.  ``True``: MALA (exact for any h).
    symmetry_moves : bool
        After every Langevin step, replace X by X O with O Haar on O(k).  Not
        available yet for problems with an unknown noise level (the engine's
        move acts on the whole point).
    step_scale : float
        The constant of the default step size.
    ci_prob : float
        Probability of the equal-tailed credible intervals of M = X X^T.

    ``sample(problem, draws, ...)`` returns ``InferenceData`` with the draws
    of X (``posterior.X``), their invariants (``loss``, ``distance``,
    ``singular_values`` and the Procrustes-aligned ``X_aligned`` in
    ``posterior``; ``component`` in ``sample_stats``) and the
    ``matrix_summary`` group: per-entry mean, sd and interval of M, X0,
    ``M_hat = X0 X0^T``, the observed mask (completion), R-hat and ESS of
    the invariants.
    """

    def __init__(self, step_size=None, *, init="gd", metropolis=False, symmetry_moves=False,
                 step_scale=0.1, ci_prob=0.9):
        super().__init__(step_size, metropolis)
        if isinstance(init, str):
            if init not in ("gd", "spectral"):
                raise ValueError(f"init must be 'gd', 'spectral' or an array (d, k), got {init!r}")
            self.init = init
        else:
            self.init = np.array(init, dtype=np.float64)
            if self.init.ndim != 2 or not np.all(np.isfinite(self.init)):
                raise ValueError("init must be 'gd', 'spectral' or a finite array of shape (d, k)")
        self.symmetry_moves = check_bool(symmetry_moves, "symmetry_moves")
        self.step_scale = check_positive(step_scale, "step_scale", upper=2.0)
        self.ci_prob = check_positive(ci_prob, "ci_prob", upper=1.0)
        if self.ci_prob == 1.0:
            raise ValueError("ci_prob must be below 1")

    name = "MatrixLangevin"

    def settings(self):
        init = self.init if isinstance(self.init, str) else "array"
        return {"step_size": self.step_size, "init": init, "metropolis": self.metropolis,
                "symmetry_moves": self.symmetry_moves, "step_scale": self.step_scale,
                "ci_prob": self.ci_prob}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"MatrixLangevin({args})"

    def reference_point(self, problem):
        """The minimiser X0 (d, k) the chains start from and the invariants refer to."""
        self._check_target(problem)
        if isinstance(self.init, str):
            return problem.minimize() if self.init == "gd" else problem.spectral_init()
        if self.init.shape != (problem.d, problem.rank):
            raise ValueError(f"init must have shape {(problem.d, problem.rank)}, "
                             f"got {self.init.shape}")
        return self.init.copy()

    def sample(self, target, draws=1000, *, tune=None, chains=4, rng=None, initial=None,
               thin=1, progressbar=True, save_warmup=False, check_convergence=True):
        """As :meth:`Sampler.sample`; ``initial=None`` starts chain c at X0 R_c on piece
        E1 (even c) or E2 (odd c).  The same ``rng`` gives the same rotations and draws.
        R-hat and ESS are checked on the invariants (``INVARIANTS``), not on X itself,
        whose chains sit on different points of the orbit.

        With an unknown noise level, ``initial`` gives X, (d, k) or (chains, d, k),
        log sigma then starting at its conditional mode, or the points (vec X, log sigma),
        (d k + 1,) or (chains, d k + 1).
        """
        self._check_target(target)
        chains = check_count(chains, "chains")
        seed = make_seed(rng)
        X0 = self.reference_point(target)
        if target.unknown_noise:
            target = self.stretched(target, X0)
        if initial is None:
            initial = np.stack([target.point(X0 @ _rotation(target.rank, seed, c))
                                for c in range(chains)])
        elif target.unknown_noise:
            initial = _noise_initial(target, initial)
        idata = super().sample(target, draws, tune=tune, chains=chains, rng=seed,
                               initial=initial, thin=thin, progressbar=progressbar,
                               save_warmup=save_warmup, check_convergence=False)
        return self._summarize(idata, target, X0, check_convergence)

    def resume(self, idata, target, draws=1000, *, thin=1, progressbar=True,
               check_convergence=True):
        """As :meth:`Sampler.resume`; the invariants of the continuation refer to the
        same X0 (call ``invariants.summarize`` after ``concat`` to summarise both parts)."""
        if MATRIX_SUMMARY not in idata.groups():
            raise ValueError("idata has no matrix_summary group: it was not made by MatrixLangevin")
        X0 = idata[MATRIX_SUMMARY]["X0"].values
        if target.unknown_noise:
            tau = idata[MATRIX_SUMMARY].attrs.get("log_sigma_scale")
            if tau is None:
                raise ValueError("idata was made with a known noise level, target has an "
                                 "unknown one (noise_std=None)")
            target = target.with_log_sigma_scale(tau)
        more = super().resume(idata, target, draws, thin=thin, progressbar=progressbar,
                              check_convergence=False)
        return self._summarize(more, target, X0, check_convergence)

    @staticmethod
    def convergence_variables(target):
        """The posterior variables whose R-hat and ESS are checked: the invariants, and
        sigma when the noise level is sampled."""
        return INVARIANTS + (("sigma",) if getattr(target, "unknown_noise", False) else ())

    def _summarize(self, idata, target, X0, check_convergence):
        """The invariants and the summary of M, then R-hat and ESS of the invariants."""
        idata = summarize(idata, target, X0, self.ci_prob)
        if check_bool(check_convergence, "check_convergence"):
            convergence.warn_convergence(idata, self.convergence_variables(target), stacklevel=3,
                                         label=self.name, divergences=False)
        return idata

    @staticmethod
    def stretched(problem, X0):
        """``problem`` (unknown noise) with its log-sigma coordinate stretched for Langevin:
        tau^2 = lambda_X / (4 (m + 2a)), lambda_X = beta(s0) times the top eigenvalue of the
        loss Hessian at X0 (see the module docstring)."""
        s0 = problem.log_sigma_mode(X0)
        lam_x = 0.5 * np.exp(-2.0 * s0) * problem.loss_hessian_max_eig(X0)
        m2a = problem.m_independent + 2.0 * problem.noise_prior[0]
        return problem.with_log_sigma_scale(float(np.sqrt(lam_x / (4.0 * m2a))))

    def default_step_size(self, problem, x):
        """``step_scale / lambda_max``: lambda_max the largest eigenvalue of the Hessian of
        -log p at ``x`` (rotation invariant, so any point of the orbit gives it): X (d, k)
        or a flat point of the target; with an unknown noise level, log sigma is its last
        coordinate, or the conditional mode given X when ``x`` is X alone."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        n = problem.d * problem.rank
        log_sigma = None
        if problem.unknown_noise and x.size == n + 1:
            log_sigma = x[n] * problem.log_sigma_scale
        return self.step_scale / problem.hessian_max_eig(x[:n].reshape(problem.d, problem.rank),
                                                         log_sigma)

    def plan(self, target, tune=None, initial=None):
        """Langevin's plan with the step size fixed (``default_step_size`` at the first
        initial point, or at ``reference_point`` when ``initial`` is not given) and, with
        ``symmetry_moves``, orthogonal moves of rank ``k`` on the d x k coordinates of X
        (a sampled log noise level, the last coordinate, is invariant under them)."""
        plan = super().plan(target, tune, initial)
        step_size = self.step_size
        if step_size is None:
            x = initial[0] if initial is not None else self.reference_point(target)
            step_size = self.default_step_size(target, x)
        return replace(plan, explorer=plan.explorer._replace(step_size=step_size, step_scale=None),
                       rounds=single_round(plan.tune), adaptation=None,
                       symmetry_rank=target.rank if self.symmetry_moves else 0,
                       symmetry_rows=target.d if self.symmetry_moves else 0)

    @staticmethod
    def _check_target(target):
        if not isinstance(target, MatrixProblem):
            raise TypeError("target must be a samplers.matrix problem (Factorization, Sensing or "
                            f"Completion), got {type(target).__name__}")


def _noise_initial(problem, initial):
    """``initial`` of an unknown-noise problem in its coordinates (vec X, log(sigma) / tau):
    from X, (d, k) or (chains, d, k), with log sigma at its conditional mode, or from
    points (vec X, log sigma), (d k + 1,) or (chains, d k + 1)."""
    arr = np.asarray(initial, dtype=np.float64)
    n = problem.d * problem.rank
    if arr.shape[-2:] == (problem.d, problem.rank) and arr.ndim in (2, 3):
        points = np.stack([problem.point(X) for X in arr.reshape(-1, problem.d, problem.rank)])
    elif arr.shape[-1] == n + 1 and arr.ndim in (1, 2):
        points = arr.reshape(-1, n + 1).copy()
        points[:, -1] /= problem.log_sigma_scale
    else:
        raise ValueError(f"initial must be X, ({problem.d}, {problem.rank}) or (chains, "
                         f"{problem.d}, {problem.rank}), or points (vec X, log sigma), ({n + 1},) "
                         f"or (chains, {n + 1}), got shape {arr.shape}")
    # One point for all chains stays one point (the sampler broadcasts it to the chains).
    single = arr.shape == (problem.d, problem.rank) or arr.ndim == 1
    return points[0] if single else points
