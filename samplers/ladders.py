"""Inverse-temperature ladders: construction, validation and adaptation.

Tempering samplers run the family ``pi_beta(x) ∝ p(x)^beta`` on a *ladder*
``0 < beta_1 < ... < beta_L = 1``: a float64 array, strictly increasing,
ending at the target ``beta_L = 1``.  Small ``beta`` flattens the target: a
barrier of ``Delta U`` nats in ``-log p`` becomes ``beta * Delta U`` nats.

The schedule is tuned with the *communication barrier* of Syed,
Bouchard-Côté, Deligiannidis and Doucet, "Non-reversible parallel tempering:
a scalable highly parallel MCMC scheme", JRSS-B 84(2), 2022
(arXiv:1905.02939).  With ``V = log p`` and ``X, X'`` independent draws from
``pi_beta``, the *local barrier* is ``lambda(beta) = E|V(X) - V(X')| / 2`` and
the rejection rate of a swap between close levels is
``r(beta, beta') = Lambda(beta') - Lambda(beta) + O(|beta' - beta|^3)``, where
``Lambda(beta) = integral of lambda from beta_1 to beta`` (their analysis
of the rejection rates).  So the estimated rejection rates ``r_i`` of neighbouring pairs
give ``Lambda`` at the ladder's levels, ``Lambda(beta_i) ≈ sum_{j<i} r_j``,
and a ladder spaced evenly in ``Lambda`` has equal rejection rates between
all neighbours, which maximises the round-trip rate of non-reversible
parallel tempering (Section 5).  The same ladders serve simulated tempering
(Ge, Lee and Risteski, "Simulation-based algorithms for sampling
multi-modal distributions", arXiv:1812.00793), whose level moves are
accepted with the same ratios once the partition-function weights are right.

Public functions (pure NumPy; errors are ``ValueError``/``TypeError`` naming
the argument):

* :func:`geometric` -- ``n`` levels geometrically spaced from ``beta_min`` to 1;
* :func:`check_ladder` -- validate a user ladder, return it as float64;
* :func:`default_ladder` -- the ladder used for ``betas=None``, from the dimension;
* :func:`communication_barrier` -- ``Lambda`` from per-pair rejection rates;
* :func:`equalize` -- a new ladder evenly spaced in ``Lambda``.
"""
import math
from typing import NamedTuple

import numpy as np

from ._checks import check_count, check_float_array, check_positive, plain

__all__ = [
    "DEFAULT_BETA_MIN",
    "CommunicationBarrier",
    "check_ladder",
    "communication_barrier",
    "default_ladder",
    "equalize",
    "geometric",
    "reference_ladder",
]

#: Hottest level of :func:`default_ladder` (see there for the reasoning).
DEFAULT_BETA_MIN = 0.01

#: A last level within this distance of 1 is taken to be 1 (rounding in the
#: user's own construction of the ladder); anything further off is an error.
_END_TOLERANCE = 1e-12


# ---------------------------------------------------------------- validation


