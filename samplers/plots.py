"""Matplotlib figures (imported lazily: matplotlib is slow to import)."""
import numpy as np

__all__ = ["plot_density_and_draws", "plot_traces"]


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
