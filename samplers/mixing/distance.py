"""Distances between an ensemble of chains and the target, with bootstrap replicates.

An *ensemble* is ``n`` points ``x_1..x_n`` (one per independent chain) whose
empirical law ``mu_n`` stands for the law of the chain at some time.  Each
metric compares ``mu_n`` with the target ``pi``:

* ``"tv_modes"`` -- total variation between the occupancy of the mixture's
  components and the exact weights: ``TV = (1/2) sum_k |n_k / n - w_k|``,
  ``n_k`` the points whose most responsible component is ``k``
  (``GaussianMixture.component_of``).  Needs no reference sample.
* ``"ks"`` -- Kolmogorov-Smirnov distance of a one-dimensional projection
  ``z = f(x)``: ``sup_t |F_n(t) - G_M(t)|`` between the empirical CDFs of the
  ensemble and of ``M`` reference points (two-sample statistic).
* ``"wasserstein"`` -- Wasserstein-1 distance of the same projection,
  ``W1 = integral |F_n(t) - G_M(t)| dt`` (Vallender 1973: in one dimension
  W1 is the L1 distance between the CDFs).
* ``"energy"`` -- energy distance in the full space (Szekely and Rizzo 2013,
  "Energy statistics", J. Stat. Plan. Inference 143):
  ``D = sqrt(2 E|X - Y| - E|X - X'| - E|Y - Y'|)``, Euclidean norms, ``X, X'``
  from the ensemble and ``Y, Y'`` from the reference (the V-statistic, the
  same definition as ``scipy.stats.energy_distance`` in one dimension).
  ``D = 0`` iff the laws are equal.

The reference is ``M`` exact draws of the target (``target.sample``) or a
sample the user supplies.  Cost per checkpoint with ``B`` bootstrap
replicates: ``O(B n)`` for TV and KS (KS needs the reference CDF at the
ensemble's points only), ``O(B (n + M))`` for W1, ``O(n M + B n^2)`` for the
energy distance (reference capped at 4,000 points).  ``KS`` and ``TV`` lie in [0, 1]; ``W1`` and ``D``
are in the units of ``x``.

Every metric is evaluated for bootstrap replicates at once: ``counts`` is a
``(B, n)`` array of multiplicities (multinomial resampling of the chains,
Efron 1979), and the statistic of replicate ``b`` is that of the ensemble in
which point ``i`` appears ``counts[b, i]`` times.  The reference is held fixed
(it is meant to be much larger than the ensemble; its own sampling error
then adds little to the band).
"""
import numbers

import numpy as np

from .._checks import plain

__all__ = ["METRICS", "distance"]

#: The metric names and what they need.
METRICS = {
    "tv_modes": "total variation of mode occupancy against the exact mixture weights",
    "ks": "Kolmogorov-Smirnov distance of a 1-D projection against a reference sample",
    "wasserstein": "Wasserstein-1 distance of a 1-D projection against a reference sample",
    "energy": "energy distance in the full space against a reference sample",
}

#: Default size of the reference sample drawn from ``target.sample``.
REFERENCE_SIZE = 20_000
#: The energy distance uses at most this many reference points (its cost is quadratic).
ENERGY_POINTS = 4000


def check_metric(metric, target, reference, projection):
    """Validate the metric's arguments before any sampling (errors name the argument)."""
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {plain(metric)!r}")
    if metric == "tv_modes":
        if not (hasattr(target, "component_of") and hasattr(target, "weights")):
            raise ValueError("metric='tv_modes' needs a mixture target (with component_of and "
                             f"weights), got {type(target).__name__}")
        return
    if reference is None and not callable(getattr(target, "sample", None)):
        raise ValueError(f"metric={plain(metric)!r} compares with exact draws of the target, but "
                         f"{type(target).__name__} has no sample method: give a reference sample")
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float64)
        if ref.ndim != 2 or ref.shape[1] != target.dim or ref.shape[0] < 2:
            raise ValueError(f"reference must have shape (M, {target.dim}) with M >= 2, "
                             f"got {ref.shape}")
        if not np.all(np.isfinite(ref)):
            raise ValueError("reference must be finite")
    if metric in ("ks", "wasserstein"):
        _projector(projection, target.dim)


def _projector(projection, dim):
    """The 1-D projection ``z = f(x)`` for x of shape (n, dim)."""
    if projection is None:
        projection = 0
    if isinstance(projection, numbers.Integral) and not isinstance(projection, bool):
        if not 0 <= projection < dim:
            raise ValueError(f"projection must be a coordinate in [0, {dim}), got {projection}")
        return lambda x: x[:, int(projection)]
    if callable(projection):
        return lambda x: np.asarray(projection(x), dtype=np.float64).reshape(x.shape[0])
    direction = np.asarray(projection, dtype=np.float64)
    if direction.shape != (dim,) or not np.all(np.isfinite(direction)) or not direction.any():
        raise ValueError(f"projection must be a coordinate index, a callable or a non-zero "
                         f"direction of shape ({dim},), got {plain(projection)!r}")
    direction = direction / np.linalg.norm(direction)
    return lambda x: x @ direction


