"""The stress cases: ``PYTHONPATH=. python benchmarks/defaults/cases.py NAME [NAME ...] [--seeds 1,2]``.

Every case runs ``SimulatedTempering()`` and ``ParallelTempering()`` at their defaults
(``reference="auto"``) and with ``reference=None``, ``draws=2000, chains=4``; results in
``benchmarks/defaults/results/NAME.jsonl`` (see ``harness.py``).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import targets as T  # noqa: E402


def _mix(means, sds, weights):
    return lambda: T.make_mixture(means, sds, weights)


CASES = {
    # 1-D
    "gauss1d": lambda: T.make_gaussian(1, seed=3),
    "bimodal1d": _mix([[-2.0], [4.0]], [[0.1], [2.0]], [0.3, 0.7]),
    # Gaussians
    "gauss2d": lambda: T.make_gaussian(2, cond=10.0),
    "gauss20d": lambda: T.make_gaussian(20, cond=10.0),
    "gauss100d": lambda: T.make_gaussian(100, cond=10.0),
    "illcond2d": lambda: T.make_gaussian(2, cond=1e4),
    "illcond10d": lambda: T.make_gaussian(10, cond=1e4),
    # mixtures, unequal weights and scales
    "mix2d": _mix([[-4.0, 0.0], [4.0, 1.0], [0.0, 6.0]], [[0.3, 0.3], [1.0, 1.0], [2.0, 0.5]],
                  [0.2, 0.5, 0.3]),
    "mix5d": _mix(np.array([[-5.0] * 5, [5.0] * 5, [5.0, -5, 5, -5, 5]]),
                  [[0.3] * 5, [1.0] * 5, [2.0] * 5], [0.15, 0.25, 0.6]),
    "mix20d": _mix(np.array([[-3.0] * 20, [3.0] * 20]), [[0.5] * 20, [1.5] * 20], [0.3, 0.7]),
    "mixfar": _mix([[1000.0, 1000.0], [1010.0, 990.0]], [[1.0, 1.0], [0.5, 0.5]], [0.6, 0.4]),
    "mixfar_sep": _mix([[1000.0, -1000.0], [-1000.0, 1000.0]], [[1.0, 1.0], [1.0, 1.0]],
                       [0.3, 0.7]),
    "mixclose": _mix([[0.0, 0.0], [1.0, 0.0]], [[1.0, 1.0], [0.7, 0.7]], [0.5, 0.5]),
    "mixclose_narrow": _mix([[0.0, 0.0], [0.5, 0.0]], [[1.0, 1.0], [0.1, 0.1]], [0.7, 0.3]),
    # user targets
    "gamma1d": lambda: T.make_gamma(1, 3.0),
    "gamma3d": lambda: T.make_gamma(3, 1.5),
    "beta2d": lambda: T.make_beta(2),
    "box2d": lambda: T.make_box(2),
    "funnel10": lambda: T.make_funnel(10),
    "banana": T.make_banana,
    "cauchy1d": lambda: T.make_student(1.0, 1),
    "cauchy2d": lambda: T.make_student(1.0, 2),
    "student3_1d": lambda: T.make_student(3.0, 1),
    "student3_5d": lambda: T.make_student(3.0, 5),
    "ridge_improper": lambda: T.make_ridge(0.0),
    "ridge_1e-4": lambda: T.make_ridge(1e-4),
    "ring": T.make_ring,
    "spike": T.make_spike,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="+")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--tune", type=int, default=None)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--only", default=None, help="comma list of ST-auto,PT-auto,ST-None,PT-None")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = list(CASES) if args.names == ["all"] else args.names
    for name in names:
        target, exact = CASES[name]()
        samplers_ = None
        if args.only:
            import samplers
            table = {"ST-auto": lambda: samplers.SimulatedTempering(),
                     "PT-auto": lambda: samplers.ParallelTempering(),
                     "ST-None": lambda: samplers.SimulatedTempering(reference=None),
                     "PT-None": lambda: samplers.ParallelTempering(reference=None)}
            samplers_ = [(k, table[k]) for k in args.only.split(",")]
        suffix = "" if (args.draws, args.chains, args.tune) == (2000, 4, None) else \
            f"_d{args.draws}_c{args.chains}_t{args.tune}"
        harness.run_case(name + suffix, target, exact, seeds=seeds, draws=args.draws,
                         chains=args.chains, tune=args.tune, samplers_=samplers_,
                         baseline=not args.no_baseline)


if __name__ == "__main__":
    main()
