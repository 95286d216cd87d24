"""``Langevin``: the unadjusted Langevin algorithm (ULA) and MALA.

    x' = x + h grad log p(x) + sqrt(2 h) xi,    xi ~ N(0, I)

ULA takes every step (Roberts and Tweedie 1996); its stationary law is
biased by O(h).  MALA adds the Metropolis-Hastings test of
``kernels.langevin`` and is exact for any ``h``.  The transition itself is in
``kernels/langevin.py``; the multi-chain loop in ``driver.py``.
"""
import warnings

import numpy as np

from .driver import compile_for, drive, langevin_chunk, langevin_init
from .inference_data import to_inference_data
from .sampler import Sampler, check_positive

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
        if not isinstance(metropolis, (bool, np.bool_)):
            raise TypeError(f"metropolis must be a bool, got {type(metropolis).__name__}")
        self.metropolis = bool(metropolis)
        self.target_accept = check_positive(target_accept, "target_accept", upper=1.0)

    @property
    def name(self):
        return "MALA" if self.metropolis else "ULA"

    def settings(self):
        return {"step_size": self.step_size, "metropolis": self.metropolis,
                "target_accept": self.target_accept}

    def __repr__(self):
        return (f"Langevin(step_size={self.step_size}, metropolis={self.metropolis}, "
                f"target_accept={self.target_accept})")

    def _run(self, target, x0, keys, run, saved, progressbar):
        n_chains, dim = x0.shape
        adapt = saved is None and self.step_size is None
        if adapt and run["tune"] == 0:
            raise ValueError("step_size=None is tuned during warm-up: give tune > 0 or a step_size")
        if saved is not None:
            step_size = np.ascontiguousarray(saved["step_size"], dtype=np.float64)
            frozen = np.ascontiguousarray(saved["frozen"], dtype=np.bool_)
        else:
            step_size = np.full(n_chains, self.step_size if self.step_size else np.nan)
            frozen = np.zeros(n_chains, dtype=np.bool_)
        x = x0.copy()
        lp = np.empty(n_chains)
        grad = np.empty((n_chains, dim))
        adapt_state = np.zeros((n_chains, 4))
        init_args = (x, lp, grad, step_size, adapt_state, keys, adapt, self.target_accept)
        compile_for(langevin_init, target, init_args)(target.logp_grad, target.params, *init_args)
        target.raise_python_error()
        bad = ~(np.isfinite(lp) & np.all(np.isfinite(grad), axis=1))
        if np.any(bad):
            raise ValueError(
                f"initial: the log density or its gradient is not finite at the initial point "
                f"of chain(s) {np.flatnonzero(bad).tolist()}"
            )

        draws, tune, thin = run["draws"], run["tune"], run["thin"]
        n_warm = tune // thin if run["save_warmup"] else 0
        out = _outputs(n_chains, draws, dim)
        warm = _outputs(n_chains, n_warm, dim)
        window = np.zeros((n_chains, 2))
        args = (x, lp, grad, step_size, adapt_state, frozen, window, keys, run["step0"],
                self.metropolis, adapt, self.target_accept, tune, thin, *out, *warm)
        wall = drive(langevin_chunk, target, tune + draws * thin, args, progressbar,
                     desc=self.name)

        self._warn_divergences(out[3], frozen)
        idata = to_inference_data(
            target, out[0], self._stats(out), warm[0] if run["save_warmup"] else None,
            self._stats(warm) if run["save_warmup"] else None,
            {"position": x, "step_size": step_size, "frozen": frozen, "keys": keys},
            self._attrs(run, wall, n_chains),
        )
        return idata

    def _stats(self, out):
        _, lp, accept, diverging, step = out
        stats = {"lp": lp, "diverging": diverging, "step_size": step}
        if self.metropolis:
            stats["acceptance_rate"] = accept
        return stats

    def _warn_divergences(self, diverging, frozen):
        if self.metropolis:
            n = int(diverging.sum())
            if n:
                warnings.warn(
                    f"{n} draws followed a proposal with a non-finite log density or gradient "
                    "(rejected; marked in sample_stats.diverging)", RuntimeWarning, stacklevel=4)
        elif frozen.any():
            warnings.warn(
                f"{int(frozen.sum())} of {frozen.size} ULA chains met a non-finite log density or "
                "gradient and were frozen at their last finite point (marked in "
                "sample_stats.diverging); try a smaller step_size", RuntimeWarning, stacklevel=4)


def _outputs(n_chains, n_draws, dim):
    """Preallocated (position, lp, acceptance, diverging, step size) records."""
    return (np.zeros((n_chains, n_draws, dim)), np.zeros((n_chains, n_draws)),
            np.zeros((n_chains, n_draws)), np.zeros((n_chains, n_draws), dtype=np.bool_),
            np.zeros((n_chains, n_draws)))