class Metric:
    """A metric bound to its target, reference and projection: ``metric(x, counts)``."""

    def __init__(self, metric, target, reference=None, projection=None, rng=None):
        check_metric(metric, target, reference, projection)
        self.name = metric
        self.target = target
        if metric == "tv_modes":
            self.reference = None
            return
        if reference is None:
            reference = target.sample(REFERENCE_SIZE, np.random.default_rng(rng))
        self.reference = np.asarray(reference, dtype=np.float64).reshape(-1, target.dim)
        if metric == "energy":
            # A subsample keeps the cost O(n * ENERGY_POINTS) per checkpoint.
            self.reference = self.reference[:ENERGY_POINTS]
            self._yy = _mean_pairwise(self.reference, self.reference)
        else:
            self._project = _projector(projection, target.dim)
            self._ref_sorted = np.sort(self._project(self.reference))

    def __call__(self, x, counts=None):
        """The distance of the ensemble ``x`` (n, dim) to the target.

        With ``counts`` (B, n) of bootstrap multiplicities, the B replicate
        values; otherwise one float.
        """
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.target.dim)
        single = counts is None
        if single:
            counts = np.ones((1, x.shape[0]))
        values = getattr(self, "_" + self.name)(x, np.asarray(counts, dtype=np.float64))
        return float(values[0]) if single else values

    def _tv_modes(self, x, counts):
        labels = self.target.component_of(x)
        k = self.target.n_components
        occupancy = counts @ (labels[:, None] == np.arange(k)).astype(np.float64)  # (B, k)
        occupancy /= counts.sum(axis=1, keepdims=True)
        return 0.5 * np.abs(occupancy - self.target.weights).sum(axis=1)

    def _ks(self, x, counts):
        # F_b is constant between consecutive (distinct) ensemble points z_(i) <= t < z_(i+1),
        # where it equals c_bi, while G rises from G(z_(i)) to G(z_(i+1)-): the supremum over
        # that interval is at one of its ends.  So only G's values at the ensemble points
        # are needed, and each replicate costs O(n), not O(n + M).
        z, grouped = self._grouped(x, counts)
        ref = self._ref_sorted
        g_right = np.searchsorted(ref, z, side="right") / ref.size
        g_left = np.searchsorted(ref, z, side="left") / ref.size
        c = np.cumsum(grouped, axis=1) / grouped.sum(axis=1, keepdims=True)
        inside = np.abs(c - g_right).max(axis=1)
        if z.size > 1:
            inside = np.maximum(inside, np.abs(c[:, :-1] - g_left[1:]).max(axis=1))
        return np.maximum(inside, g_left[0])    # below the first point F = 0, G -> G(z_(1)-)

    def _wasserstein(self, x, counts, chunk=64):
        # The integral of |F_b - G| over the gaps between the pooled points (ensemble and
        # reference), on which both CDFs are constant; in chunks of replicates for memory.
        z, grouped = self._grouped(x, counts)
        ref = self._ref_sorted
        pooled = np.concatenate([z, ref])
        order = np.argsort(pooled, kind="stable")
        gaps = np.diff(pooled[order])
        g = np.cumsum(order >= z.size)[:-1] / ref.size
        out = np.empty(grouped.shape[0])
        for b in range(0, grouped.shape[0], chunk):
            weights = np.zeros((min(chunk, grouped.shape[0] - b), pooled.size))
            weights[:, :z.size] = grouped[b:b + chunk]
            f = np.cumsum(weights[:, order], axis=1)[:, :-1]
            f /= weights.sum(axis=1, keepdims=True)
            out[b:b + chunk] = np.abs(f - g) @ gaps
        return out

    def _grouped(self, x, counts):
        """Distinct projected points, sorted, with the replicates' summed multiplicities."""
        z = self._project(x)
        order = np.argsort(z, kind="stable")
        z = z[order]
        starts = np.flatnonzero(np.append(True, z[1:] != z[:-1]))
        return z[starts], np.add.reduceat(counts[:, order], starts, axis=1)

    def _energy(self, x, counts):
        p = counts / counts.sum(axis=1, keepdims=True)
        xy = _row_means(x, self.reference)                 # E|x_i - Y| for every i
        # E|X - X'| under every replicate: p_b^T D p_b, with D the n x n distances.
        xx = np.einsum("ib,ib->b", _pairwise(x, x) @ p.T, p.T)
        value = 2.0 * p @ xy - xx - self._yy
        return np.sqrt(np.maximum(value, 0.0))


def _pairwise(a, b):
    """Euclidean distances ``|a_i - b_j|``, shape (len(a), len(b))."""
    sq = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def _row_means(a, b, chunk=512):
    """``mean_j |a_i - b_j|`` for every ``i``, in chunks (the full matrix may not fit)."""
    return np.concatenate([_pairwise(a[i:i + chunk], b).mean(axis=1)
                           for i in range(0, a.shape[0], chunk)])


def _mean_pairwise(a, b):
    return float(_row_means(a, b).mean())


def distance(x, target, metric="tv_modes", *, reference=None, projection=None, rng=None):
    """The distance of the ensemble ``x`` (n, dim) to ``target``.

    Parameters
    ----------
    x : array (n, dim)
        One point per independent chain.
    target : Target
        A ``GaussianMixture`` for ``"tv_modes"``; for the other metrics a
        target with ``sample(n, rng)`` or a ``reference`` sample.
    metric : {"tv_modes", "ks", "wasserstein", "energy"}
        See the module docstring for the definitions.
    reference : array (M, dim), optional
        Draws from the target; by default ``target.sample(20000, rng)``.
    projection : int, array (dim,) or callable, optional
        The projection of ``"ks"`` and ``"wasserstein"``: a coordinate
        (default 0), a direction (normalised here) or ``f(x) -> (n,)``.
    rng : None, int or numpy.random.Generator
        Seeds the reference draws.
    """
    return Metric(metric, target, reference, projection, rng)(x)
