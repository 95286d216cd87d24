"""Chain-internal measures of mixing, read from one run's ``InferenceData``.

* :func:`autocorrelation_time` -- the integrated autocorrelation time
  ``tau_f = 1 + 2 sum_{k>=1} rho_f(k)`` of user-chosen functions ``f``,
  through ArviZ's effective sample size of the mean of ``f``:
  ``tau_f = (chains x draws) / ESS_f`` (``method="mean"``, Geyer's initial
  monotone sequence over the chains' pooled autocorrelations, Vehtari et
  al. 2021, Bayesian Analysis 16), in draws.  Not the rank-normalised bulk
  ESS: that is the time of a monotone transform of ``f``, not of ``f``.
* :func:`tunnelling_rate` -- switches between the modes of a mixture per
  step.  A point is *in the core* of component ``k`` when its responsibility
  ``w_k N(x; m_k, S_k) / p(x)`` exceeds ``core``; between cores the chain
  keeps its last core label (hysteresis), so a chain dithering on the
  saddle counts no switch until it commits to the other mode.
* :func:`transition_times` -- durations of the transitions of a 1-D path
  between two levels ``a < b``: from the first time at or below ``a`` to the
  next time at or above ``b``, and back (the quantity whose mean is the
  mean first-passage time of ``kramers.transition_time``).
* :func:`round_trip_rate`, :func:`communication_barrier` -- for tempering
  samplers, from the diagnostics of the ``tempering`` group: round trips
  (hottest level to the target and back) per step, and the barrier
  ``Lambda = sum_i r_i`` over neighbouring pairs' rejection rates (Syed et
  al. 2022, arXiv 1905.02939).

Rates come as :class:`Rate` with the per-chain counts and a standard error
from their spread over chains (the chains are independent).
"""
from typing import NamedTuple

import numpy as np

from .._checks import plain
from ..inference_data import POSTERIOR, TEMPERING, RunAttr, TemperingVar, flat_draws, run_attrs

__all__ = ["Rate", "autocorrelation_time", "tunnelling_rate", "transition_times",
           "round_trip_rate", "communication_barrier", "chain_steps"]


class Rate(NamedTuple):
    """Events per step: ``value`` (pooled), ``se`` (over chains), per-chain ``counts`` and ``steps``."""

    value: float
    se: float
    counts: np.ndarray
    steps: np.ndarray


def _rate(counts, steps):
    counts = np.asarray(counts, dtype=np.float64)
    steps = np.asarray(steps, dtype=np.float64)
    value = counts.sum() / steps.sum()
    per_chain = counts / steps
    se = per_chain.std(ddof=1) / np.sqrt(per_chain.size) if per_chain.size > 1 else float("nan")
    return Rate(float(value), float(se), counts, steps)


def _check_idata(idata):
    if RunAttr.SAMPLER not in getattr(getattr(idata, POSTERIOR, None), "attrs", {}):
        raise TypeError("idata must be an InferenceData made by a samplers sampler")


def chain_steps(idata):
    """Steps of every chain after warm-up, and the step of every draw ``(chain, draw)``."""
    _check_idata(idata)
    stats = idata.sample_stats
    chains, draws = stats.sizes["chain"], stats.sizes["draw"]
    if "n_steps" in stats:
        times = np.cumsum(stats["n_steps"].values, axis=1)
        steps = idata[TEMPERING][TemperingVar.STEPS].values - run_attrs(idata)[RunAttr.TUNING_STEPS]
    else:
        thin = run_attrs(idata)[RunAttr.THIN]
        times = np.broadcast_to((np.arange(draws) + 1) * thin, (chains, draws))
        steps = np.full(chains, draws * thin)
    return np.asarray(steps, dtype=np.float64), times


