"""Matplotlib figures.

Every function draws on the ``ax`` it is given, or on a new figure when
``ax`` is omitted, and returns the Axes.  matplotlib is imported only when a
figure is made (it is slow to import), so ``import samplers`` does not pay for it.
"""
import numpy as np

from .inference_data import MATRIX_SUMMARY, TEMPERING, TemperingVar as V, flat_draws

__all__ = ["plot_density_and_draws", "plot_traces", "plot_level_trace", "plot_occupancy",
           "plot_swap_acceptance", "plot_distance_trace", "plot_entry_sd", "plot_interval_coverage"]


def new_axes(ax=None):
    """``ax``, or the Axes of a new figure when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def plot_density_and_draws(target, draws, ax=None, *, bounds=None, max_points=4000, label=None):
    """Contours of a 2-D target's density with the draws on top.

    ``draws`` is an array ``(..., 2)`` or the ``InferenceData`` of a run
    (its draws as flat points, ``inference_data.flat_draws``); ``bounds`` is ``(xmin, xmax,
    ymin, ymax)``, by default the draws' range padded by 10%.
    """
    if target.dim != 2:
        raise ValueError(f"plot_density_and_draws needs a 2-D target, got dim={target.dim}")
    if hasattr(draws, "posterior"):  # an InferenceData
        draws = flat_draws(draws, target)
    points = np.asarray(draws, dtype=float).reshape(-1, 2)
    ax = new_axes(ax)
    if bounds is None:
        lo, hi = points.min(axis=0), points.max(axis=0)
        pad = 0.1 * (hi - lo) + 1e-9
        bounds = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
    gx, gy = np.meshgrid(np.linspace(bounds[0], bounds[1], 200), np.linspace(bounds[2], bounds[3], 200))
    grid = np.stack([gx, gy], axis=-1)
    if hasattr(target, "logpdf"):
        logp = target.logpdf(grid)
    else:
        logp = np.array([[target.logp_and_grad(p)[0] for p in row] for row in grid])
    ax.contour(gx, gy, np.exp(logp - logp.max()), levels=8, colors="0.4", linewidths=0.8)
    step = max(1, len(points) // max_points)
    ax.scatter(points[::step, 0], points[::step, 1], s=3, alpha=0.4, label=label)
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_xlabel("x[0]")
    ax.set_ylabel("x[1]")
    return ax


def plot_traces(idata, ax=None, *, coordinate=0, var_name=None):
    """Trace of one coordinate for every chain of an ``InferenceData``."""
    ax = new_axes(ax)
    name = var_name or next(iter(idata.posterior.data_vars))
    values = idata.posterior[name].values
    values = values.reshape(values.shape[0], values.shape[1], -1)[..., coordinate]
    for c, chain in enumerate(values):
        ax.plot(chain, lw=0.6, label=f"chain {c}")
    ax.set_xlabel("draw")
    ax.set_ylabel(f"{name}[{coordinate}]")
    return ax


def plot_level_trace(idata, ax=None, *, chains=None, first=None, max_points=5000):
    """Level index against step (every ``thin`` steps after warm-up) for simulated tempering.

    ``first`` limits the plot to the first entries of the trace.
    """
    ax = new_axes(ax)
    trace = idata[TEMPERING][V.LEVEL_TRACE].values
    chains = range(trace.shape[0]) if chains is None else chains
    for c in chains:
        levels = trace[c][trace[c] >= 0][:first]
        step = max(1, len(levels) // max_points)
        ax.step(np.arange(0, len(levels), step), levels[::step], where="post", lw=0.7,
                label=f"chain {c}")
    ax.set_xlabel("step / thin")
    ax.set_ylabel("level (0 = hottest)")
    return ax


def plot_occupancy(idata, ax=None):
    """Fraction of steps spent at each level, against beta."""
    ax = new_axes(ax)
    ds = idata[TEMPERING]
    ax.bar(np.arange(ds.sizes["level"]), ds[V.OCCUPANCY].values, color="C0")
    ax.axhline(1.0 / ds.sizes["level"], color="0.3", ls="--", lw=0.8, label="uniform")
    ax.set_xticks(np.arange(ds.sizes["level"]))
    ax.set_xticklabels([f"{b:.2g}" for b in ds[V.BETA].values], rotation=45)
    ax.set_xlabel("beta")
    ax.set_ylabel("occupancy")
    return ax


def plot_swap_acceptance(idata, ax=None):
    """Acceptance of level moves or swaps between each pair of neighbouring levels,
    against the pair's geometric mid-point ``sqrt(beta_i beta_{i+1})`` (log axis)."""
    ax = new_axes(ax)
    ds = idata[TEMPERING]
    betas = ds[V.BETA].values
    mid = np.sqrt(betas[:-1] * betas[1:])
    ax.plot(mid, ds[V.SWAP_ACCEPTANCE].values, "o-")
    _log_x_axis(ax, mid)
    ax.set_ylim(0, 1)
    ax.set_xlabel("beta (pair mid-point)")
    ax.set_ylabel("acceptance")
    return ax


