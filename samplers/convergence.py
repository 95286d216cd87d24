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

R-hat and ESS (on at most ``MAX_CHECKED_DRAWS`` evenly spaced draws per chain
and ``MAX_CHECKED_COORDINATES`` coordinates per variable) are ArviZ's
(Vehtari et al. 2021: rank-normalised split R-hat,
bulk ESS, tail ESS as the smaller of the 5% and 95% quantile ESS, Geyer's
initial monotone sequence), computed here for all coordinates at once:
ArviZ 0.23 runs a Python loop per coordinate, about 1 s per coordinate of
a million draws, which would make the check the slowest part of a run.
:func:`rhat` and :func:`ess` equal ``arviz.rhat`` and ``arviz.ess`` to
rounding (a test compares them).  They check the chains against each other,
so they cannot see what no chain found: a mode no chain visited, or a
region no step size can enter (Neal's funnel: MALA is biased there with an
R-hat near 1.006 and no divergence).  ``check_convergence(idata)`` returns
the messages; ``sample(..., check_convergence=False)`` skips R-hat and ESS
(divergences are always reported).
"""
import warnings

import numpy as np

__all__ = ["ConvergenceWarning", "check_convergence", "warn_convergence", "rhat", "ess",
           "RHAT_MAX", "ESS_PER_CHAIN"]

RHAT_MAX = 1.01
ESS_PER_CHAIN = 100
#: R-hat and ESS are computed on at most this many evenly spaced draws per chain: a
#: thinned chain keeps the ESS of the whole, min(ESS, this), so a run with fewer than
#: ESS_PER_CHAIN effective draws per chain fails either way, and the check of a long run
#: costs milliseconds, not seconds (it sorts every value three times).
MAX_CHECKED_DRAWS = 500
#: ... and on at most this many evenly spaced coordinates of each variable.
MAX_CHECKED_COORDINATES = 1000


class ConvergenceWarning(RuntimeWarning):
    """The draws of a run failed a convergence check (R-hat, ESS or divergences)."""


def check_convergence(idata, var_names=None, rhat_and_ess=True, divergences=True):
    """The convergence problems of a run, as a list of sentences (empty when none).

    ``var_names`` restricts R-hat and ESS to those posterior variables
    (default: every variable of ``posterior``); ``rhat_and_ess=False`` or
    ``divergences=False`` leaves those checks out.
    """
    posterior = idata.posterior
    if var_names is not None:
        posterior = posterior[list(var_names)]
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    problems = []
    sample_stats = idata.sample_stats if "sample_stats" in idata.groups() else None
    if divergences and sample_stats is not None and "diverging" in sample_stats:
        per_chain = sample_stats["diverging"].values.reshape(n_chains, -1).sum(axis=1)
        if per_chain.sum():
            problems.append(
                f"{int(per_chain.sum())} divergent draws (per chain: {per_chain.tolist()}; marked in "
                "sample_stats.diverging): the step met a non-finite log density or gradient or a "
                "huge discretisation error, and the draws near there may be biased")
    if n_draws < 4 or not rhat_and_ess:
        return problems
    keep = np.unique(np.linspace(0, n_draws - 1, min(n_draws, MAX_CHECKED_DRAWS)).astype(int))
    values, coordinates = {}, {}
    for name, array in posterior.data_vars.items():
        v = np.asarray(array.values, dtype=float).reshape(n_chains, n_draws, -1)[:, keep]
        coordinates[name] = np.unique(np.linspace(0, v.shape[2] - 1, min(v.shape[2],
                                                  MAX_CHECKED_COORDINATES)).astype(int))
        values[name] = v[:, :, coordinates[name]]
    if n_chains > 1:
        worst = _worst({name: rhat(v) for name, v in values.items()}, posterior, coordinates)
        if worst[0] > RHAT_MAX:
            problems.append(f"R-hat up to {worst[0]:.3f} ({worst[1]}) is above {RHAT_MAX}: the "
                            "chains disagree; run longer or check for modes they do not share")
    for method in ("bulk", "tail"):
        worst = _worst({name: ess(v, method) for name, v in values.items()}, posterior,
                       coordinates, lowest=True)
        if worst[0] < ESS_PER_CHAIN * n_chains:
            problems.append(f"{method} effective sample size down to {worst[0]:.0f} ({worst[1]}), "
                            f"{worst[0] / n_chains:.0f} per chain, is below {ESS_PER_CHAIN} per "
                            "chain: draw more or thin less")
    return problems


def rhat(draws):
    """Rank-normalised split R-hat of every coordinate of ``draws`` ``(chains, draws, P)``:
    the larger of the bulk (z-scores of the ranks) and the tail (of ``|x - median|``)."""
    split = _split(draws)
    folded = np.abs(split - np.median(split.reshape(-1, split.shape[2]), axis=0))
    return np.maximum(_rhat(_z_scale(split)), _rhat(_z_scale(folded)))


def ess(draws, method="bulk"):
    """Bulk ESS (of the z-scored ranks) or tail ESS (the smaller of the ESS of the
    indicators ``x <= q05`` and ``x <= q95``) of every coordinate of ``draws``
    ``(chains, draws, P)``."""
    if method == "bulk":
        return _ess(_z_scale(_split(draws)))
    flat = draws.reshape(-1, draws.shape[2])
    low, high = (_ess(_split((draws <= np.quantile(flat, q, axis=0)).astype(float)))
                 for q in (0.05, 0.95))
    return np.minimum(low, high)


def _split(draws):
    """Each chain's first and last halves as chains of their own: ``(2 chains, n // 2, P)``."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, draws.shape[1] - half:]], axis=0)