def check_ladder(betas, name="betas", *, from_zero=False):
    """Validate an inverse-temperature ladder and return it as a new float64 array.

    A ladder is 1-D with at least 2 levels, all finite, strictly increasing,
    within ``(0, 1]`` and ending at exactly 1 (the target).  With
    ``from_zero`` it is the ladder of a reference path
    (``q^(1-beta) p^beta``) and starts at exactly 0, the reference.  A last level
    within ``1e-12`` of 1 is snapped to ``1.0``.  These are the invariants
    every tempering sampler relies on (Pigeons.jl asserts the same ones when
    it builds a schedule).

    Parameters
    ----------
    betas : array_like
        The ladder ``beta_1 < ... < beta_L = 1``.
    name : str
        The argument's name, used in error messages.
    from_zero : bool or None, keyword-only
        Require ``betas[0] == 0`` (a reference path) instead of ``> 0``; ``None``:
        either, the first level deciding (a sampler whose path follows its ladder).

    Returns
    -------
    numpy.ndarray
        A float64 copy, with the last level exactly 1.0.

    Raises
    ------
    TypeError
        Not an array of real numbers.
    ValueError
        Not 1-D, fewer than 2 levels, a non-finite level, a level <= 0 or
        > 1, not strictly increasing, or not ending at 1.
    """
    b = check_float_array(betas, name, ndim=1, min_size=2)
    if abs(b[-1] - 1.0) <= _END_TOLERANCE:
        b[-1] = 1.0
    if from_zero is None:
        from_zero = b[0] == 0.0
    if from_zero and b[0] != 0.0:
        raise ValueError(f"{name} of a reference path must start at 0 (the reference, drawn "
                         f"exactly), got {name}[0] = {plain(b[0])!r}")
    bad = np.flatnonzero(b[1:] <= 0.0) + 1 if from_zero else np.flatnonzero(b <= 0.0)
    if bad.size:
        raise ValueError(f"{name} must be > 0, got {name}[{bad[0]}] = {plain(b[bad[0]])}")
    bad = np.flatnonzero(b > 1.0)
    if bad.size:
        raise ValueError(f"{name} must be <= 1, got {name}[{bad[0]}] = {plain(b[bad[0]])!r}")
    bad = np.flatnonzero(np.diff(b) <= 0.0)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"{name} must be strictly increasing, got {name}[{i}] = {plain(b[i])!r} "
            f">= {name}[{i + 1}] = {plain(b[i + 1])!r}"
        )
    if b[-1] != 1.0:
        raise ValueError(f"{name} must end at 1 (the target), got {name}[-1] = {plain(b[-1])!r}")
    return b


# ------------------------------------------------------------- construction


def geometric(beta_min, n):
    """``n`` levels geometrically spaced from ``beta_min`` to 1 inclusive.

    ``beta_k = beta_min ** (1 - k / (n - 1))`` for ``k = 0, ..., n - 1``: equal
    steps ``log(beta_{k+1} / beta_k) = log(1 / beta_min) / (n - 1)``.  This is
    the classical default of parallel tempering and the ladder of equal swap
    rejection rates whenever the local barrier is ``lambda(beta) ∝ 1 / beta``,
    as it is for every Gaussian target (see :func:`default_ladder`).

    Parameters
    ----------
    beta_min : float
        The hottest level, ``0 < beta_min < 1``.
    n : int
        Number of levels, ``n >= 2``.

    Returns
    -------
    numpy.ndarray
        Float64, shape ``(n,)``, first level exactly ``beta_min``, last exactly 1.
    """
    beta_min = check_positive(beta_min, "beta_min", upper=1.0)
    n = check_count(n, "n", 2)
    betas = np.exp(np.linspace(math.log(beta_min), 0.0, n))
    betas[0], betas[-1] = beta_min, 1.0
    if np.any(np.diff(betas) <= 0.0):
        raise ValueError(
            f"n = {n} levels between beta_min = {beta_min!r} and 1 are not distinct in float64"
        )
    return betas


def reference_ladder(n):
    """``n`` levels evenly spaced from 0 to 1: the starting ladder of a reference path
    (``q^(1-beta) p^beta``), adapted during warm-up.  A reference close to the target
    makes the path's barrier small and nearly uniform in ``beta``, unlike ``p^beta``'s
    (``lambda(beta) ∝ 1 / beta`` for a Gaussian), so no geometric crowding near 0."""
    n = check_count(n, "n", 2)
    return np.linspace(0.0, 1.0, n)


def _gaussian_barrier_rate(dim):
    """``beta * lambda(beta)`` for a Gaussian target in ``dim`` dimensions.

    Under ``pi_beta = N(m, C / beta)``, ``-V = (x-m)^T C^{-1} (x-m) / 2`` is
    Gamma(``dim/2``, scale ``1/beta``), and for iid Gamma(k, 1) variables
    ``E|G - G'| = 2 Gamma(k + 1/2) / (sqrt(pi) Gamma(k))``.  Whence
    ``lambda(beta) = Gamma(dim/2 + 1/2) / (sqrt(pi) Gamma(dim/2) beta)``,
    ``≈ sqrt(dim / (2 pi)) / beta`` for large ``dim``; independent of m and C.
    """
    k = 0.5 * dim
    return math.exp(math.lgamma(k + 0.5) - math.lgamma(k)) / math.sqrt(math.pi)


