"""Matplotlib figures (imported lazily: matplotlib is slow to import)."""
import numpy as np

from .inference_data import MATRIX_SUMMARY, TEMPERING, TemperingVar as V

__all__ = ["plot_density_and_draws", "plot_traces", "plot_level_trace", "plot_occupancy",
           "plot_swap_acceptance", "plot_distance_trace", "plot_entry_sd", "plot_interval_coverage"]


def plot_density_and_draws(target, draws, ax, *, bounds=None, max_points=4000, label=None):
    """Contours of a 2-D target's density with the draws on top.

    ``draws`` is ``(..., 2)``; ``bounds`` is ``(xmin, xmax, ymin, ymax)``, by
    default the draws' range padded by 10%.
    """
    if target.dim != 2:
        raise ValueError(f"plot_density_and_draws needs a 2-D target, got dim={target.dim}")
    points = np.asarray(draws, dtype=float).reshape(-1, 2)
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


def plot_traces(idata, ax, *, coordinate=0, var_name=None):
    """Trace of one coordinate for every chain of an ``InferenceData``."""
    name = var_name or next(iter(idata.posterior.data_vars))
    values = idata.posterior[name].values
    values = values.reshape(values.shape[0], values.shape[1], -1)[..., coordinate]
    for c, chain in enumerate(values):
        ax.plot(chain, lw=0.6, label=f"chain {c}")
    ax.set_xlabel("draw")
    ax.set_ylabel(f"{name}[{coordinate}]")
    return ax


def plot_level_trace(idata, ax, *, chains=None, first=None, max_points=5000):
    """Level index against step (every ``thin`` steps after warm-up) for simulated tempering.

    ``first`` limits the plot to the first entries of the trace.
    """
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


def plot_occupancy(idata, ax):
    """Fraction of steps spent at each level, against beta."""
    ds = idata[TEMPERING]
    ax.bar(np.arange(ds.sizes["level"]), ds[V.OCCUPANCY].values, color="C0")
    ax.axhline(1.0 / ds.sizes["level"], color="0.3", ls="--", lw=0.8, label="uniform")
    ax.set_xticks(np.arange(ds.sizes["level"]))
    ax.set_xticklabels([f"{b:.2g}" for b in ds[V.BETA].values], rotation=45)
    ax.set_xlabel("beta")
    ax.set_ylabel("occupancy")
    return ax


def plot_swap_acceptance(idata, ax):
    """Acceptance of level moves or swaps between each pair of neighbouring levels."""
    ds = idata[TEMPERING]
    betas = ds[V.BETA].values
    mid = np.sqrt(betas[:-1] * betas[1:])
    ax.plot(mid, ds[V.SWAP_ACCEPTANCE].values, "o-")
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("beta (geometric mid-point of the pair)")
    ax.set_ylabel("acceptance")
    return ax


# -- matrix posteriors (samplers.matrix) ---------------------------------------------------


def plot_distance_trace(idata, ax):
    """Distance to the orbit of X0 per draw and chain, against the distance between
    its two pieces (``MatrixLangevin`` output)."""
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


def plot_entry_sd(idata, ax, *, only_unobserved=True):
    """Image of the posterior standard deviation of each entry of M = X X^T
    (observed entries masked out for completion when ``only_unobserved``)."""
    summary = idata[MATRIX_SUMMARY]
    sd = summary["M_sd"].values.copy()
    if only_unobserved and "observed" in summary:
        sd = np.ma.masked_array(sd, mask=summary["observed"].values)
    image = ax.imshow(sd, cmap="viridis")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title("posterior sd of M" + (" (unobserved entries)" if only_unobserved else ""))
    return ax


def plot_interval_coverage(idata, truth, ax, *, only_unobserved=True):
    """Posterior credible intervals of the entries of M (upper triangle) against the true
    values, sorted by truth; the title gives the fraction covered."""
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
