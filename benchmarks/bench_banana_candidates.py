"""Can any default sample the banana? Candidate kernels for ``Langevin()`` (issue 13).

Issue 13's last goal: with no arguments, variances within 5% (or within 4
Monte Carlo standard errors) of the truth on N(0, I) (d = 1, 2, 50), the
Quickstart Gaussian and the banana ``log p = -x0^2/8 - (x1 - x0^2/2)^2/2``
(Var x0 = 4, Var x1 = 9), with ``sample()``'s defaults: 4 chains, 1000
warm-up steps, 1000 draws.  ``Langevin()`` (MALA, one step tuned by dual
averaging to acceptance 0.574) meets it on the Gaussians, not on the banana.

This script measures candidate replacements before any goes into the
package.  They are **prototypes, not package code**: small serial numba
loops with NumPy's legacy random stream, each the textbook kernel with the
package's warm-up (Stan's doubling search for the first step, then dual
averaging with gamma = 0.05, t0 = 10, kappa = 0.75 to ``target``, ending on
the averaged step; ``kernels.adaptation``):

* ``mala``: MALA; with ``jitter J > 1`` the step of every iteration is
  ``h J^-u``, ``u ~ U(0, 1)`` (a mixture of MALA kernels, each exact: Neal
  2011, section 5.4, for HMC), dual averaging tuning the top step ``h`` to the
  mean acceptance; with ``dr = c > 0`` delayed rejection (Tierney and Mira
  1999): after a rejection, a second proposal with step ``h / c`` from the same
  point, accepted with the second-stage ratio (the "ghost" terms
  ``q1(y2, y1) (1 - alpha1(y2, y1))``);
* ``ghmc``: one leapfrog step with partial momentum refreshment ``p <- eta p +
  sqrt(1 - eta^2) xi`` and a momentum flip on rejection (Horowitz 1991;
  ``eta = 0`` is MALA with ``h = eps^2 / 2``);
* ``barker``: the Barker proposal (Livingstone and Zanella 2022), robust to a
  too-large step;
* ``smmala``: simplified manifold MALA (Girolami and Calderhead 2011) on the
  banana only, with the SoftAbs of the Hessian (Betancourt 2013) or the
  Fisher-like metric of the banana's Gaussian parametrisation
  ``[[1/4 + x0^2, -x0], [-x0, 1]]`` (a metric no general target supplies);
* ``hmc``: HMC with ``L ~ U{1..Lmax}`` leapfrog steps and step jitter;
* with ``--pymc``, PyMC's NUTS (``pm.sample`` defaults; ``target_accept``
  0.8 and 0.95) for reference.

Per candidate and target, over ``--seeds`` seeds (initial points uniform on
[-2, 2] as the package's): how many seeds pass (every coordinate's relative
variance error within 5% or within 4 MCSE, the MCSE from the bulk ESS of the
centred squares as in ``bench_ula_bias.py``), the largest error and largest
error in MCSE, the mean over seeds of the smallest bulk ESS of x and of the
centred x^2, and gradient evaluations per draw.

Usage::

    python benchmarks/bench_banana_candidates.py [--seeds 10] [--draws 1000]
        [--targets banana,d50] [--only NAME-PART] [--pymc]
"""
import argparse
import itertools
import warnings

import numba
import numpy as np

from bench_ula_bias import relative_variance_error
from samplers.inference_data import arviz
# The package's dual averaging, one iteration on [log_hbar, H, mu, m]: the prototypes tune as it does.
from samplers.kernels.adaptation import dual_averaging_update as _dual_averaging



@numba.njit(cache=True)
def banana(x, g):
    u = x[1] - 0.5 * x[0] ** 2
    g[0] = -x[0] / 4.0 + u * x[0]
    g[1] = -u
    return -x[0] ** 2 / 8.0 - 0.5 * u * u


@numba.njit(cache=True)
def standard_gaussian(x, g):
    s = 0.0
    for i in range(x.shape[0]):
        g[i] = -x[i]
        s += x[i] * x[i]
    return -0.5 * s


