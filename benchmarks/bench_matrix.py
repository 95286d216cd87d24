"""Per-evaluation cost of the matrix problems' compiled log density and gradient.

* completion, d = 2000, k = 5, 200,000 observed pairs: one ``logp_grad`` call;
* sensing, d = 50, k = 3, m = 2000 (Gaussian A, packed S is 2000 x 1275,
  20 MB): 8 points one at a time (``logp_grad`` x 8) against one
  ``batch_logp_grad`` call on the 8 rows.

Best and median over ``--repeats`` blocks of calls (compilation excluded).
Set ``OPENBLAS_NUM_THREADS`` to fix the BLAS threads used by sensing.

    PYTHONPATH=$PWD python benchmarks/bench_matrix.py
"""
import argparse
import os
import time

import numpy as np

from samplers.matrix import synthetic_problem


def timed(f, calls, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            f()
        times.append((time.perf_counter() - start) / calls)
    return 1e3 * min(times), 1e3 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"cpus={os.cpu_count()}, load={os.getloadavg()[0]:.2f}")

    problem, truth = synthetic_problem("completion", 2000, 5, n_observed=200_000, noise_std=1e-3, rng=0)
    x = truth.X.reshape(-1).copy()
    grad = np.empty_like(x)
    problem.logp_grad(x, problem.params, grad)
    best, median = timed(lambda: problem.logp_grad(x, problem.params, grad), 50, args.repeats)
    print(f"completion d=2000 k=5 200k obs, one evaluation: best {best:.3f} ms, median {median:.3f} ms")

    problem, truth = synthetic_problem("sensing", 50, 3, m=2000, noise_std=1e-2, rng=0)
    xs = truth.X.reshape(1, -1) + 0.01 * np.random.default_rng(1).standard_normal((8, 150))
    grads, lps, grad = np.empty_like(xs), np.empty(8), np.empty(150)
    problem.batch_logp_grad(xs, problem.params, grads, lps)

    def one_by_one():
        for c in range(8):
            problem.logp_grad(xs[c], problem.params, grad)

    best, median = timed(one_by_one, 20, args.repeats)
    print(f"sensing d=50 k=3 m=2000, 8 points one by one: best {best:.3f} ms, median {median:.3f} ms")
    best, median = timed(lambda: problem.batch_logp_grad(xs, problem.params, grads, lps), 20, args.repeats)
    print(f"sensing d=50 k=3 m=2000, 8 points batched:    best {best:.3f} ms, median {median:.3f} ms")


if __name__ == "__main__":
    main()
