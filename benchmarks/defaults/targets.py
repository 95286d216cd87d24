"""User targets (numba.njit, the README Quickstart signature) with exact answers where known.

Each ``make_*`` returns ``(target, exact)`` for ``harness.run_case``.
"""
import math

import numba
import numpy as np
from scipy import special

import samplers

_LOG_2PI = math.log(2.0 * math.pi)
DUMMY = (np.zeros(1),)


# --- bounded support -------------------------------------------------------------------

@numba.njit
def gamma_logp_grad(x, params, grad_out):
    """Independent Gamma(shape a, rate 1) coordinates: log p = sum (a-1) log x - x, x > 0."""
    a = params[0][0]
    value = 0.0
    for i in range(x.shape[0]):
        if x[i] <= 0.0:
            grad_out[i] = 0.0
            value = -np.inf
        else:
            grad_out[i] = (a - 1.0) / x[i] - 1.0
            if value > -np.inf:
                value += (a - 1.0) * np.log(x[i]) - x[i]
    return value


def make_gamma(d=1, a=3.0):
    t = samplers.Target(gamma_logp_grad, d, params=(np.array([a]),))
    return t, {"mean": np.full(d, a), "var": np.full(d, a), "log_z": d * special.gammaln(a)}


@numba.njit
def beta_logp_grad(x, params, grad_out):
    """Independent Beta(a, b) on [0, 1]: log p = (a-1) log x + (b-1) log(1-x), -inf outside."""
    a = params[0][0]
    b = params[0][1]
    value = 0.0
    for i in range(x.shape[0]):
        if x[i] <= 0.0 or x[i] >= 1.0:
            grad_out[i] = 0.0
            value = -np.inf
        else:
            grad_out[i] = (a - 1.0) / x[i] - (b - 1.0) / (1.0 - x[i])
            if value > -np.inf:
                value += (a - 1.0) * np.log(x[i]) + (b - 1.0) * np.log(1.0 - x[i])
    return value


def make_beta(d=2, a=2.0, b=5.0):
    t = samplers.Target(beta_logp_grad, d, params=(np.array([a, b]),))
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    return t, {"mean": np.full(d, mean), "var": np.full(d, var), "log_z": d * special.betaln(a, b)}


@numba.njit
def box_logp_grad(x, params, grad_out):
    """Uniform on [-1, 1]^d: log p = 0 inside, -inf outside (no mode, zero gradient)."""
    value = 0.0
    for i in range(x.shape[0]):
        grad_out[i] = 0.0
        if abs(x[i]) > 1.0:
            value = -np.inf
    return value


def make_box(d=2):
    t = samplers.Target(box_logp_grad, d, params=DUMMY)
    return t, {"mean": np.zeros(d), "var": np.full(d, 1.0 / 3.0), "log_z": d * math.log(2.0)}


# --- hard geometries --------------------------------------------------------------------

@numba.njit
def funnel_logp_grad(x, params, grad_out):
    """Neal's funnel: v = x[0] ~ N(0, 9), x_i | v ~ N(0, e^v); normalised up to (d/2) log 2 pi + log 3."""
    v = x[0]
    d = x.shape[0]
    ev = np.exp(-v)
    value = -v * v / 18.0 - 0.5 * (d - 1) * v
    g0 = -v / 9.0 - 0.5 * (d - 1)
    for i in range(1, d):
        value -= 0.5 * x[i] * x[i] * ev
        g0 += 0.5 * x[i] * x[i] * ev
        grad_out[i] = -x[i] * ev
    grad_out[0] = g0
    return value


def make_funnel(d=10):
    t = samplers.Target(funnel_logp_grad, d, params=DUMMY)
    # var(x_i) = E[e^v] = e^{9/2}
    var = np.full(d, math.exp(4.5))
    var[0] = 9.0
    return t, {"mean": np.zeros(d), "var": var, "log_z": 0.5 * d * _LOG_2PI + math.log(3.0)}


@numba.njit
def banana_logp_grad(x, params, grad_out):
    """log p = -x0^2/8 - (x1 - x0^2/2)^2/2 (the README's banana)."""
    r = x[1] - 0.5 * x[0] * x[0]
    grad_out[0] = -x[0] / 4.0 + r * x[0]
    grad_out[1] = -r
    return -x[0] * x[0] / 8.0 - 0.5 * r * r


def make_banana():
    t = samplers.Target(banana_logp_grad, 2, params=DUMMY)
    return t, {"mean": np.array([0.0, 2.0]), "var": np.array([4.0, 9.0]),
               "log_z": math.log(4.0 * math.pi)}


@numba.njit
def student_logp_grad(x, params, grad_out):
    """Independent Student-t(nu) coordinates, unnormalised: -(nu+1)/2 log(1 + x^2/nu)."""
    nu = params[0][0]
    value = 0.0
    for i in range(x.shape[0]):
        u = 1.0 + x[i] * x[i] / nu
        value -= 0.5 * (nu + 1.0) * np.log(u)
        grad_out[i] = -(nu + 1.0) * x[i] / (nu * u)
    return value