def _log_x_axis(ax, values):
    """A log x scale labelled at a few round values in plain notation.

    Matplotlib's default labels the minor ticks of a log axis spanning less
    than a decade or so ("2x10^-1", "3x10^-1", ...), and its log locator
    falls back to dense linear ticks on a short span: the labels overlap on
    a small Axes.  Here at most 3 major ticks are labelled, at the first of
    10^k, {1, 2, 5} x 10^k or {1, 2, 3, 5} x 10^k that puts two or more in the
    range of ``values``, else (a span of less than about half a decade) at
    3 or fewer linear steps; minor ticks are not labelled.  Labels are short:
    ``0.5``, ``0.01``, ``1e-4``.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

    ax.set_xscale("log")
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return
    lo, hi = values.min(), values.max()
    powers = 10.0 ** np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
    ticks = np.zeros(0)
    for subs in ((1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0)):
        candidates = np.sort(np.outer(powers, subs).ravel())
        candidates = candidates[(candidates >= lo) & (candidates <= hi)]
        if candidates.size >= 2:
            ticks = candidates[::-(-candidates.size // 3)]  # every k-th: at most 3
            break
    if ticks.size < 2:
        ticks = MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
        ticks = ticks[(ticks >= lo) & (ticks <= hi)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(_short_number))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _short_number(x, _position=None):
    """``0.5``, ``0.01``, and below 0.01 ``1e-4`` (not ``0.0001`` or ``1e-04``)."""
    if x >= 0.01 or x <= 0:
        return f"{x:g}"
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


# -- matrix posteriors (samplers.matrix) ---------------------------------------------------


def plot_distance_trace(idata, ax=None):
    """Distance to the orbit of X0 per draw and chain, against the distance between
    its two pieces (``MatrixLangevin`` output)."""
    ax = new_axes(ax)
    distance = idata.posterior["distance"].values
    components = idata.sample_stats["component"].values
    for c in range(distance.shape[0]):
        side = "E1" if components[c, 0] > 0 else "E2"
        ax.plot(distance[c], lw=0.6, label=f"chain {c} (starts on {side})")
    ax.axhline(idata[MATRIX_SUMMARY].attrs["component_distance"], color="k", ls="--", lw=0.8,
               label="distance between E1 and E2")
    ax.set_yscale("log")
    ax.set_xlabel("draw")
    ax.set_ylabel("Procrustes distance to X0 R")
    ax.legend(fontsize=7)
    return ax


def plot_entry_sd(idata, ax=None, *, only_unobserved=True):
    """Image of the posterior standard deviation of each entry of M = X X^T
    (observed entries masked out for completion when ``only_unobserved``)."""
    ax = new_axes(ax)
    summary = idata[MATRIX_SUMMARY]
    sd = summary["M_sd"].values.copy()
    if only_unobserved and "observed" in summary:
        sd = np.ma.masked_array(sd, mask=summary["observed"].values)
    image = ax.imshow(sd, cmap="viridis")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title("posterior sd of M" + (" (unobserved entries)" if only_unobserved else ""))
    return ax


def plot_interval_coverage(idata, truth, ax=None, *, only_unobserved=True):
    """Posterior credible intervals of the entries of M (upper triangle) against the true
    values, sorted by truth; the title gives the fraction covered."""
    ax = new_axes(ax)
    summary = idata[MATRIX_SUMMARY]
    d = truth.shape[0]
    iu = np.triu_indices(d)
    keep = np.ones(iu[0].size, dtype=bool)
    if only_unobserved and "observed" in summary:
        keep = ~summary["observed"].values[iu]
    true = truth[iu][keep]
    lo, hi = summary["M_lower"].values[iu][keep], summary["M_upper"].values[iu][keep]
    mean = summary["M_mean"].values[iu][keep]
    order = np.argsort(true)
    covered = (lo <= true) & (true <= hi)
    x = np.arange(true.size)
    ax.vlines(x, (lo - true)[order], (hi - true)[order], color="0.6", lw=0.8,
              label=f"{summary.attrs['ci_prob']:.0%} interval - truth")
    ax.plot(x, (mean - true)[order], ".", ms=2, label="posterior mean - truth")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel("entry of M (sorted by true value)")
    ax.set_title(f"coverage {covered.mean():.1%} of {true.size} entries")
    ax.legend(fontsize=7)
    return ax