def default_ladder(dim, *, beta_min=DEFAULT_BETA_MIN):
    """The ladder used when a tempering sampler is given ``betas=None``.

    A geometric ladder (:func:`geometric`) from ``beta_min`` to 1 whose number
    of levels is the one :meth:`CommunicationBarrier.suggested_levels` would
    pick for a Gaussian target of dimension ``dim``.

    **Number of levels.**  For any Gaussian target ``N(m, C)`` in ``d``
    dimensions the local communication barrier of Syed et al. (2022) is
    exactly ``lambda(beta) = a_d / beta`` with
    ``a_d = Gamma((d+1)/2) / (sqrt(pi) Gamma(d/2))`` (``a_1 = 1/pi``,
    ``a_2 = 1/2``, ``a_d ≈ sqrt(d / (2 pi))`` for large ``d``), so

    * ``Lambda = a_d log(1 / beta_min)``, which grows like ``sqrt(d)``;
    * geometric spacing equalizes the barrier exactly (``Lambda`` is linear
      in ``log beta``), and the log-spacing ``log(1/beta_min) / (n - 1)``
      is ``≈ c / sqrt(d)`` with ``c`` independent of ``d``: the swap
      acceptance between neighbours stays bounded away from 0 as ``d``
      grows (for large ``d`` it tends to ``2 Phi(-c/2)``);
    * ``n = max(2, ceil(2 Lambda) + 1)`` levels, the rule of thumb of
      Syed et al. (see :meth:`CommunicationBarrier.suggested_levels`), gives
      ``c = sqrt(2 pi) / 2 ≈ 1.25``: rejection ``≈ 1/2`` between neighbours by
      the small-gap formula, and an exact swap acceptance of about 0.53 at
      large ``d``.  This is ``n ≈ 1 + 0.80 sqrt(d) log(1/beta_min)``
      (4 levels for ``d = 1``, 38 for ``d = 100``, 369 for ``d = 10^4``).

    **Hottest level.**  ``beta_min = 0.01`` divides every log-density
    difference by 100: barriers of up to a few hundred nats become a few
    nats at the hottest level, where local moves cross them in a modest
    number of attempts (the crossing time scales like ``exp(beta Delta U)``),
    and each Gaussian-like mode becomes 10 times wider.  It is a heuristic,
    not an optimum: a deeper barrier needs a smaller ``beta_min``; a smaller
    one wastes levels.  The cost is mild, since ``Lambda`` grows only like
    ``log(1 / beta_min)`` (``beta_min = 0.001`` needs 1.5 times the levels).
    Note also that ``p^beta`` with ``beta_min = 0.01`` must still be a
    normalisable density that the explorer can sample.

    The rule is calibrated on a Gaussian, which has no barrier at all: a
    multimodal target has a larger ``Lambda``, so this is a starting point,
    to be refined by :func:`equalize` and
    :meth:`CommunicationBarrier.suggested_levels` from estimated rejection
    rates (Syed et al., Section 5).

    Parameters
    ----------
    dim : int or tuple of int
        Dimension of the target (a shape such as ``(d, k)`` counts
        ``d * k`` dimensions).
    beta_min : float, keyword-only
        The hottest level, ``0 < beta_min < 1``; default 0.01.

    Returns
    -------
    numpy.ndarray
        Float64 ladder, strictly increasing, ending at 1.
    """
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            raise ValueError("dim must be a positive int or a non-empty shape, got ()")
        size = 1
        for i, d in enumerate(dim):
            size *= check_count(d, f"dim[{i}]", 1)
    else:
        size = check_count(dim, "dim", 1)
    beta_min = check_positive(beta_min, "beta_min", upper=1.0)
    total = _gaussian_barrier_rate(size) * math.log(1.0 / beta_min)
    return geometric(beta_min, _levels_for_barrier(total))


# ---------------------------------------------------------------- adaptation


def _levels_for_barrier(total):
    # The tolerance keeps 2 * Lambda = 3 + 1e-15 (rounding) from adding a level.
    return max(2, math.ceil(2.0 * total - 1e-9) + 1)


def _check_rejection(rejection, n_pairs, name="rejection"):
    r = check_float_array(rejection, name, ndim=1)
    if r.size != n_pairs:
        raise ValueError(
            f"{name} must have one rate per neighbouring pair: length {n_pairs}, got {r.size}"
        )
    bad = np.flatnonzero((r < 0.0) | (r > 1.0))
    if bad.size:
        raise ValueError(f"{name} must be in [0, 1], got {name}[{bad[0]}] = {plain(r[bad[0]])!r}")
    return r