@numba.njit(cache=True)
def quickstart(x, g):
    """The README's Quickstart Gaussian: precision [[2, 0.5], [0.5, 1]]."""
    g[0] = -(2.0 * x[0] + 0.5 * x[1])
    g[1] = -(0.5 * x[0] + 1.0 * x[1])
    return 0.5 * (x[0] * g[0] + x[1] * g[1])


#: name: (label, log density and gradient, true variances)
TARGETS = {
    "d1": ("N(0, I), d=1", standard_gaussian, np.ones(1)),
    "d2": ("N(0, I), d=2", standard_gaussian, np.ones(2)),
    "d10": ("N(0, I), d=10", standard_gaussian, np.ones(10)),
    "d50": ("N(0, I), d=50", standard_gaussian, np.ones(50)),
    "quickstart": ("Quickstart Gaussian", quickstart,
                   np.diag(np.linalg.inv(np.array([[2.0, 0.5], [0.5, 1.0]])))),
    "banana": ("banana", banana, np.array([4.0, 9.0])),
}


@numba.njit(cache=True)
def _accept(log_alpha):
    return min(1.0, np.exp(log_alpha)) if np.isfinite(log_alpha) else 0.0


@numba.njit(cache=True)
def _log_q(x, gx, y, h):
    """log N(y; x + h g(x), 2 h I) up to a constant shared by both directions."""
    s = 0.0
    for i in range(x.shape[0]):
        r = y[i] - x[i] - h * gx[i]
        s += r * r
    return -s / (4.0 * h) - 0.5 * x.shape[0] * np.log(h)


@numba.njit(cache=True)
def _mala_proposal(f, x, g, h, y, gy):
    xi = np.random.randn(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] + h * g[i] + np.sqrt(2.0 * h) * xi[i]
    return f(y, gy)


@numba.njit(cache=True)
def _first_step(f, x, g, lp, target):
    """Stan's heuristic: double or halve h from 1 until one MALA proposal's acceptance
    crosses ``target`` (the package's ``engine.start.initial_step_size``)."""
    d = x.shape[0]
    y, gy = np.empty(d), np.empty(d)
    h, direction = 1.0, 0
    for _ in range(200):
        lpy = _mala_proposal(f, x, g, h, y, gy)
        up = _accept(lpy - lp + _log_q(y, gy, x, h) - _log_q(x, g, y, h)) > target
        if direction == 0:
            direction = 1 if up else -1
        elif (direction == 1) != up:
            break
        h = h * 2.0 if direction == 1 else h * 0.5
    return h


@numba.njit(cache=True)
def mala(f, x0, seed, tune, draws, target, log_jitter, dr):
    """MALA with step jitter ``exp(log_jitter)`` and, with ``dr > 0``, delayed rejection
    with second step ``h_t / dr`` (module docstring)."""
    np.random.seed(seed)
    d = x0.shape[0]
    x, g = x0.copy(), np.empty(d)
    lp = f(x, g)
    y, gy, z, gz = np.empty(d), np.empty(d), np.empty(d), np.empty(d)
    h = _first_step(f, x, g, lp, target)
    da = np.array([0.0, 0.0, np.log(10.0 * h), 0.0])
    out = np.empty((draws, d))
    grads = 0
    for s in range(tune + draws):
        ht = h * np.exp(-np.random.rand() * log_jitter)
        lpy = _mala_proposal(f, x, g, ht, y, gy)
        grads += 1
        a1 = _accept(lpy - lp + _log_q(y, gy, x, ht) - _log_q(x, g, y, ht))
        if np.random.rand() < a1:
            x[:], g[:], lp = y, gy, lpy
        elif dr > 0.0:
            h2 = ht / dr
            lpz = _mala_proposal(f, x, g, h2, z, gz)
            grads += 1
            a_zy = _accept(lpy - lpz + _log_q(y, gy, z, ht) - _log_q(z, gz, y, ht))
            log_alpha2 = (lpz + _log_q(z, gz, y, ht) + _log_q(z, gz, x, h2) + np.log1p(-a_zy)
                          - lp - _log_q(x, g, y, ht) - _log_q(x, g, z, h2) - np.log1p(-a1))
            if np.random.rand() < _accept(log_alpha2):
                x[:], g[:], lp = z, gz, lpz
        if s < tune:
            h = _dual_averaging(da, a1, target)
            if s == tune - 1:
                h = np.exp(da[0])
        else:
            out[s - tune] = x
    return out, grads / (tune + draws)


