"""Distance to the target over time, and the mixing time read from it.

:func:`distance_curve` runs ``n`` independent chains of a sampler from a
given initial distribution (``initial``: one point per chain, or a function
of a random generator that draws them) and, at every checkpoint ``t``
(in steps), measures the distance of the ensemble ``{X_t^(c)}`` to the target
(``distance.py``).  The chains run without warm-up (``tune=0``), so they are
the fixed Markov chain of the sampler's settings started from ``initial``;
the sampler needs a ``step_size`` (and simulated tempering its
``log_weights``, e.g. from a pilot run as the sweeps do).

The ensemble at time ``t`` is the state of every chain after ``t`` steps
for Langevin and parallel tempering (the replica at beta = 1).  For
simulated tempering, whose draws are the visits of the top level only, it
is each chain's latest beta = 1 state at or before ``t``; a chain with none
would be left out, but the chain starts at the top level, so its initial
point is one and every chain enters every checkpoint (``n_chains`` reports
the count).  Simulated tempering runs until every chain has made as many
steps as the last checkpoint (``_run_to_step``), and a step counts every
level; gradient evaluations count every replica.

**Band.** Bootstrap over chains (Efron 1979): the chains are i.i.d., so the
ensemble is resampled with replacement, ``B`` times, *the same resample at
every checkpoint*, which makes each replicate a whole curve.  ``lower`` and
``upper`` are the pointwise percentile interval at ``level``.  The
replicate curves also give the interval of the mixing time: the first
checkpoint below ``eps`` of each replicate, and their percentiles.  An
empirical distance is biased upwards by about ``n^{-1/2}`` (an ensemble of
exact draws is not at distance 0); :func:`distance_curve` reports that
``floor`` where the target has exact draws -- choose ``eps`` well above it.

**Cost units.** Steps ``t``; gradient evaluations ``t`` times the replicas
per step (``L`` for parallel tempering, 1 otherwise); CPU seconds of one chain
(``cpu_seconds``) ``t`` times the
cost of one step of one chain, measured as the run's ``sampling_time`` times
the threads used over the steps of all chains.
"""
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._checks import check_count, plain
from .._rng import make_seed
from ..inference_data import TEMPERING, RunAttr, TemperingVar, concat, flat_draws, run_attrs
from ..sampler import Sampler
from .distance import Metric, check_metric

__all__ = ["DistanceCurve", "MixingTime", "distance_curve", "mixing_time", "curve_and_run",
           "ensembles_at"]

#: Exact ensembles drawn to estimate the floor of the distance.
FLOOR_REPEATS = 10


@dataclass(frozen=True)
class DistanceCurve:
    """A distance curve with its bootstrap band (see the module docstring).

    Arrays are indexed by checkpoint; ``replicates`` is ``(B, checkpoints)``.
    """

    metric: str
    sampler: str
    checkpoints: np.ndarray       # steps
    gradient_evals: np.ndarray    # gradient evaluations per chain at each checkpoint
    cpu_seconds: np.ndarray       # CPU seconds of one chain at each checkpoint (wall time x threads / chains)
    distance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    replicates: np.ndarray
    n_chains: np.ndarray          # chains in the ensemble at each checkpoint
    level: float
    floor: float                  # mean distance of an exact ensemble of the same size (NaN if unknown)
    sampling_time: float          # wall time of the run inside the sampler

    def to_dataset(self):
        """The curve as an ``xarray.Dataset`` (dimension ``checkpoint``)."""
        import xarray as xr

        dims = ("checkpoint",)
        return xr.Dataset(
            {"distance": (dims, self.distance), "lower": (dims, self.lower),
             "upper": (dims, self.upper), "gradient_evals": (dims, self.gradient_evals),
             "cpu_seconds": (dims, self.cpu_seconds), "n_chains": (dims, self.n_chains)},
            coords={"checkpoint": self.checkpoints},
            attrs={"metric": self.metric, "sampler": self.sampler, "level": self.level,
                   "floor": self.floor, "sampling_time": self.sampling_time})


class MixingTime(NamedTuple):
    """The first checkpoint below ``eps``, in three units, each with its interval.

    ``inf`` where the curve (or a bound) never goes below ``eps``.
    """

    eps: float
    steps: float
    steps_interval: tuple
    gradient_evals: float
    gradient_evals_interval: tuple
    cpu_seconds: float            # CPU seconds of one chain
    cpu_seconds_interval: tuple


