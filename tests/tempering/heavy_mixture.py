"""The heavy-tailed test mixture of issue 12 (tests and ``benchmarks/bench_tempering.py --target heavy``).

An 8-D mixture of three isotropic Gaussians (sd 0.5, 1, 1.5) and an isotropic
Student-t (nu = 4, scale 1), weights 0.2/0.3/0.3/0.2, normalised (log Z = 0),
means at corners of [-6, 6]^8 (at least 16.9 apart).  ``p^beta`` is not
normalisable below beta = 2/3, so the classic path's hot levels are improper;
gradient ascent from uniform starts in [-10, 10]^8 ends in the Student-t mode
~98% of the time and in the sd-0.5 mode ~6e-5 of the time.
"""
import numba
import numpy as np
from scipy.special import gammaln

import samplers

DIM, NU = 8, 4.0
MEANS = np.array([[6.0] * 8, [-6.0] * 8, [6.0] * 4 + [-6.0] * 4, [-6.0] * 4 + [6.0] * 4])
SDS = np.array([0.5, 1.0, 1.5, 1.0])
WEIGHTS = np.array([0.2, 0.3, 0.3, 0.2])
#: The Student-t component's index.
HEAVY = 3


def log_coefficients():
    """Each component's log weight plus its log normalising constant."""
    d, nu = DIM, NU
    coef = np.log(WEIGHTS) - d * np.log(SDS) - 0.5 * d * np.log(2 * np.pi)
    coef[HEAVY] = (np.log(WEIGHTS[HEAVY]) + gammaln((nu + d) / 2) - gammaln(nu / 2)
                   - 0.5 * d * np.log(nu * np.pi) - d * np.log(SDS[HEAVY]))
    return coef


@numba.njit
def component_log_densities(x, means, sds, coef, nu, q, g):
    """``q[k]``: log of weight times density of component ``k`` at ``x``; ``g[k]`` its gradient."""
    n, d = means.shape
    for k in range(n):
        r = (x - means[k]) / sds[k]
        s = np.sum(r * r)
        if k == n - 1:  # the Student-t component
            q[k] = coef[k] - 0.5 * (nu + d) * np.log1p(s / nu)
            g[k] = -(nu + d) / (nu + s) * r / sds[k]
        else:
            q[k] = coef[k] - 0.5 * s
            g[k] = -r / sds[k]


@numba.njit
def logp_grad(x, params, grad):
    means, sds, coef, nu = params
    n, d = means.shape
    q = np.empty(n)
    g = np.empty((n, d))
    component_log_densities(x, means, sds, coef, nu[0], q, g)
    top = q.max()
    e = np.exp(q - top)
    total = e.sum()
    for i in range(d):
        acc = 0.0
        for k in range(n):
            acc += e[k] * g[k, i]
        grad[i] = acc / total
    return top + np.log(total)


@numba.njit
def _labels(x, means, sds, coef, nu):
    n, d = means.shape
    q = np.empty(n)
    g = np.empty((n, d))
    out = np.empty(x.shape[0], dtype=np.int64)
    for i in range(x.shape[0]):
        component_log_densities(x[i], means, sds, coef, nu, q, g)
        out[i] = np.argmax(q)
    return out


def component_of(x):
    """The most responsible component of every row of ``x`` (n, 8)."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(-1, DIM))
    return _labels(x, MEANS, SDS, log_coefficients(), NU)


def heavy_mixture():
    """The mixture as a ``samplers.Target``."""
    return samplers.Target(logp_grad, DIM, (MEANS, SDS, log_coefficients(), np.array([NU])))