@numba.njit(cache=True)
def _leapfrog(f, x, g, p, eps, n_steps, y, gy):
    """``n_steps`` leapfrog steps from (x, p); returns log p at the end and the momentum."""
    y[:] = x
    gy[:] = g
    q = p.copy()
    lpy = 0.0
    for _ in range(n_steps):
        q += 0.5 * eps * gy
        y += eps * q
        lpy = f(y, gy)
        if not np.isfinite(lpy):
            return -np.inf, q
        q += 0.5 * eps * gy
    return lpy, q


@numba.njit(cache=True)
def hmc(f, x0, seed, tune, draws, target, log_jitter, max_steps, eta):
    """``max_steps > 0``: HMC with ``L ~ U{1..max_steps}`` leapfrog steps and step jitter,
    fresh momentum each iteration.  ``max_steps = 0``: GHMC, one leapfrog step with the
    momentum kept with weight ``eta`` and flipped on rejection."""
    np.random.seed(seed)
    d = x0.shape[0]
    x, g = x0.copy(), np.empty(d)
    lp = f(x, g)
    y, gy = np.empty(d), np.empty(d)
    eps = np.sqrt(2.0 * _first_step(f, x, g, lp, target))  # MALA's h = eps^2 / 2
    da = np.array([0.0, 0.0, np.log(10.0 * eps), 0.0])
    out = np.empty((draws, d))
    p = np.random.randn(d)
    grads = 0
    for s in range(tune + draws):
        et = eps * np.exp(-np.random.rand() * log_jitter)
        if max_steps > 0:
            n_steps = 1 + int(np.random.rand() * max_steps)
            p = np.random.randn(d)
        else:
            n_steps = 1
            p = eta * p + np.sqrt(1.0 - eta * eta) * np.random.randn(d)
        lpy, q = _leapfrog(f, x, g, p, et, n_steps, y, gy)
        grads += n_steps
        a = _accept(lpy - lp - 0.5 * (q @ q) + 0.5 * (p @ p))
        if np.random.rand() < a:
            x[:], g[:], lp, p = y, gy, lpy, q
        else:
            p = -p
        if s < tune:
            eps = _dual_averaging(da, a, target)
            if s == tune - 1:
                eps = np.exp(da[0])
        else:
            out[s - tune] = x
    return out, grads / (tune + draws)


@numba.njit(cache=True)
def _barker_log_q(x, gx, y):
    """log of the probability of the signs that turned x into y: prod_i sigmoid((y-x)_i g_i(x))."""
    s = 0.0
    for i in range(x.shape[0]):
        t = -(y[i] - x[i]) * gx[i]
        s -= max(t, 0.0) + np.log1p(np.exp(-abs(t)))
    return s


@numba.njit(cache=True)
def barker(f, x0, seed, tune, draws, target):
    """The Barker proposal: per coordinate ``z ~ N(0, sigma^2)`` and ``y = x + z`` with
    probability ``sigmoid(z g(x))``, else ``x - z``."""
    np.random.seed(seed)
    d = x0.shape[0]
    x, g = x0.copy(), np.empty(d)
    lp = f(x, g)
    y, gy = np.empty(d), np.empty(d)
    sigma = np.sqrt(2.0 * _first_step(f, x, g, lp, target))
    da = np.array([0.0, 0.0, np.log(10.0 * sigma), 0.0])
    out = np.empty((draws, d))
    for s in range(tune + draws):
        for i in range(d):
            z = sigma * np.random.randn()
            y[i] = x[i] + (z if np.random.rand() < 1.0 / (1.0 + np.exp(-z * g[i])) else -z)
        lpy = f(y, gy)
        a = _accept(lpy - lp + _barker_log_q(y, gy, x) - _barker_log_q(x, g, y))
        if np.random.rand() < a:
            x[:], g[:], lp = y, gy, lpy
        if s < tune:
            sigma = _dual_averaging(da, a, target)
            if s == tune - 1:
                sigma = np.exp(da[0])
        else:
            out[s - tune] = x
    return out, 1.0


