"""Figures of the mixing-time laboratory (matplotlib, imported by the caller).

* :func:`plot_distance_curve` -- a distance curve with its bootstrap band;
* :func:`plot_mixing_vs_separation` -- mixing time against ``r`` (log scale)
  from :func:`~samplers.mixing.separation_sweep`, with the exact and
  Eyring-Kramers predictions of Langevin's time overlaid;
* :func:`plot_mixing_vs_ladder` -- mixing time against the number of levels
  or ``beta_min`` from :func:`~samplers.mixing.ladder_sweep`;
* level-index traces: ``samplers.plots.plot_level_trace``.

Every function draws on the ``ax`` it is given, or on a new figure when ``ax``
is omitted, and returns the Axes.
"""
import numpy as np

from .._checks import plain
from ..plots import _log_x_axis, new_axes, plot_level_trace

__all__ = ["plot_distance_curve", "plot_mixing_vs_separation", "plot_mixing_vs_ladder",
           "plot_level_trace"]

_UNITS = {"steps": "checkpoints", "gradient_evals": "gradient_evals", "cpu_seconds": "cpu_seconds"}


def plot_distance_curve(curve, ax=None, *, eps=None, x="steps", label=None, color=None):
    """The distance against ``x`` (``"steps"``, ``"gradient_evals"`` or ``"cpu_seconds"``: CPU seconds of one chain), with its band."""
    if x not in _UNITS:
        raise ValueError(f"x must be one of {sorted(_UNITS)}, got {plain(x)!r}")
    ax = new_axes(ax)
    t = getattr(curve, _UNITS[x])
    line, = ax.plot(t, curve.distance, "o-", ms=3, color=color,
                    label=label or f"{curve.sampler}")
    ax.fill_between(t, curve.lower, curve.upper, color=line.get_color(), alpha=0.25, lw=0)
    if eps is not None:
        ax.axhline(eps, color="0.3", ls=":", lw=0.8)
    if np.isfinite(curve.floor):
        ax.axhline(curve.floor, color=line.get_color(), ls="--", lw=0.6)
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(f"{curve.metric} distance ({curve.level:.0%} band)")
    return ax


def _summarise(da):
    """Mean over repeats, ignoring runs that never mixed (inf)."""
    values = da.where(np.isfinite(da))
    return values.mean("repeat") if "repeat" in values.dims else values


def plot_mixing_vs_separation(ds, ax=None, *, time_units=True, predictions=True):
    """Mixing time of every sampler against ``r`` (log scale), with Langevin's predictions.

    ``time_units``: steps times the step size (the time of the diffusion);
    otherwise gradient evaluations.  Error bars: the mean over repeats of the
    bootstrap interval.  ``predictions``: overlay the two-state predictions
    from the exact and Eyring-Kramers transition times.
    """
    ax = new_axes(ax)
    scale = float(ds.attrs["step_size"]) if time_units else 1.0
    r = ds["r"].values
    for name in ds["sampler"].values:
        sub = ds.sel(sampler=name)
        if time_units:
            mid, low, high = (_summarise(sub[v]) * scale for v in
                              ("mixing_time", "mixing_time_low", "mixing_time_high"))
        else:
            per = sub["mixing_time_grad"] / sub["mixing_time"]
            mid, low, high = (_summarise(sub[v] * per) for v in
                              ("mixing_time", "mixing_time_low", "mixing_time_high"))
        mid, low, high = (np.asarray(a.values, dtype=float) for a in (mid, low, high))
        yerr = np.vstack([np.clip(mid - low, 0, None), np.clip(high - mid, 0, None)])
        ax.errorbar(r, mid, yerr=np.nan_to_num(yerr), fmt="o-", capsize=3, label=str(name))
    if predictions and time_units and "predicted_exact" in ds:
        ax.plot(r, ds["predicted_exact"].values * scale, "k--", lw=1,
                label="Langevin, exact MFPT (two-state)")
        ax.plot(r, ds["predicted_kramers"].values * scale, "k:", lw=1,
                label="Langevin, Eyring-Kramers (two-state)")
    ax.set_yscale("log")
    ax.set_xlabel("half-separation r (means 2r apart)")
    ax.set_ylabel("mixing time (time units)" if time_units else "mixing time (gradient evaluations)")
    return ax


def plot_mixing_vs_ladder(ds, ax=None, *, x="n_levels", y="mixing_time_grad"):
    """A sweep variable ``y`` against ``x`` (``"n_levels"`` or ``"beta_min"``), one line per
    sampler and value of the other ladder settings, averaged over repeats."""
    if x not in ("n_levels", "beta_min"):
        raise ValueError(f"x must be 'n_levels' or 'beta_min', got {plain(x)!r}")
    if y not in ds:
        raise ValueError(f"y must be a variable of the sweep, got {plain(y)!r}")
    ax = new_axes(ax)
    others = [d for d in ("sampler", "n_levels", "beta_min", "spacing", "steps_per_swap")
              if d != x and d in ds.dims]
    mean = _summarise(ds[y])
    stacked = mean.stack(line=others)
    for k in range(stacked.sizes["line"]):
        line = stacked.isel(line=k)
        label = ", ".join(f"{v}" if d in ("sampler", "spacing") else f"{d}={v}"
                          for d, v in zip(others, stacked["line"].values[k])
                          if d == "sampler" or ds.sizes[d] > 1)
        ax.plot(ds[x].values, line.values, "o-", label=label)
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    if x == "beta_min":
        _log_x_axis(ax, ds[x].values)
    return ax