def autocorrelation_time(idata, functions=None):
    """Integrated autocorrelation times (in draws) of functions of the draws.

    Parameters
    ----------
    idata : InferenceData
    functions : dict of name -> callable, optional
        Each ``f(x)`` maps draws ``(chain, draw, *shape)`` to ``(chain, draw)``.
        Default: every coordinate of the first posterior variable.

    Returns
    -------
    dict name -> float
        ``tau = chains * draws / ESS_mean``.
    """
    from ..inference_data import arviz

    _check_idata(idata)
    name = next(iter(idata.posterior.data_vars))
    values = idata.posterior[name].values
    chains, draws = values.shape[:2]
    if functions is None:
        flat = values.reshape(chains, draws, -1)
        functions = {f"{name}[{i}]": (lambda x, i=i: x.reshape(chains, draws, -1)[..., i])
                     for i in range(flat.shape[2])}
    if not isinstance(functions, dict) or not all(callable(f) for f in functions.values()):
        raise TypeError("functions must be a dict of name -> callable")
    az = arviz()
    out = {}
    for key, f in functions.items():
        series = np.asarray(f(values), dtype=np.float64)
        if series.shape != (chains, draws):
            raise ValueError(f"functions[{plain(key)!r}] must return shape {(chains, draws)}, "
                             f"got {series.shape}")
        ess = float(az.ess(series, method="mean"))
        out[key] = chains * draws / ess
    return out


def _forward_fill(labels):
    """Replace -1 by the last label >= 0 before it, along axis 1 (leading -1 stay)."""
    index = np.where(labels >= 0, np.arange(labels.shape[1]), 0)
    index = np.maximum.accumulate(index, axis=1)
    filled = np.take_along_axis(labels, index, axis=1)
    return filled


def _switch_steps(labels, times):
    """Per chain, the steps at which the forward-filled core label changes."""
    filled = _forward_fill(labels)
    switched = (filled[:, 1:] != filled[:, :-1]) & (filled[:, :-1] >= 0)
    return [times[c, 1:][switched[c]] for c in range(labels.shape[0])]


def tunnelling_rate(idata, target, *, core=0.9):
    """Mode switches per step (see the module docstring), from a mixture ``target``.

    For simulated tempering the path is the sequence of beta = 1 draws, and
    the rate is per step of the whole chain (all levels).
    """
    _check_idata(idata)
    if not hasattr(target, "component_of"):
        raise TypeError(f"target must be a GaussianMixture, got {type(target).__name__}")
    if isinstance(core, bool) or not 0.5 <= core < 1:
        raise ValueError(f"core must be in [0.5, 1), got {plain(core)!r}")
    steps, times = chain_steps(idata)
    x = flat_draws(idata, target)
    labels = target.component_of(x, core=core)
    counts = [s.size for s in _switch_steps(labels, times)]
    return _rate(counts, steps)


def transition_times(path, a, b, *, time_step=1.0):
    """Durations of the transitions of 1-D paths between the levels ``a < b``.

    ``path`` is ``(chains, steps)`` (or one path); a transition from ``a``
    to ``b`` starts at the first step at or below ``a`` after the path was
    last at or above ``b`` and ends at the next step at or above ``b``, and
    conversely.  The first, incomplete passage of each path is dropped.
    Returns the durations (in ``time_step`` units, e.g. the Langevin step
    ``h`` for the time of the diffusion), both directions pooled.
    """
    path = np.atleast_2d(np.asarray(path, dtype=np.float64))
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise ValueError(f"need finite levels a < b, got a={plain(a)!r}, b={plain(b)!r}")
    labels = np.where(path <= a, 0, np.where(path >= b, 1, -1))
    times = np.broadcast_to(np.arange(path.shape[1]), path.shape)
    out = [np.diff(s) for s in _switch_steps(labels, times)]
    return np.concatenate(out).astype(np.float64) * time_step if out else np.zeros(0)


def _tempering(idata):
    _check_idata(idata)
    if TEMPERING not in idata.groups():
        raise ValueError("idata has no tempering group: it was not made by a tempering sampler")
    return idata[TEMPERING]


def round_trip_rate(idata):
    """Round trips per step (hottest level to beta = 1 and back), over the run's chains."""
    ds = _tempering(idata)
    steps, _ = chain_steps(idata)
    return _rate(ds[TemperingVar.ROUND_TRIPS].values, steps)


def communication_barrier(idata):
    """The communication barrier ``Lambda`` of the run's ladder (from the swap rejections)."""
    return float(_tempering(idata)[TemperingVar.COMMUNICATION_BARRIER])