@numba.njit(cache=True)
def _banana_metric(x, fisher):
    """Eigen-decomposition of the banana's metric: the SoftAbs (alpha = 1e6, i.e. |lambda|
    floored at 1e-6) of the Hessian of -log p, or its Fisher-like part (no -u term)."""
    u = x[1] - 0.5 * x[0] ** 2
    hess = np.array([[0.25 + x[0] ** 2 - (0.0 if fisher else u), -x[0]], [-x[0], 1.0]])
    w, v = np.linalg.eigh(hess)
    for i in range(2):
        w[i] = max(abs(w[i]), 1e-6)
    return w, v


@numba.njit(cache=True)
def _smmala_log_q(x, gx, y, h, fisher):
    """log N(y; x + h G^-1 g, 2 h G^-1), G the metric at x, up to a constant."""
    w, v = _banana_metric(x, fisher)
    r = v.T @ (y - x - h * (v @ ((v.T @ gx) / w)))
    return -np.sum(w * r * r) / (4.0 * h) + 0.5 * np.sum(np.log(w))


@numba.njit(cache=True)
def smmala_banana(x0, seed, tune, draws, target, fisher):
    np.random.seed(seed)
    x, g, gy = x0.copy(), np.empty(2), np.empty(2)
    lp = banana(x, g)
    h = 0.5
    da = np.array([0.0, 0.0, np.log(10.0 * h), 0.0])
    out = np.empty((draws, 2))
    for s in range(tune + draws):
        w, v = _banana_metric(x, fisher)
        y = (x + h * (v @ ((v.T @ g) / w))
             + np.sqrt(2.0 * h) * (v @ (np.random.randn(2) / np.sqrt(w))))
        lpy = banana(y, gy)
        a = _accept(lpy - lp + _smmala_log_q(y, gy, x, h, fisher) - _smmala_log_q(x, g, y, h, fisher))
        if np.random.rand() < a:
            x[:], g[:], lp = y, gy, lpy
        if s < tune:
            h = _dual_averaging(da, a, target)
            if s == tune - 1:
                h = np.exp(da[0])
        else:
            out[s - tune] = x
    return out, 1.0


def candidates():
    """(name, run(f, x0, seed, tune, draws) -> (draws, gradients per draw), banana only)."""
    log = np.log
    yield "MALA (today's default)", lambda f, x, s, t, n: mala(f, x, s, t, n, 0.574, 0.0, 0.0), False
    for jitter in (10, 30, 100):
        yield (f"MALA, step jitter J={jitter}",
               lambda f, x, s, t, n, j=jitter: mala(f, x, s, t, n, 0.574, log(j), 0.0), False)
    yield "MALA, J=30, accept 0.75", lambda f, x, s, t, n: mala(f, x, s, t, n, 0.75, log(30), 0.0), False
    for c in (4, 10):
        yield (f"delayed-rejection MALA c={c}",
               lambda f, x, s, t, n, c=c: mala(f, x, s, t, n, 0.574, 0.0, float(c)), False)
    yield "GHMC eta=0.9, accept 0.8", lambda f, x, s, t, n: hmc(f, x, s, t, n, 0.8, 0.0, 0, 0.9), False
    yield "Barker", lambda f, x, s, t, n: barker(f, x, s, t, n, 0.574), False
    yield ("sMMALA, SoftAbs Hessian metric",
           lambda f, x, s, t, n: smmala_banana(x, s, t, n, 0.574, False), True)
    yield ("sMMALA, Fisher-like metric",
           lambda f, x, s, t, n: smmala_banana(x, s, t, n, 0.574, True), True)
    for max_steps, jitter in ((10, 1), (10, 10), (20, 1), (20, 10)):
        yield (f"HMC L~U{{1..{max_steps}}}, J={jitter}, accept 0.8",
               lambda f, x, s, t, n, m=max_steps, j=jitter: hmc(f, x, s, t, n, 0.8, log(j), m, 0.0),
               False)