def _z_scale(draws):
    """Normal scores of the ranks over all chains (Blom's offset 3/8, ties averaged)."""
    from scipy import stats  # (scipy.stats costs 0.3 s to import: not at `import samplers`)

    flat = draws.reshape(-1, draws.shape[2])
    ranks = stats.rankdata(flat, method="average", axis=0)
    return stats.norm.ppf((ranks - 0.375) / (flat.shape[0] + 0.25)).reshape(draws.shape)


def _rhat(draws):
    n = draws.shape[1]
    between = n * np.var(draws.mean(axis=1), axis=0, ddof=1)
    within = np.mean(np.var(draws, axis=1, ddof=1), axis=0)
    # Chains that never moved: R-hat = inf where they disagree, NaN where they agree (or
    # hold non-finite values): the check reports those itself.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def _ess(draws):
    """ESS of every coordinate by Geyer's initial monotone sequence on the
    autocovariances (FFT, all coordinates at once) averaged over chains."""
    n_chains, n, _ = draws.shape
    centred = draws - draws.mean(axis=1, keepdims=True)
    m = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(centred, n=m, axis=1)
    acov = np.fft.irfft(spectrum * np.conjugate(spectrum), n=m, axis=1)[:, :n] / n
    chain_var = np.var(draws.mean(axis=1), axis=0, ddof=1) if n_chains > 1 else np.zeros(draws.shape[2])
    constant = (draws.max(axis=(0, 1)) - draws.min(axis=(0, 1))) < np.finfo(float).resolution
    out = _geyer(np.ascontiguousarray(acov.mean(axis=0)), chain_var, n_chains)
    out[constant] = n_chains * n
    return out


def _geyer(mean_acov, chain_var, n_chains):
    """Geyer's initial positive, then monotone, sequence of autocorrelations (as ArviZ's
    loop, vectorised over coordinates): the ESS of every column of ``mean_acov``.

    Pairs ``P_j = rho_2j + rho_2j+1`` are summed up to the first ``j >= 1`` with
    ``P_j <= 0`` (at most to ``j = ceil(n / 2) - 2``), each replaced by the running
    minimum of the pairs before it; the even term of the last pair computed is added
    once (when stored or positive)."""
    n, n_par = mean_acov.shape
    mean_var = mean_acov[0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + chain_var
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var - mean_acov) / var_plus
    rho[0] = 1.0
    n_pairs = n // 2
    sums = rho[0:2 * n_pairs:2] + rho[1:2 * n_pairs:2]
    k_lim = (n - 1) // 2 - 1
    if k_lim >= 1:
        stop = sums[1:k_lim + 1] <= 0.0
        k = np.where(stop.any(axis=0), np.argmax(stop, axis=0) + 1, k_lim)
    else:   # too few draws for a single pair beyond the first
        k = np.zeros(n_par, dtype=int)
    k = np.where(sums[0] > 0.0, k, 0)
    running = np.cumsum(np.minimum.accumulate(sums, axis=0), axis=0)
    cols = np.arange(n_par)
    pairs = np.where(k > 0, running[np.maximum(k - 1, 0), cols], 0.0)
    even = rho[2 * k, cols]
    stored = (k > 0) & (sums[k, cols] >= 0.0)
    last = np.where(k == 0, 1.0, np.where(stored | (even > 0.0), even, 0.0))
    total = n_chains * n
    tau = np.maximum(-1.0 + 2.0 * pairs + last, 1.0 / np.log10(total))
    return np.where(np.isnan(rho).any(axis=0), np.nan, total / tau)


def warn_convergence(idata, var_names=None, stacklevel=1, problems=(), label=None, **checks):
    """Issue one :class:`ConvergenceWarning` listing ``problems`` and
    :func:`check_convergence`'s (``checks``: its keyword arguments); return them all.

    ``stacklevel`` as ``warnings.warn``'s, counted from the caller of this function
    (1: the warning points at the line calling it)."""
    problems = list(problems) + check_convergence(idata, var_names, **checks)
    if problems:
        prefix = f"{label}: " if label else ""
        warnings.warn(f"{prefix}the draws failed convergence checks:\n- " + "\n- ".join(problems),
                      ConvergenceWarning, stacklevel=stacklevel + 1)
    return problems


def _worst(per_variable, posterior, coordinates, lowest=False):
    """``(value, "variable[index]")`` of the largest entry, ``+inf`` included (an R-hat of
    chains that never moved, at different points), or of the smallest finite one
    (``coordinates[name]``: the flat indices the entries of ``name`` stand for); NaN
    entries (constant draws) are left out."""
    best = (np.inf if lowest else -np.inf, "")
    for name, values in per_variable.items():
        values = np.asarray(values, dtype=float)
        usable = np.isfinite(values) if lowest else ~np.isnan(values)
        if not usable.any():
            continue
        flat = np.where(usable, values, np.inf if lowest else -np.inf)
        i = int(np.argmin(flat) if lowest else np.argmax(flat))
        value = float(flat[i])
        if (value < best[0]) if lowest else (value > best[0]):
            shape = posterior[name].shape[2:]
            where = np.unravel_index(coordinates[name][i], shape) if shape else ()
            best = (value, f"{name}[{', '.join(str(int(j)) for j in where)}]" if where else str(name))
    return best