def check_checkpoints(checkpoints):
    """Non-empty, strictly increasing, non-negative integer steps."""
    try:
        arr = np.asarray(checkpoints)
    except (TypeError, ValueError) as err:
        raise ValueError(f"checkpoints must be a 1-D array of steps: {err}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"checkpoints must be a non-empty 1-D array of steps, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError("checkpoints must be integer numbers of steps")
    arr = arr.astype(np.int64)
    if arr[0] < 0 or np.any(np.diff(arr) <= 0):
        raise ValueError("checkpoints must be non-negative and strictly increasing")
    return arr


def check_level(level, name="level"):
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"{name} must be a number in (0, 1), got {plain(level)!r}")
    return float(level)


def initial_points(initial, chains, target, rng):
    """The ``(chains, dim)`` start: an array, or ``initial(rng)`` for a callable."""
    if initial is None:
        raise ValueError("initial must be given: an array (chains, dim) or a callable rng -> points")
    x0 = initial(rng) if callable(initial) else initial
    x0 = np.array(x0, dtype=np.float64)
    if x0.ndim != 2 or x0.shape[1] != target.dim or x0.shape[0] < 2:
        raise ValueError(f"initial must give points of shape (chains, {target.dim}) with "
                         f"chains >= 2, got {x0.shape}")
    if chains is not None and x0.shape[0] != chains:
        raise ValueError(f"initial gave {x0.shape[0]} points for chains={chains}")
    if not np.all(np.isfinite(x0)):
        raise ValueError("initial must be finite")
    return x0


def distance_curve(sampler, target, initial, checkpoints, *, metric="tv_modes", reference=None,
                   projection=None, n_boot=200, level=0.95, rng=None, chains=None):
    """Distance of ``chains`` independent chains to ``target`` at each checkpoint.

    Parameters
    ----------
    sampler : Sampler
        ``Langevin``, ``SimulatedTempering`` or ``ParallelTempering`` with a
        ``step_size`` (the chains run without warm-up).
    target : Target
    initial : array (chains, dim) or callable
        The initial distribution: one point per chain, or ``initial(rng)``
        returning them (``rng`` a ``numpy.random.Generator``).
    checkpoints : array of int
        Steps at which to measure, strictly increasing; 0 is the initial
        distribution itself.
    metric, reference, projection
        See :func:`samplers.mixing.distance`.
    n_boot : int
        Bootstrap replicates (default 200).
    level : float
        Coverage of the band and of the mixing-time interval (default 0.95).
    rng : None, int or numpy.random.Generator
        One seed for the chains, the initial draws, the reference and the
        bootstrap (independent streams spawned from it).
    chains : int, optional
        Checked against the number of initial points when given.

    Returns
    -------
    DistanceCurve
    """
    return curve_and_run(sampler, target, initial, checkpoints, metric=metric,
                         reference=reference, projection=projection, n_boot=n_boot, level=level,
                         rng=rng, chains=chains)[0]


def curve_and_run(sampler, target, initial, checkpoints, *, metric, reference, projection, n_boot,
                  level, rng, chains):
    """:func:`distance_curve`, also returning the run (a dict holding its ``idata``)."""
    if not isinstance(sampler, Sampler):
        raise TypeError(f"sampler must be a samplers.Sampler, got {type(sampler).__name__}")
    if sampler.step_size is None:
        raise ValueError("sampler needs a step_size: distance curves run the chains without "
                         "warm-up, from the initial distribution")
    checkpoints = check_checkpoints(checkpoints)
    check_metric(metric, target, reference, projection)
    n_boot = check_count(n_boot, "n_boot", minimum=10)
    level = check_level(level)
    seed = make_seed(rng)
    streams = [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,))) for k in range(4)]
    x0 = initial_points(initial, chains, target, streams[1])
    measure = Metric(metric, target, reference, projection, rng=streams[2])

    run = run_chains(sampler, target, x0, checkpoints, streams[0])
    ensembles = ensembles_at(run, checkpoints)
    n = x0.shape[0]
    counts = streams[3].multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    distance = np.empty(checkpoints.size)
    replicates = np.full((n_boot, checkpoints.size), np.nan)
    n_chains = np.zeros(checkpoints.size, dtype=np.int64)
    for k, (x, used) in enumerate(ensembles):
        n_chains[k] = used.sum()
        if n_chains[k] == 0:
            distance[k] = np.nan
            continue
        weights = counts[:, used]
        ok = weights.sum(axis=1) > 0   # a replicate that drew none of the included chains
        # One call: row 0 (every chain once) is the estimate, the rest the replicates.
        values = measure(x[used], np.vstack([np.ones(n_chains[k]), weights[ok]]))
        distance[k] = values[0]
        replicates[ok, k] = values[1:]
    alpha = 1.0 - level
    # The same values; np.quantile when there is no NaN: nanquantile loops in
    # Python over the columns.
    quantile = np.nanquantile if np.isnan(replicates).any() else np.quantile
    lower, upper = quantile(replicates, [alpha / 2, 1 - alpha / 2], axis=0)
    curve = DistanceCurve(
        metric=metric, sampler=sampler.name, checkpoints=checkpoints,
        gradient_evals=checkpoints * run["grads_per_step"],
        cpu_seconds=checkpoints * run["seconds_per_step"], distance=distance, lower=lower,
        upper=upper, replicates=replicates, n_chains=n_chains, level=level,
        floor=_floor(measure, target, n, streams[3]), sampling_time=run["sampling_time"])
    return curve, run