class CommunicationBarrier(NamedTuple):
    """The cumulative communication barrier ``Lambda`` of a ladder.

    ``Lambda`` is the piecewise-linear interpolation through the points
    ``(betas[i], cumulative[i])``, non-decreasing from 0 at ``betas[0]`` to
    ``total`` at 1.  Built by :func:`communication_barrier`; the arrays are
    read-only.
    """

    #: The ladder, float64 ``(L,)``.
    betas: np.ndarray
    #: Estimated rejection rates of the ``L - 1`` neighbouring pairs, in [0, 1].
    rejection: np.ndarray
    #: ``Lambda(betas[i]) = sum_{j<i} rejection[j]``, float64 ``(L,)``, starts at 0.
    cumulative: np.ndarray
    #: The global barrier ``Lambda = Lambda(1) = sum(rejection)``.
    total: float

    def __call__(self, beta):
        """``Lambda(beta)`` by linear interpolation, for ``beta`` in ``[betas[0], 1]``."""
        beta = np.asarray(beta, dtype=np.float64)
        if np.any(~((beta >= self.betas[0]) & (beta <= 1.0))):
            raise ValueError(f"beta must lie in [{plain(self.betas[0])!r}, 1]")
        return np.interp(beta, self.betas, self.cumulative)

    def inverse(self, values):
        """``Lambda^{-1}(values)`` for ``values`` in ``[0, total]``.

        On an increasing piece of ``Lambda`` the inverse is the linear
        interpolation.  Where ``Lambda`` is flat (a pair with rejection 0), a
        value equal to the plateau's height has a whole interval
        ``[betas[a], betas[b]]`` of preimages; the midpoint
        ``(betas[a] + betas[b]) / 2`` is returned, the average of the left-
        and right-continuous inverses.  Distinct values therefore map to
        distinct levels.
        """
        y = np.asarray(values, dtype=np.float64)
        if np.any(~((y >= 0.0) & (y <= self.total))):
            raise ValueError(f"values must lie in [0, total = {plain(self.total)!r}]")
        b, c = self.betas, self.cumulative
        last = b.size - 1

        def on_piece(i, y):  # interpolate on the piece [b[i], b[i+1]], known not flat
            i = np.clip(i, 0, last - 1)
            width = c[i + 1] - c[i]
            t = np.divide(y - c[i], width, out=np.zeros_like(y), where=width > 0)
            return b[i] + np.clip(t, 0.0, 1.0) * (b[i + 1] - b[i])

        lo = np.searchsorted(c, y, side="left")  # first knot with c >= y
        hi = np.searchsorted(c, y, side="right") - 1  # last knot with c <= y
        lo_k, hi_k = np.minimum(lo, last), np.maximum(hi, 0)
        left = np.where(c[lo_k] == y, b[lo_k], on_piece(lo - 1, y))
        right = np.where(c[hi_k] == y, b[hi_k], on_piece(hi, y))
        return 0.5 * (left + right)

    def suggested_levels(self):
        """The number of levels to use next: ``max(2, ceil(2 * Lambda) + 1)``.

        Syed et al. (2022) show the round-trip rate of non-reversible
        parallel tempering with ``N + 1`` levels spaced evenly in ``Lambda``
        is ``tau = 1 / (2 + 2 sum_i r_i / (1 - r_i))`` with
        ``r_i ≈ Lambda / N``, that is ``1 / (2 + 2 Lambda / (1 - Lambda / N))``:
        it increases with ``N`` towards ``1 / (2 + 2 Lambda)``, so the useful
        number of levels is ``O(Lambda)``.  Each level costs one exploration
        step, and round trips per unit of work, ``tau / N``, are largest at
        ``N = 2 Lambda``, where each pair rejects about half its swaps and
        ``tau`` is about half its limit.  Syed et al. give this as their rule
        of thumb (about ``2 Lambda`` chains; Pigeons.jl's reports repeat it).
        """
        return _levels_for_barrier(self.total)