def summarise(rows):
    """rows: per seed (relative error, error in MCSE, min ESS of x, min ESS of x^2, grads/draw)."""
    r = np.array(rows)
    passed = int(np.sum((np.abs(r[:, 0]) <= 0.05) | (np.abs(r[:, 1]) <= 4.0)))
    return (f"{passed:3d}/{len(r):<3d} {np.abs(r[:, 0]).max():9.3f} {np.abs(r[:, 1]).max():8.1f} "
            f"{r[:, 2].mean():8.0f} {r[:, 3].mean():8.0f} {r[:, 4].mean():8.1f}")


def seed_row(x, truth, grads):
    az = arviz()
    _, worst, mcse = relative_variance_error(x, truth)
    ess_x = min(float(az.ess(x[..., i])) for i in range(x.shape[-1]))
    centred = (x - x.reshape(-1, x.shape[-1]).mean(axis=0)) ** 2
    ess_sq = min(float(az.ess(centred[..., i])) for i in range(x.shape[-1]))
    return worst, worst / mcse, ess_x, ess_sq, grads


def pymc_rows(seeds, draws, target_accept):
    import logging

    import pymc as pm
    logging.getLogger("pymc").setLevel(logging.ERROR)
    rows = []
    with pm.Model():
        x0 = pm.Normal("x0", 0.0, 2.0)
        pm.Normal("x1", 0.5 * x0 ** 2, 1.0)
        for seed in seeds:
            idata = pm.sample(draws=draws, tune=1000, chains=4, cores=1, random_seed=seed,
                              target_accept=target_accept, progressbar=False,
                              compute_convergence_checks=False)
            x = np.stack([idata.posterior["x0"].values, idata.posterior["x1"].values], axis=-1)
            steps = float(idata.sample_stats["n_steps"].values.mean())
            rows.append(seed_row(x, TARGETS["banana"][2], steps))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--targets", default="banana,d50",
                        help=f"comma-separated, from {','.join(TARGETS)}")
    parser.add_argument("--only", default="", help="run only the candidates whose name contains this")
    parser.add_argument("--pymc", action="store_true", help="add PyMC's NUTS on the banana")
    args = parser.parse_args()
    names = args.targets.split(",")
    for n in names:
        if n not in TARGETS:
            parser.error(f"unknown target {n!r}; choose from {', '.join(TARGETS)}")
    seeds = range(args.seeds)
    print(f"4 chains x {args.draws} draws, tune {args.tune}, seeds 0-{args.seeds - 1}")
    print(f"{'candidate':40s} {'target':20s} {'pass':>7s} {'|err|max':>9s} {'|z|max':>8s} "
          f"{'ESS(x)':>8s} {'ESS(x2)':>8s} {'grad/drw':>8s}")
    warnings.simplefilter("ignore")
    for (name, run, banana_only), label in itertools.product(list(candidates()), names):
        if args.only not in name or (banana_only and label != "banana"):
            continue
        title, f, truth = TARGETS[label]
        rows = []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            chains = [run(f, rng.uniform(-2.0, 2.0, truth.size), 100 * seed + c, args.tune, args.draws)
                      for c in range(4)]
            x = np.stack([out for out, _ in chains])
            grads = np.mean([g for _, g in chains])
            rows.append(seed_row(x, truth, grads))
        print(f"{name:40s} {title:20s} {summarise(rows)}", flush=True)
    if args.pymc:
        for target_accept in (0.8, 0.95):
            rows = pymc_rows(seeds, args.draws, target_accept)
            print(f"{'PyMC NUTS, target_accept ' + str(target_accept):40s} {'banana':20s} "
                  f"{summarise(rows)}", flush=True)


if __name__ == "__main__":
    main()
