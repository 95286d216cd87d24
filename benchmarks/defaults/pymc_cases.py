"""PyMC models through ``Target.from_pymc``: ``PYTHONPATH=. python benchmarks/defaults/pymc_cases.py NAME [--seeds 1,2]``.

* ``mixture``: a 2-component normal mixture, unordered means (label switching): the
  posterior of (mu0, mu1) is symmetric, so each mean's posterior is bimodal with equal
  weights and E[mu0] = E[mu1].
* ``schools``: eight schools, non-centred (tests/targets/test_pymc.py): posteriordb's
  reference mean and sd of mu, tau, theta_A.
"""
import argparse
import os
import sys

import numpy as np
import pymc as pm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import samplers  # noqa: E402

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def schools():
    with pm.Model(coords={"school": list("ABCDEFGH")}) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_t = pm.Normal("theta_t", 0.0, 1.0, dims="school")
        pm.Deterministic("theta", mu + tau * theta_t, dims="school")
        pm.Normal("obs", mu + tau * theta_t, SIGMA, observed=Y, dims="school")
    target = samplers.Target.from_pymc(model)

    def extra(flat):
        # unconstrained: [mu, log tau, theta_t...]; posteriordb: mu 4.41 +- 3.31, tau 3.60 +- 3.20
        tau = np.exp(flat[:, 1])
        theta_a = flat[:, 0] + tau * flat[:, 2]
        return {"mu_mean": float(flat[:, 0].mean()), "mu_sd": float(flat[:, 0].std()),
                "tau_mean": float(tau.mean()), "tau_sd": float(tau.std()),
                "thetaA_mean": float(theta_a.mean()), "ref": "mu 4.41+-3.31 tau 3.60+-3.20 thetaA 6.15+-5.62"}
    return target, {"extra": extra}


def mixture():
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.normal(-2.0, 1.0, 60), rng.normal(2.0, 1.0, 40)])
    with pm.Model() as model:
        w = pm.Dirichlet("w", np.ones(2))
        mu = pm.Normal("mu", 0.0, 10.0, shape=2)
        pm.NormalMixture("y", w=w, mu=mu, sigma=1.0, observed=data)
    target = samplers.Target.from_pymc(model)
    print("value vars:", [v.name for v in model.value_vars], "dim", target.dim)

    def extra(flat):
        # flat: [w simplex (1 coord), mu0, mu1]; label switching: P(mu0 < mu1) should be 1/2.
        mu = flat[:, -2:]
        return {"P(mu0<mu1)": float(np.mean(mu[:, 0] < mu[:, 1])),
                "mu0_mean": float(mu[:, 0].mean()), "mu1_mean": float(mu[:, 1].mean()),
                "mu_sorted_means": np.sort(mu, axis=1).mean(axis=0).round(3).tolist()}
    return target, {"extra": extra}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("names", nargs="+")
    p.add_argument("--seeds", default="1,2")
    a = p.parse_args()
    for name in a.names:
        target, exact = {"mixture": mixture, "schools": schools}[name]()
        harness.run_case("pymc_" + name, target, exact, seeds=[int(s) for s in a.seeds.split(",")])


if __name__ == "__main__":
    main()
