"""Experiment (not adopted): a batched evaluator for matrix completion, chains in SIMD lanes.

The idea (issue 4, 8 chains at 500 steps/s each): give ``Completion`` a
``batch_logp_grad`` that copies the points into blocks of ``LANES`` chains
laid out (d, k, LANES), so that for every observation (i, j) the inner loops
run over the chains of a block contiguously,

    r[p] = sum_c X[i, c, p] X[j, c, p] - v,   G[j, c, p] += 2 r[p] X[i, c, p],  ...

with the blocks in a ``prange`` (each thread owns whole blocks: no races).
Every chain's arithmetic was that of the scalar ``completion_logp_grad`` of
issue 4 in the same order, so results were bit-identical, and so were the
engine's draws.  Since issue 15 the per-point kernel works on rows padded
to 8-double vectors (``kernels._completion_row``), which sums the k products
in another order: the checks below are now to rounding (relative 1e-12).

Why it is not adopted (figures: ``benchmarks/RESULTS.md``):

* The lane loops are not vectorised.  numba 0.68 runs LLVM without the SLP
  vectoriser (off by default since numba#8705, a miscompilation), and the
  loop vectoriser never sees a loop of constant trip count ``LANES``: it is
  fully unrolled first, into scalar code that also stores every ``r[p]`` back
  to memory (LLVM cannot tell the scratch arrays apart).  With a run-time lane
  count the loops are vectorised, but behind minimum-trip-count and
  run-time alias checks per tiny loop, which cost as much as the
  arithmetic.  Either way one block of 4 chains costs about 4 single
  evaluations.
* ``run_chunk_batched`` proposes and steps the chains serially and draws
  every proposal's noise twice (once to propose, once in ``langevin_step``):
  with d k = 10,000 that is 2 x 0.16 ms per chain-step on one core, which
  alone caps 8 chains at about 400 steps/s each.

Usage (from the repository root; about 20 s warm)::

    python benchmarks/bench_completion_batch.py
"""
import importlib.util
import os
import sys
import time

import numpy as np
from _load import OtherLoad
from numba import prange

_spec = importlib.util.find_spec("samplers")
if _spec is None or _spec.origin is None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import samplers  # noqa: E402
from samplers._jit import jit  # noqa: E402
from samplers.matrix import synthetic_problem  # noqa: E402
from samplers.matrix.invariants import chain_rotation  # noqa: E402

#: Chains per block: one AVX2 vector of float64, if LLVM vectorised the lane loops.
LANES = 4


@jit
def _completion_block(xs, params, grad_out, lp_out, first):
    """``completion_logp_grad`` for rows ``first .. first + LANES - 1`` of ``xs``, in lanes.

    Padding lanes (past the last row) hold zeros and are not written back.
    The order of every chain's operations is that of the per-point kernel,
    including the row accumulator ``gi`` added after the row's observations.
    """
    indptr, cols, values, dk, scale = params
    d, k = dk[0], dk[1]
    n = min(LANES, xs.shape[0] - first)
    X = np.zeros((d, k, LANES))
    G = np.zeros((d, k, LANES))
    gi = np.empty((k, LANES))
    r = np.empty(LANES)
    loss = np.zeros(LANES)
    for p in range(n):
        for i in range(d):
            for c in range(k):
                X[i, c, p] = xs[first + p, i * k + c]
    for i in range(d):
        gi[:] = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            j = cols[e]
            v = values[e]
            r[:] = 0.0
            for c in range(k):
                for p in range(LANES):
                    r[p] += X[i, c, p] * X[j, c, p]
            for p in range(LANES):
                r[p] -= v
                loss[p] += r[p] * r[p]
                r[p] *= 2.0
            for c in range(k):
                for p in range(LANES):
                    gi[c, p] += r[p] * X[j, c, p]
                    G[j, c, p] += r[p] * X[i, c, p]
        for c in range(k):
            for p in range(LANES):
                G[i, c, p] += gi[c, p]
    factor = -scale[0]
    for p in range(n):
        lp_out[first + p] = factor * loss[p]
        for i in range(d):
            for c in range(k):
                grad_out[first + p, i * k + c] = G[i, c, p] * factor


@jit(parallel=True)
def completion_logp_grad_batch(xs, params, grad_out, lp_out):
    """Every row of ``xs`` (n, d k): blocks of ``LANES`` rows, one block per ``prange`` task."""
    for b in prange((xs.shape[0] + LANES - 1) // LANES):
        _completion_block(xs, params, grad_out, lp_out, np.int64(b) * LANES)


def best_ms(run, n, repeats=3):
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        for _ in range(n):
            run()
        times.append((time.perf_counter() - tic) / n)
    return 1e3 * min(times)


def main():
    problem, truth = synthetic_problem("completion", 2000, 5, n_observed=200_000, noise_std=1e-3,
                                       rng=0)
    rng = np.random.default_rng(1)
    print(f"samplers {samplers.__version__}, cpus={os.cpu_count()}, "
          f"{int(np.sum(problem.rows == problem.cols))} diagonal observations")
    for n in (1, 3, 8):  # 3: a padded block
        xs = truth.X.reshape(1, -1) + 0.01 * rng.standard_normal((n, problem.dim))
        grads, lps, grad = np.empty_like(xs), np.empty(n), np.empty(problem.dim)
        completion_logp_grad_batch(xs, problem.params, grads, lps)
        same = all(np.isclose(problem.logp_grad(xs[c], problem.params, grad), lps[c], rtol=1e-12)
                   and np.allclose(grad, grads[c], rtol=1e-12, atol=1e-12 * np.abs(grad).max())
                   for c in range(n))
        print(f"n={n}: batched == per point, to rounding: {same}")

    batched = samplers.Target(problem.logp_grad, problem.shape, problem.params, name="X",
                              batch_logp_grad=completion_logp_grad_batch)
    with OtherLoad() as load:
        xs = truth.X.reshape(1, -1) + 0.01 * rng.standard_normal((8, problem.dim))
        grads, lps, grad = np.empty_like(xs), np.empty(8), np.empty(problem.dim)
        for _ in range(2):  # interleaved
            one = best_ms(lambda: [problem.logp_grad(xs[c], problem.params, grad)
                                   for c in range(8)], 5)
            many = best_ms(lambda: completion_logp_grad_batch(xs, problem.params, grads, lps), 5)
            print(f"8 points: one by one (one thread) {one:.2f} ms, batched (2 threads) "
                  f"{many:.2f} ms")
        h = 1e-7
        for chains in (1, 8):
            x0 = np.stack([truth.X @ chain_rotation(5, 0, c) for c in range(chains)])
            kwargs = dict(draws=40, tune=0, chains=chains, rng=0, initial=x0, progressbar=False,
                          check_convergence=False)
            draws = {}
            for _ in range(2):  # interleaved; the first round also compiles or loads
                for name, target in (("per point", problem), ("batched", batched)):
                    idata = samplers.Langevin(step_size=h, metropolis=False).sample(target, **kwargs)
                    rate = chains * kwargs["draws"] / idata.posterior.attrs["sampling_time"]
                    draws[name] = idata.posterior["X"].values
                    print(f"ULA {chains} chain(s), {name}: {rate:,.0f} chain-steps/s, "
                          f"{rate / chains:,.0f} per chain")
            print("  draws equal to rounding:",
                  np.allclose(draws["per point"], draws["batched"], rtol=1e-9, atol=1e-12))
    print(load.report())


if __name__ == "__main__":
    main()
