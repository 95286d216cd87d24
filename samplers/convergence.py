"""Convergence checks after a run: what a PyMC user would be told.

After ``sample()`` the draws are checked once and every problem found is
reported in one ``ConvergenceWarning``:

* rank-normalised split R-hat (Vehtari et al. 2021) above ``RHAT_MAX`` =
  1.01 for some coordinate (needs two chains or more);
* bulk or tail effective sample size below ``ESS_PER_CHAIN`` = 100 per
  chain (the draws then estimate the posterior mean, or its 5% and 95%
  quantiles, with a Monte Carlo error above a tenth of a posterior sd);
* divergences: draws after a proposal with a NaN log density, a
  non-finite gradient, or a Metropolis log ratio below -1000 (the energy
  error Stan calls a divergence; ``kernels.langevin.DIVERGENCE_LOG_RATIO``),
  counted per chain.  Proposals outside the support (``log p = -inf``) are
  rejections, not divergences (``sample_stats.outside_support``).

R-hat and ESS come from ArviZ.  They check the chains against each other,
so they cannot see what no chain found: a mode no chain visited, or a
region no step size can enter (Neal's funnel: MALA is biased there with an
R-hat near 1.006 and no divergence).  ``check_convergence(idata)`` returns
the messages; ``sample(..., check_convergence=False)`` skips R-hat and ESS
(divergences are always reported).
"""
import warnings

import numpy as np

__all__ = ["ConvergenceWarning", "check_convergence", "warn_convergence", "RHAT_MAX",
           "ESS_PER_CHAIN"]

RHAT_MAX = 1.01
ESS_PER_CHAIN = 100


class ConvergenceWarning(RuntimeWarning):
    """The draws of a run failed a convergence check (R-hat, ESS or divergences)."""


def check_convergence(idata, var_names=None, rhat_and_ess=True, divergences=True):
    """The convergence problems of a run, as a list of sentences (empty when none).

    ``var_names`` restricts R-hat and ESS to those posterior variables
    (default: every variable of ``posterior``); ``rhat_and_ess=False`` or
    ``divergences=False`` leaves those checks out.
    """
    from .inference_data import arviz

    az = arviz()
    posterior = idata.posterior
    if var_names is not None:
        posterior = posterior[list(var_names)]
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    problems = []
    stats = idata.sample_stats if "sample_stats" in idata.groups() else None
    if divergences and stats is not None and "diverging" in stats:
        per_chain = stats["diverging"].values.reshape(n_chains, -1).sum(axis=1)
        if per_chain.sum():
            problems.append(
                f"{int(per_chain.sum())} divergent draws (per chain: {per_chain.tolist()}; marked in "
                "sample_stats.diverging): the step met a non-finite log density or gradient or a "
                "huge discretisation error, and the draws near there may be biased")
    if n_draws < 4 or not rhat_and_ess:
        return problems
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if n_chains > 1:
            rhat = _worst(az.rhat(posterior))
            if rhat[0] > RHAT_MAX:
                problems.append(f"R-hat up to {rhat[0]:.3f} ({rhat[1]}) is above {RHAT_MAX}: the "
                                "chains disagree; run longer or check for modes they do not share")
        for method in ("bulk", "tail"):
            ess = _worst(az.ess(posterior, method=method), lowest=True)
            if ess[0] < ESS_PER_CHAIN * n_chains:
                problems.append(f"{method} effective sample size down to {ess[0]:.0f} ({ess[1]}) "
                                f"is below {ESS_PER_CHAIN} per chain: draw more or thin less")
    return problems


def warn_convergence(idata, var_names=None, stacklevel=3, problems=(), label=None, **checks):
    """Issue one :class:`ConvergenceWarning` listing ``problems`` and
    :func:`check_convergence`'s (``checks``: its keyword arguments); return them all."""
    problems = list(problems) + check_convergence(idata, var_names, **checks)
    if problems:
        prefix = f"{label}: " if label else ""
        warnings.warn(f"{prefix}the draws failed convergence checks:\n- " + "\n- ".join(problems),
                      ConvergenceWarning, stacklevel=stacklevel + 1)
    return problems


def _worst(dataset, lowest=False):
    """``(value, "variable[index]")`` of the largest (or smallest) finite entry."""
    best = (np.inf if lowest else -np.inf, "")
    for name, array in dataset.data_vars.items():
        values = np.asarray(array.values, dtype=float)
        if not np.isfinite(values).any():
            continue
        flat = np.where(np.isfinite(values), values, np.inf if lowest else -np.inf)
        i = int(np.argmin(flat) if lowest else np.argmax(flat))
        value = float(flat.reshape(-1)[i])
        if (value < best[0]) if lowest else (value > best[0]):
            where = np.unravel_index(i, values.shape) if values.ndim else ()
            best = (value, f"{name}[{', '.join(str(int(j)) for j in where)}]" if where else str(name))
    return best
