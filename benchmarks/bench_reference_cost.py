"""What a reference path costs per step, against the classic path in the same process (issue 12).

What is measured
----------------
``ParallelTempering(reference=q, adapt_ladder=False)`` on a correlated
Gaussian target in ``d`` dimensions (covariance ``A A^T / d + I``, ``A``
standard normal from ``default_rng(0)``), 4 chains, a fixed ladder of the
default size for ``d``, ``tune`` = ``draws`` = 2000, one thread, CPU seconds
of the ``sample`` call (compilation excluded: every configuration runs once
before it is timed).  The references:

* ``classic``: ``reference=None`` (``p^beta``, the baseline of the ratios);
* ``diagonal``: a ``samplers.Gaussian`` with a diagonal covariance (the broad
  defensive part of ``reference="modes"`` is one; O(d) per evaluation);
* ``full``: a ``samplers.Gaussian`` with the target's covariance (a Laplace
  component; O(d^2) per evaluation);
* ``modes``: ``reference="modes"`` with its defaults (warm-up 4000 steps,
  discovery, then a defensive and one Laplace component): the whole cost a
  user sees, draws 2000.

Every configuration is timed ``--repeats`` times, alternating; the median
ratio to ``classic`` is printed.

Usage (from the repository root)::

    python benchmarks/bench_reference_cost.py                  # d = 10 and 100
    python benchmarks/bench_reference_cost.py --dims 400 --repeats 1
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import samplers  # noqa: E402


def configurations(d):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(d, d))
    cov = a @ a.T / d + np.eye(d)
    target = samplers.Gaussian(np.zeros(d), cov)
    fixed = dict(adapt_ladder=False)
    return target, {
        "classic": (samplers.ParallelTempering(**fixed), 2000),
        "diagonal": (samplers.ParallelTempering(
            reference=samplers.Gaussian(np.zeros(d), np.diag(4.0 * np.diag(cov))), **fixed), 2000),
        "full": (samplers.ParallelTempering(reference=samplers.Gaussian(np.zeros(d), cov), **fixed),
                 2000),
        "modes": (samplers.ParallelTempering(reference="modes"), None),
    }


def timed(sampler, target, tune, seed):
    start = time.process_time()
    sampler.sample(target, draws=2000, tune=tune, chains=4, rng=seed, progressbar=False,
                   check_convergence=False)
    return time.process_time() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dims", type=int, nargs="+", default=[10, 100])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    for d in args.dims:
        target, configs = configurations(d)
        for sampler, tune in configs.values():  # compile
            sampler.sample(target, draws=20, tune=40 if tune else None, chains=2, rng=0,
                           progressbar=False, check_convergence=False)
        times = {name: [] for name in configs}
        for rep in range(args.repeats):
            for name, (sampler, tune) in configs.items():
                times[name].append(timed(sampler, target, tune, rep + 1))
        base = np.median(times["classic"])
        print(f"d = {d}:")
        for name, values in times.items():
            print(f"  {name:9s} {np.median(values):6.2f} s CPU   x{np.median(values) / base:5.2f}")


if __name__ == "__main__":
    main()
