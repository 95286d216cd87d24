"""``Target.from_pymc`` on eight schools: build time and the cost of one evaluation against
a hand-written numba target of the same posterior.

What is measured
----------------
(i)  Build: ``Target.from_pymc(model)`` in fresh processes (PyMC imported first, not
     timed), after one untimed process has filled PyTensor's cache: the warm build a
     user pays in each new session, split as ``PyMCTarget.build_times`` (graph, compile,
     adapter).  ``--cold`` adds one build with an empty PyTensor compile directory
     (``PYTENSOR_FLAGS=base_compiledir=<tmp>``): the first build of a model.
(ii) Per evaluation: log p and gradient at a point, through the fixed C interface the
     samplers call (``targets.interface.call_target`` on the target's handle), in a
     compiled loop of 200,000 calls, best of ``--repeats``; for the PyMC target and for
     ``eight_schools`` below, written by hand (checked here against PyMC's log p, up to
     its constant, and its gradient).
(iii) MALA, 4 chains x 20,000 steps with a fixed step, ``sampling_time`` of the run:
     chain-steps/s for both.

Usage (from the repository root; needs the pymc extra)::

    python benchmarks/bench_pymc.py [--repeats 5] [--builds 3] [--cold]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numba
import numpy as np

from _load import OtherLoad

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import samplers  # noqa: E402
from samplers.targets.interface import call_target  # noqa: E402

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])

MODEL = """
import numpy as np, pymc as pm
Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
with pm.Model(coords={"school": list("ABCDEFGH")}) as model:
    y = pm.Data("y", Y, dims="school")
    mu = pm.Normal("mu", 0.0, 5.0)
    tau = pm.HalfCauchy("tau", 5.0)
    theta_t = pm.Normal("theta_t", 0.0, 1.0, dims="school")
    theta = pm.Deterministic("theta", mu + tau * theta_t, dims="school")
    pm.Normal("obs", theta, SIGMA, observed=y, dims="school")
"""

BUILD_CHILD = MODEL + """
import json, sys, time
sys.path.insert(0, REPO_PATH)
import samplers
tic = time.perf_counter()
target = samplers.Target.from_pymc(model)
wall = time.perf_counter() - tic
print(json.dumps(dict(target.build_times, wall=wall)))
"""


@numba.njit(cache=True)
def eight_schools(x, params, grad_out):
    """Non-centred eight schools on x = (mu, log tau, theta_t[8]), log Jacobian of tau =
    e^s included, constants dropped: mu ~ N(0, 5), tau ~ HalfCauchy(5), theta_t ~ N(0, 1),
    y_j ~ N(mu + tau theta_t_j, sigma_j)."""
    y, sigma = params
    mu, s = x[0], x[1]
    tau = np.exp(s)
    lp = -0.5 * mu * mu / 25.0 - np.log1p(tau * tau / 25.0) + s
    g_mu = -mu / 25.0
    g_s = -2.0 * tau * tau / 25.0 / (1.0 + tau * tau / 25.0) + 1.0
    for j in range(8):
        z = x[2 + j]
        r = (y[j] - mu - tau * z) / sigma[j]
        lp += -0.5 * z * z - 0.5 * r * r
        d = r / sigma[j]                    # d(-r^2/2)/d(theta_j)
        g_mu += d
        g_s += d * tau * z
        grad_out[2 + j] = -z + d * tau
    grad_out[0] = g_mu
    grad_out[1] = g_s
    return lp


@numba.njit(cache=True)
def evaluations(handle, x, grad, n):
    """``n`` evaluations through the fixed interface; ``x`` moves a little each time so
    nothing is hoisted."""
    total = 0.0
    for i in range(n):
        x[0] += 1e-12
        total += call_target(x, handle, grad)
    return total


def per_evaluation(target, x, repeats, n=200_000):
    handle = target.handle()
    grad = np.empty(target.dim)
    evaluations(handle, x.copy(), grad, 10)
    best = np.inf
    for _ in range(repeats):
        tic = time.perf_counter()
        evaluations(handle, x.copy(), grad, n)
        best = min(best, (time.perf_counter() - tic) / n)
    return best


def mala(target, repeats, steps=20_000, chains=4):
    best = 0.0
    for r in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a fixed step: divergences are not the point
            idata = samplers.Langevin(step_size=0.2).sample(
                target, draws=steps, tune=0, chains=chains, rng=r, progressbar=False,
                check_convergence=False)
        best = max(best, steps * chains / float(idata.posterior.attrs["sampling_time"]))
    return best


def builds(n, env=None):
    out = []
    for _ in range(n):
        result = subprocess.run([sys.executable, "-c", BUILD_CHILD.replace("REPO_PATH", repr(REPO))],
                                capture_output=True, text=True, env=env, check=True)
        out.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also one build with an empty "
                        "PyTensor compile directory")
    args = parser.parse_args()
    namespace = {}
    exec(MODEL, namespace)
    model = namespace["model"]
    pymc_target = samplers.Target.from_pymc(model)
    hand = samplers.Target(eight_schools, 10, params=(Y, SIGMA))
    x = pymc_target.initial_point + np.linspace(-0.5, 0.5, 10)
    lp_pymc, g_pymc = pymc_target.logp_and_grad(x)
    lp_hand, g_hand = hand.logp_and_grad(x)
    lp_pymc2, _ = pymc_target.logp_and_grad(x + 0.1)
    lp_hand2, _ = hand.logp_and_grad(x + 0.1)
    assert np.allclose(g_pymc, g_hand, rtol=1e-12, atol=1e-12), (g_pymc, g_hand)
    assert abs((lp_pymc - lp_hand) - (lp_pymc2 - lp_hand2)) < 1e-10  # equal up to a constant

    print(f"python {sys.version.split()[0]}, numba {numba.__version__}, "
          f"pymc {__import__('pymc').__version__}, pytensor {__import__('pytensor').__version__}")
    with OtherLoad() as load:
        builds(1)  # fills PyTensor's cache (and this checkout's numba cache)
        warm = builds(args.builds)
        cold = None
        if args.cold:
            with tempfile.TemporaryDirectory() as tmp:
                env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp}")
                cold = builds(1, env)[0]
        t_pymc = per_evaluation(pymc_target, x, args.repeats)
        t_hand = per_evaluation(hand, x, args.repeats)
        s_pymc = mala(pymc_target, args.repeats)
        s_hand = mala(hand, args.repeats)
    best = min(warm, key=lambda b: b["total"])
    totals = ", ".join(f"{b['total']:.2f}" for b in warm)
    print(f"warm build (best of {args.builds} fresh processes): {best['total']:.2f} s "
          f"(graph {best['graph']:.2f}, compile {best['compile']:.2f}, adapter "
          f"{best['adapter']:.2f}); all: {totals}")
    if cold is not None:
        print(f"cold build (empty PyTensor cache): {cold['total']:.1f} s (graph "
              f"{cold['graph']:.2f}, compile {cold['compile']:.1f}, adapter {cold['adapter']:.2f})")
    print(f"per evaluation (log p and gradient, through the C interface): from_pymc "
          f"{1e9 * t_pymc:.0f} ns, hand-written {1e9 * t_hand:.0f} ns ({t_pymc / t_hand:.1f}x)")
    print(f"MALA, 4 chains x 20,000 steps: from_pymc {s_pymc:,.0f} chain-steps/s, "
          f"hand-written {s_hand:,.0f} ({s_hand / s_pymc:.1f}x)")
    print(load.report())


if __name__ == "__main__":
    main()
