"""Transition times of overdamped Langevin in an equal-weight two-Gaussian mixture.

The target ``p = (1/2) N(-r u, s^2 I) + (1/2) N(r u, s^2 I)`` in ``d``
dimensions (``u`` a unit vector, the means ``2r`` apart) factorises: the
coordinate ``y = <x, u>`` has the 1-D law ``(1/2) N(-r, s^2) + (1/2) N(r, s^2)``
and the orthogonal coordinates are independent ``N(0, s^2)``.  The Langevin
diffusion ``dX = grad log p(X) dt + sqrt(2) dW`` (ULA with step ``h`` is its
Euler scheme, time ``t = steps x h``) therefore moves ``y`` by the 1-D
diffusion ``dY = -U'(Y) dt + sqrt(2) dW`` with

    U(y) = -log p(y) = y^2 / (2 s^2) - log cosh(r y / s^2) + const,
    U'(y) = y / s^2 - (r / s^2) tanh(r y / s^2),
    U''(y) = 1 / s^2 - (r^2 / s^4) sech^2(r y / s^2).

For ``r > s`` the minima are ``+-m`` with ``m = r tanh(r m / s^2)`` and the
saddle is 0.  Two predictions of the mean time from one minimum to the
other:

* **exact** (:func:`transition_time`): the mean first-passage time of a 1-D
  diffusion from ``a`` to ``b > a`` (reflecting at ``-inf``; Gardiner,
  *Handbook of Stochastic Methods*, section 5.2.7),

      T(a -> b) = integral_a^b exp(U(y)) integral_{-inf}^y exp(-U(z)) dz dy
                = integral_a^b F(y) / p(y) dy,

  ``F`` the CDF of the normalised ``p`` (so the inner integral is closed
  form), by adaptive quadrature (``scipy.integrate.quad``) in log space;
* **Eyring-Kramers** (:func:`kramers_time`; Kramers 1940, Bovier, Eckhoff,
  Gayrard and Klein 2004, JEMS 6):

      T ~ 2 pi / sqrt(U''(m) |U''(0)|) exp(U(0) - U(m)),

  asymptotic as the barrier grows; at ``r`` between 2 and 3 (barriers of
  1.5-3.5 nats) it is 20-35% below the exact time.

With a two-state reduction (rates ``1/T`` each way), an ensemble started in
one mode has mode-occupancy total variation ``(1/2) exp(-2 t / T)``, below
``eps`` after ``t = (T / 2) log(1 / (2 eps))`` (:func:`predicted_mixing_time`).
"""
import math
import numbers

import numpy as np

from .._checks import plain

__all__ = ["two_well_mixture", "well_minimum", "kramers_time", "transition_time",
           "predicted_mixing_time"]


def _check(r, sigma):
    for value, name in ((r, "r"), (sigma, "sigma")):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
                math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {plain(value)!r}")
    if r <= sigma:
        raise ValueError(f"r must exceed sigma (r={r}, sigma={sigma}): otherwise the mixture "
                         "has a single mode and no barrier")
    return float(r), float(sigma)


def two_well_mixture(r, dim=1, sigma=1.0):
    """The equal-weight mixture ``N(-r e_1, s^2 I) / 2 + N(r e_1, s^2 I) / 2`` in ``dim`` dimensions."""
    from ..targets import GaussianMixture

    r, sigma = _check(r, sigma)
    means = np.zeros((2, int(dim)))
    means[:, 0] = (-r, r)
    return GaussianMixture(means, covs=np.full(2, sigma ** 2))


def well_minimum(r, sigma=1.0):
    """The positive minimum ``m`` of ``U``: the root of ``m = r tanh(r m / s^2)`` in ``(0, r]``."""
    from scipy.optimize import brentq

    r, sigma = _check(r, sigma)
    s2 = sigma ** 2
    return float(brentq(lambda m: m - r * math.tanh(r * m / s2), 1e-9 * r, r, xtol=1e-14))


def _potential(y, r, s2):
    """U(y) up to the constant shared by both terms (stable for large |y|)."""
    z = np.abs(r * y / s2)
    return y * y / (2 * s2) - (z + np.log1p(np.exp(-2 * z)) - math.log(2.0))


def kramers_time(r, sigma=1.0):
    """Eyring-Kramers mean transition time ``2 pi / sqrt(U''(m)|U''(0)|) exp(U(0) - U(m))``."""
    r, sigma = _check(r, sigma)
    s2 = sigma ** 2
    m = well_minimum(r, sigma)
    curv_min = 1 / s2 - (r ** 2 / s2 ** 2) / math.cosh(r * m / s2) ** 2
    curv_saddle = abs(1 / s2 - r ** 2 / s2 ** 2)
    barrier = float(_potential(0.0, r, s2) - _potential(m, r, s2))
    return 2 * math.pi / math.sqrt(curv_min * curv_saddle) * math.exp(barrier)


def transition_time(r, sigma=1.0, *, start=None, end=None):
    """Exact mean first-passage time of ``dY = -U'(Y) dt + sqrt(2) dW`` from ``start`` to ``end``.

    Defaults: from the minimum ``-m`` to the minimum ``+m``.  Needs
    ``start < end`` (by symmetry ``T(m -> -m) = T(-m -> m)``).
    """
    from scipy import integrate
    from scipy.special import log_ndtr, logsumexp

    r, sigma = _check(r, sigma)
    m = well_minimum(r, sigma)
    a = -m if start is None else float(start)
    b = m if end is None else float(end)
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"need finite start < end, got start={a!r}, end={b!r}")

    def integrand(y):
        # F(y) / p(y) in log space: F = (Phi((y + r)/s) + Phi((y - r)/s)) / 2.
        log_f = logsumexp([log_ndtr((y + r) / sigma), log_ndtr((y - r) / sigma)]) - math.log(2)
        log_p = logsumexp([-0.5 * ((y + r) / sigma) ** 2, -0.5 * ((y - r) / sigma) ** 2]) \
            - math.log(2 * sigma * math.sqrt(2 * math.pi))
        return math.exp(log_f - log_p)

    value, _ = integrate.quad(integrand, a, b, limit=200, epsabs=0.0, epsrel=1e-10)
    return float(value)


def predicted_mixing_time(transition, eps=0.25):
    """Time for the mode-occupancy TV ``(1/2) exp(-2 t / T)`` to fall below ``eps``."""
    if isinstance(eps, bool) or not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5) for the two-state prediction, got {plain(eps)!r}")
    return 0.5 * np.asarray(transition, dtype=np.float64) * math.log(1 / (2 * eps))
