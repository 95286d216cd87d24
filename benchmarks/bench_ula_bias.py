"""Variance error of the Langevin defaults: is the default answer right?

For targets with known variances, runs with no step size given:

* ``Langevin()``, the default (MALA, step tuned to acceptance 0.574);
* ``Langevin(metropolis=False)``, ULA with its default step
  ``step_scale / lambda_max`` (curvature measured during warm-up);
* ULA at the step MALA tunes to, which was ULA's default rule before
  (dual averaging of the would-be MALA acceptance to 0.574).

and prints, per target and coordinate-averaged, the relative error of the
sample variance, ``var / truth - 1``, with its Monte Carlo standard error
(from the bulk ESS of x^2 - mean, ArviZ) and the largest error over
coordinates.  The ULA formula on N(0, I): stationary variance 1 / (1 - h/2).

Usage::

    python benchmarks/bench_ula_bias.py [--draws 4000] [--chains 4]
"""
import argparse
import warnings

import numba
import numpy as np

import samplers
from samplers.inference_data import arviz


@numba.njit(cache=True)
def precision_logp_grad(x, params, grad_out):
    (precision,) = params
    grad_out[:] = -precision @ x
    return 0.5 * x @ grad_out


@numba.njit(cache=True)
def banana_logp_grad(x, params, grad_out):
    """log p = -x0^2/8 - (x1 - x0^2/2)^2/2: Var x0 = 4, Var x1 = 1 + 2 * 16 / 4 = 9."""
    u = x[1] - 0.5 * x[0] ** 2
    grad_out[0] = -x[0] / 4.0 + u * x[0]
    grad_out[1] = -u
    return -x[0] ** 2 / 8.0 - 0.5 * u * u


def targets():
    precision = np.array([[2.0, 0.5], [0.5, 1.0]])
    yield "N(0, I), d=1", samplers.Gaussian(np.zeros(1), 1.0), np.ones(1)
    yield "N(0, I), d=2", samplers.Gaussian(np.zeros(2), 1.0), np.ones(2)
    yield "N(0, I), d=10", samplers.Gaussian(np.zeros(10), 1.0), np.ones(10)
    yield "N(0, I), d=50", samplers.Gaussian(np.zeros(50), 1.0), np.ones(50)
    yield "Quickstart Gaussian", samplers.Target(precision_logp_grad, 2, params=(precision,)), \
        np.diag(np.linalg.inv(precision))
    yield "banana", samplers.Target(banana_logp_grad, 2), np.array([4.0, 9.0])


def variance_error(idata, name, truth):
    """:func:`relative_variance_error` of the draws of ``name``, and the mean step size."""
    x = idata.posterior[name].values
    mean, worst, mcse = relative_variance_error(x.reshape(x.shape[0], x.shape[1], -1), truth)
    return mean, worst, mcse, float(idata.sample_stats["step_size"].values.mean())


def relative_variance_error(x, truth):
    """Of draws ``x`` (chains, draws, d) against the true variances ``truth`` (d,): the mean
    over coordinates of ``var / truth - 1``, and at the coordinate where that error is
    largest in Monte Carlo standard errors, the error and its MCSE (from the bulk ESS of
    the centred squares, ArviZ)."""
    az = arviz()
    d = x.shape[-1]
    centred = (x - x.reshape(-1, d).mean(axis=0)) ** 2
    ess = np.array([float(az.ess(centred[..., i])) for i in range(d)])
    var = centred.reshape(-1, d).mean(axis=0)
    sd_of_square = centred.reshape(-1, d).std(axis=0)
    mcse = sd_of_square / np.sqrt(ess) / truth
    rel = var / truth - 1.0
    worst = int(np.argmax(np.abs(rel) / mcse))
    return rel.mean(), rel[worst], mcse[worst]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    kw = dict(draws=args.draws, chains=args.chains, rng=args.seed, progressbar=False,
              check_convergence=False)
    print(f"draws={args.draws} chains={args.chains} seed={args.seed}")
    print(f"{'target':22s} {'sampler':28s} {'h':>8s} {'mean rel err':>13s} "
          f"{'worst (in MCSE)':>22s}")
    for label, target, truth in targets():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mala = samplers.Langevin().sample(target, **kw)
            h_mala = float(mala.sample_stats["step_size"].values.mean())
            runs = [("Langevin() (MALA)", mala),
                    ("Langevin(metropolis=False)", samplers.Langevin(metropolis=False).sample(target, **kw)),
                    ("ULA at MALA's step", samplers.Langevin(h_mala, metropolis=False).sample(target, **kw))]
        for name, idata in runs:
            mean, worst, mcse, h = variance_error(idata, target.name, truth)
            print(f"{label:22s} {name:28s} {h:8.4f} {mean:+13.3f} {worst:+10.3f} ({worst / mcse:+6.1f})")


if __name__ == "__main__":
    main()
