"""The dense sensing step's product, Z Q with Z (8, p) and the symmetric Gram matrix
Q (p, p), p = 1275 (d = 50, k = 3): NumPy's BLAS against ``symmetric_product``
(Q's upper triangle only, in two parts on numba's threads: ``_symmetric_parts``, which
``sensing_gram_logp_grad_batch`` runs on Z^T as it packs it, LANES chains at a time,
plus Z's transpose), in the same process, alternating.

Prints GFMA/s (8 p^2 multiply-adds per product) and the fraction of the measured
DGEMM peak (``bench_matrix.measured_peak``), the best and the spread of ``--rounds``
rounds, each the best of ``--repeats`` timings of ``--calls`` products.

    PYTHONPATH=. python benchmarks/bench_gram_product.py
"""
import argparse
import time

import numpy as np
from _load import OtherLoad
from bench_matrix import measured_peak

from samplers.matrix import synthetic_problem
from samplers.matrix.kernels import symmetric_product


def timed(run, calls, repeats):
    best = np.inf
    for _ in range(repeats):
        tic = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, (time.perf_counter() - tic) / calls)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=8, help="1 to 8")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    problem, _ = synthetic_problem("sensing", 50, 3, m=2000, noise_std=0.01, rng=0)
    Q = problem.params[0]
    p = Q.shape[0]
    Z = np.random.default_rng(1).standard_normal((args.chains, p))
    tic = time.perf_counter()
    Y = symmetric_product(Q, Z)
    print(f"symmetric_product: first call (compile or cache load) {time.perf_counter() - tic:.2f} s")
    reference = Z @ Q
    error = np.abs(Y - reference).max() / np.abs(reference).max()
    print(f"max |difference| / max |Z Q| = {error:.1e}")
    fma = args.chains * p * p
    with OtherLoad() as load:
        peak = measured_peak(3)
        blas, ours = [], []
        for _ in range(args.rounds):
            blas.append(fma / timed(lambda: np.dot(Z, Q), args.calls, args.repeats))
            ours.append(fma / timed(lambda: symmetric_product(Q, Z), args.calls, args.repeats))
    print(f"measured DGEMM peak {peak / 1e9:.1f} GFMA/s; ({args.chains} x {p})({p} x {p}), "
          f"{args.rounds} rounds: best [min..max]")
    for name, rates in (("np.dot (BLAS threads)", blas), ("symmetric_product (2 parts, numba threads)", ours)):
        rates = np.array(rates)
        print(f"{name}: {rates.max() / 1e9:.1f} [{rates.min() / 1e9:.1f}..{rates.max() / 1e9:.1f}] "
              f"GFMA/s = {rates.max() / peak:.0%} [{rates.min() / peak:.0%}..{rates.max() / peak:.0%}] "
              "of the peak")
    ratio = np.array(ours) / np.array(blas)
    print(f"symmetric_product / np.dot per round: {', '.join(f'{r:.2f}' for r in ratio)}")
    print(load.report())


if __name__ == "__main__":
    main()