def run_chains(sampler, target, x0, checkpoints, rng):
    """Run the chains to the last checkpoint; their states with the step of each (a dict).

    Langevin and parallel tempering keep one state in ``gcd(checkpoints)``
    (memory: chains x last / gcd x dim floats).
    """
    import numba

    chains = x0.shape[0]
    last = int(checkpoints[-1])
    plan = sampler.plan(target, initial=x0)
    # Level moves: draws are visits of the top level, a random number of steps apart.
    tempering_levels = plan.communication == "level_moves"
    if last == 0:
        positions = np.zeros((chains, 0, target.dim))
        times = np.zeros((chains, 0), dtype=np.int64)
        return dict(x0=x0, positions=positions, times=times, grads_per_step=1,
                    seconds_per_step=0.0, sampling_time=0.0, idata=None)
    if tempering_levels:
        idata = _run_to_step(sampler, target, x0, last, rng)
        draws = idata.posterior.sizes["draw"]
        times = np.cumsum(idata.sample_stats["n_steps"].values, axis=1)
        steps = idata[TEMPERING][TemperingVar.STEPS].values.astype(np.float64)
    else:
        thin = math.gcd(*[int(t) for t in checkpoints])
        draws = last // thin
        idata = sampler.sample(target, draws=draws, tune=0, chains=chains, rng=rng, initial=x0,
                               thin=thin, progressbar=False, check_convergence=False)
        times = np.broadcast_to((np.arange(draws) + 1) * thin, (chains, draws))
        steps = np.full(chains, float(draws * thin))
    positions = flat_draws(idata, target)
    grads = plan.n_replicas  # gradient evaluations per step
    wall = run_attrs(idata)[RunAttr.SAMPLING_TIME]
    threads = min(numba.get_num_threads(), chains)
    return dict(x0=x0, positions=positions, times=times, grads_per_step=grads,
                seconds_per_step=wall * threads / steps.sum(), sampling_time=wall, idata=idata)


#: Margin on the expected number of beta = 1 visits when simulated tempering runs to a step.
VISIT_MARGIN = 1.25
#: Fewest visits asked of one part: the engine gives up on a chain that has not reached the
#: top level within max(50, 10 L) steps per visit asked, so a handful of visits would make
#: an ordinary long excursion to the hot levels an error.
MIN_VISITS = 200