def communication_barrier(betas, rejection):
    """The cumulative communication barrier through a ladder's levels.

    Syed et al. (2022, Section 5) estimate ``Lambda(beta_i)`` by the
    partial sums ``sum_{j<i} r_j`` of the rejection rates ``r_j`` of swaps
    (or simulated-tempering level moves) between ``betas[j]`` and
    ``betas[j+1]``, and interpolate between the levels.  Pigeons.jl uses a
    monotone (Fritsch-Carlson) cubic; here the interpolation is piecewise
    linear, which is monotone, has an explicit inverse and agrees with the
    cubic at the levels themselves.

    Parameters
    ----------
    betas : array_like
        The ladder (validated by :func:`check_ladder`), ``L`` levels.
    rejection : array_like
        ``L - 1`` estimated rejection rates in ``[0, 1]``; ``rejection[i]``
        is for the pair ``(betas[i], betas[i+1])``.

    Returns
    -------
    CommunicationBarrier
        Fields ``betas``, ``rejection``, ``cumulative``, ``total``; call it
        to evaluate ``Lambda``; ``inverse``; ``suggested_levels()``.
    """
    b = check_ladder(betas, from_zero=np.ndim(betas) == 1 and np.size(betas) > 0
                     and np.asarray(betas)[0] == 0.0)
    r = _check_rejection(rejection, b.size - 1)
    cumulative = np.concatenate(([0.0], np.cumsum(r)))
    for arr in (b, r, cumulative):
        arr.flags.writeable = False
    return CommunicationBarrier(b, r, cumulative, float(cumulative[-1]))


def equalize(betas, rejection, n=None):
    """A new ladder of ``n`` levels evenly spaced in the communication barrier.

    ``new_beta_k = Lambda^{-1}(k * Lambda / (n - 1))`` for ``k = 0..n-1``, with
    ``Lambda`` the piecewise-linear barrier of :func:`communication_barrier`:
    the schedule update of Syed et al. (2022, Section 5), which makes the
    rejection rates of all neighbouring pairs equal (``≈ Lambda / (n - 1)``).
    Iterated with fresh rejection estimates, it converges to the ladder
    that equalizes the true barrier.

    * The endpoints ``betas[0]`` and 1 are kept.
    * Flat pieces (``rejection[j] = 0``) are handled by the midpoint inverse
      of :meth:`CommunicationBarrier.inverse`.
    * If all rejections are 0 the barrier carries no information on where
      the levels should go; every pair is then treated as equally hard (the
      limit of a constant rejection rate), so ``n = len(betas)`` returns the
      ladder unchanged.
    * The result is strictly increasing: distinct values of ``Lambda`` have
      distinct preimages, and should rounding still produce a tie (levels
      closer than float64 resolves), the later level is nudged up to the
      next float.  A ``ValueError`` is raised if ``n`` levels cannot fit.

    Parameters
    ----------
    betas : array_like
        The current ladder (validated by :func:`check_ladder`), ``L`` levels.
    rejection : array_like
        ``L - 1`` estimated rejection rates in ``[0, 1]``, finite.
    n : int, optional
        Number of levels of the new ladder, ``>= 2``; default ``L``.  Use
        ``communication_barrier(betas, rejection).suggested_levels()`` to
        resize the ladder as well.

    Returns
    -------
    numpy.ndarray
        The new ladder, float64 ``(n,)``.
    """
    barrier = communication_barrier(betas, rejection)
    b = barrier.betas
    n = b.size if n is None else check_count(n, "n", 2)
    if barrier.total == 0.0:
        barrier = communication_barrier(b, np.ones(b.size - 1))
    k = np.arange(1, n - 1, dtype=np.float64)
    inner = barrier.inverse(barrier.total * k / (n - 1))
    new = np.concatenate(([b[0]], inner, [1.0]))
    if np.any(np.diff(new) <= 0.0):
        for i in range(1, n - 1):
            if new[i] <= new[i - 1]:
                new[i] = np.nextafter(new[i - 1], np.inf)
        for i in range(n - 2, 0, -1):
            if new[i] >= new[i + 1]:
                new[i] = np.nextafter(new[i + 1], -np.inf)
        if np.any(np.diff(new) <= 0.0):
            raise ValueError(
                f"n = {n} distinct levels do not fit between {plain(b[0])!r} and 1 in float64"
            )
    return new