def make_student(nu, d=1):
    t = samplers.Target(student_logp_grad, d, params=(np.array([float(nu)]),))
    log_z1 = (0.5 * math.log(nu * math.pi) + special.gammaln(nu / 2.0)
              - special.gammaln((nu + 1.0) / 2.0))
    exact = {"log_z": d * log_z1}

    def extra(flat, nu=nu):
        # Quartiles are exact for any nu: t_{nu}.ppf(0.75)
        from scipy import stats
        q = np.quantile(flat[:, 0], [0.25, 0.5, 0.75])
        return {"quartiles_x0": q.round(4).tolist(),
                "quartiles_exact": [float(stats.t.ppf(p, nu)) for p in (0.25, 0.5, 0.75)],
                "frac_abs_gt_10": float(np.mean(np.abs(flat[:, 0]) > 10)),
                "frac_abs_gt_10_exact": float(2 * stats.t.sf(10, nu))}
    exact["extra"] = extra
    if nu > 2:
        exact["mean"] = np.zeros(d)
        exact["var"] = np.full(d, nu / (nu - 2.0))
    return t, exact


@numba.njit
def ridge_logp_grad(x, params, grad_out):
    """log p = -(x0 + x1)^2 / 2 - eps (x0 - x1)^2 / 2: eps = 0 is improper (non-identifiable)."""
    eps = params[0][0]
    s = x[0] + x[1]
    t = x[0] - x[1]
    grad_out[0] = -s - eps * t
    grad_out[1] = -s + eps * t
    return -0.5 * s * s - 0.5 * eps * t * t


def make_ridge(eps):
    t = samplers.Target(ridge_logp_grad, 2, params=(np.array([eps]),))
    if eps == 0.0:
        return t, {}
    # s = x0+x1 ~ N(0, 1), t = x0-x1 ~ N(0, 1/eps), x0 = (s+t)/2: var = (1 + 1/eps)/4
    var = (1.0 + 1.0 / eps) / 4.0
    # Z = (2 pi) / sqrt(det P), P = [[1+eps, 1-eps], [1-eps, 1+eps]], det = 4 eps
    return t, {"mean": np.zeros(2), "var": np.full(2, var),
               "log_z": _LOG_2PI - 0.5 * math.log(4.0 * eps)}


@numba.njit
def ring_logp_grad(x, params, grad_out):
    """Mass near the circle |x| = R: log p = -(|x| - R)^2 / (2 s^2) (d = 2)."""
    radius = params[0][0]
    s = params[0][1]
    r = math.sqrt(x[0] * x[0] + x[1] * x[1])
    if r == 0.0:
        grad_out[0] = 0.0
        grad_out[1] = 0.0
        return -0.5 * radius * radius / (s * s)
    c = -(r - radius) / (s * s * r)
    grad_out[0] = c * x[0]
    grad_out[1] = c * x[1]
    return -0.5 * (r - radius) ** 2 / (s * s)


def make_ring(radius=3.0, s=0.1):
    t = samplers.Target(ring_logp_grad, 2, params=(np.array([radius, s]),))
    # Z = 2 pi int_0^inf r exp(-(r-R)^2/(2 s^2)) dr
    a = radius / s
    z = 2 * math.pi * (s * s * math.exp(-0.5 * a * a) + radius * s * math.sqrt(2 * math.pi)
                       * 0.5 * math.erfc(-a / math.sqrt(2)))
    # E r^2 = R^2 + s^2 approximately (R >> s); var x_i = E r^2 / 2
    var = 0.5 * (radius ** 2 + 3 * s * s)

    def extra(flat):
        r = np.sqrt((flat ** 2).sum(axis=1))
        ang = np.arctan2(flat[:, 1], flat[:, 0])
        quad = np.histogram(ang, bins=4, range=(-np.pi, np.pi))[0] / flat.shape[0]
        return {"r_mean": float(r.mean()), "quadrants": quad.round(3).tolist()}
    return t, {"mean": np.zeros(2), "var": np.full(2, var), "log_z": math.log(z), "extra": extra}


@numba.njit
def spike_logp_grad(x, params, grad_out):
    """log p = -1/2 log|x| - x^2/2 (1-D): integrable, but log p -> +inf at 0."""
    a = abs(x[0])
    if a == 0.0:
        grad_out[0] = 0.0
        return np.inf
    grad_out[0] = -0.5 / x[0] - x[0]
    return -0.5 * np.log(a) - 0.5 * x[0] * x[0]


def make_spike():
    t = samplers.Target(spike_logp_grad, 1, params=DUMMY)
    # Z = 2^{1/4} Gamma(1/4); E x^2 = 1/2
    return t, {"mean": np.zeros(1), "var": np.array([0.5]),
               "log_z": 0.25 * math.log(2.0) + special.gammaln(0.25)}


# --- Gaussians and mixtures ---------------------------------------------------------------

def random_cov(d, cond, rng):
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.geomspace(1.0, cond, d) if d > 1 else np.array([1.0])
    return (q * eig) @ q.T


def make_gaussian(d, cond=10.0, seed=0):
    rng = np.random.default_rng(seed)
    g = samplers.Gaussian(rng.normal(size=d), random_cov(d, cond, rng))
    return g, {"mean": g.mean, "var": np.diag(g.cov), "log_z": float(g.log_z())}


def make_mixture(means, sds, weights):
    means = np.asarray(means, dtype=float)
    d = means.shape[1]
    covs = np.asarray(sds, dtype=float) ** 2
    covs = covs[:, :, None] * np.eye(d)  # full (K, d, d) form: never ambiguous
    gm = samplers.GaussianMixture(means, covs, np.asarray(weights, dtype=float))
    w, m = gm.weights, gm.means
    mean = w @ m
    second = sum(w[k] * (np.diag(gm.covs[k]) + m[k] ** 2) for k in range(len(w)))
    return gm, {"mean": mean, "var": second - mean ** 2, "log_z": 0.0, "weights": w,
                "classify": lambda x: gm.component_of(x)}