def _run_to_step(sampler, target, x0, last, rng):
    """Simulated tempering until every chain has made ``last`` steps, keeping every visit.

    The sampler stops after a number of beta = 1 *visits*, not steps.  With
    weights near ``-log Z`` a chain spends about ``1 / L`` of its steps at the
    top, so ``1.25 last / L`` visits (at least 200) usually cover ``last`` steps; chains that
    fall short are continued by ``resume`` (bit-identical to one longer run)
    until all have.  Asking for ``last`` visits would cost about ``L x last``
    steps.  The parts are joined by ``samplers.concat``, which pools their diagnostics
    and makes the step counts ``n_steps`` run on across the joins.
    """
    n_levels = sampler.plan(target, initial=x0).n_levels
    seed = make_seed(rng)    # an int: a retry below must start the same chains

    def visits(run, wanted):
        # The engine stops a chain that has made fewer than one visit per max(50, 10 L)
        # steps asked (a long excursion to the hot levels, rare with good weights) and
        # returns the draws every chain has: a part that is short (or empty) would break
        # the step counts of the curve, so it is run again asking for `last` visits, the
        # budget of a plain run.  Deterministic, so every executor makes the same choice.
        asked = max(MIN_VISITS, wanted)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*had only", category=RuntimeWarning)
                idata = run(asked)
            if idata.posterior.sizes["draw"] == asked:
                return idata
        except RuntimeError:
            pass
        if asked >= last:
            raise RuntimeError(f"simulated tempering could not make {asked} visits of the top "
                               f"level within its step budget from these initial points")
        return run(last)

    parts = [visits(lambda d: sampler.sample(target, draws=d, tune=0, chains=x0.shape[0], rng=seed,
                                             initial=x0, thin=1, progressbar=False,
                                             check_convergence=False),
                    math.ceil(VISIT_MARGIN * last / n_levels))]
    steps = parts[0][TEMPERING][TemperingVar.STEPS].values.copy()
    while steps.min() < last:
        previous = parts[-1]
        parts.append(visits(lambda d: sampler.resume(previous, target, draws=d, progressbar=False,
                                                     check_convergence=False),
                            math.ceil(VISIT_MARGIN * (last - steps.min()) / n_levels)))
        steps += parts[-1][TEMPERING][TemperingVar.STEPS].values
    return concat(*parts) if len(parts) > 1 else parts[0]


def ensembles_at(run, checkpoints):
    """Per checkpoint ``t``: each chain's latest beta = 1 state at or before ``t``, and which
    chains have one (a list of ``(x, used)``)."""
    times, x0 = run["times"], run["x0"]
    # One search per chain for all checkpoints: index[c, k] is the last draw at or before t_k.
    index = np.array([np.searchsorted(row, checkpoints, side="right") - 1 for row in times],
                     dtype=np.int64).reshape(times.shape[0], len(checkpoints))
    out = []
    for k in range(len(checkpoints)):
        x = x0.copy()
        later = index[:, k] >= 0
        x[later] = run["positions"][np.flatnonzero(later), index[later, k]]
        # Index -1 is the initial point, itself a beta = 1 state: every sampler starts at
        # the top level.  So every chain has a state; `used` is for samplers that would not.
        out.append((x, np.ones(times.shape[0], dtype=bool)))
    return out


def _floor(measure, target, n, rng):
    """Mean distance of ``n`` exact draws to the target (NaN without ``target.sample``)."""
    if not callable(getattr(target, "sample", None)):
        return float("nan")
    return float(np.mean([measure(target.sample(n, rng)) for _ in range(FLOOR_REPEATS)]))


def mixing_time(curve, eps=0.25):
    """The first checkpoint at which the distance is below ``eps``, with its interval.

    The interval is the percentile interval (at ``curve.level``) of the
    first crossing of the bootstrap replicate curves; ``inf`` stands for
    "not below ``eps`` by the last checkpoint".  Returned in steps,
    gradient evaluations and seconds (see :class:`DistanceCurve`).
    """
    if not isinstance(curve, DistanceCurve):
        raise TypeError(f"curve must be a DistanceCurve, got {type(curve).__name__}")
    eps = check_level(eps, "eps")
    steps = curve.checkpoints.astype(np.float64)
    point = float(_first_below(curve.distance[None, :], eps, steps)[0])
    crossings = _first_below(curve.replicates, eps, steps)
    alpha = 1.0 - curve.level
    low = float(np.quantile(crossings, alpha / 2, method="inverted_cdf"))
    high = float(np.quantile(crossings, 1 - alpha / 2, method="inverted_cdf"))
    per_grad = float(curve.gradient_evals[-1] / steps[-1]) if steps[-1] > 0 else 1.0
    per_second = float(curve.cpu_seconds[-1] / steps[-1]) if steps[-1] > 0 else 0.0
    return MixingTime(eps=eps, steps=point, steps_interval=(low, high),
                      gradient_evals=point * per_grad,
                      gradient_evals_interval=(low * per_grad, high * per_grad),
                      cpu_seconds=point * per_second,
                      cpu_seconds_interval=(low * per_second, high * per_second))


def _first_below(curves, eps, steps):
    """First step at which each row of ``curves`` is below ``eps`` (inf if never)."""
    below = curves < eps
    first = np.argmax(below, axis=1)
    return np.where(below.any(axis=1), steps[first], np.inf)
