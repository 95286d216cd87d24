"""Throughput of the matrix posterior samplers: sensing (1 vs 8 chains, vs BlackJAX) and completion.

What is measured (chain-steps per second, compilation excluded, best of ``--repeats``)
------------------------------------------------------------------------------------
1. Sensing, d = 50, k = 3, m = 2000 Gaussian sensing matrices (the packed
   symmetric operator is 2000 x 1275, 20 MB): MALA with a fixed step size
   (0.1 / lambda_max of the Hessian at the minimiser), started at rotations of
   the minimiser, for 1 chain and for 8 chains.  ``samplers`` evaluates the 8
   chains in one BLAS matrix product per step (``Target.batch_logp_grad``).
   The ratio ``time(8 chains) / time(1 chain)`` per step is the cost of 8
   chains in units of one (goal: at most 2).
2. The same 8-chain MALA in BlackJAX (``blackjax.mala``, ``jax.vmap`` over
   chains in ``jax.lax.scan``, ``jax.jit``, float64), log density written in
   ``jax.numpy`` on the same packed operator S (half the work of the full
   (m, d, d) array a user would write; the gradient by autodiff).  Goal:
   ``samplers`` at least 3x faster per step.  ``samplers`` uses the normal
   equations here (m > p: one p x p product per step); a second BlackJAX row
   is given the same algebra, to show how much of the gap is algebra and how
   much is the compiled loop.
3. Completion, d = 2000, k = 5, 200,000 observed entries: ULA steps per
   second per chain, 1 chain and 8 chains (chains in parallel threads).
   Goal: at least 500 steps per second per chain.

Also: the per-evaluation cost of the compiled log densities (completion one
point; sensing 8 points one by one against one batched call).

Usage (from the repository root)::

    python benchmarks/bench_matrix.py            # about a minute warm
    python benchmarks/bench_matrix.py --quick    # smoke check

BLAS threads are OpenBLAS's default (the machine's 2 cores); the machine
should otherwise be idle (``_load.py`` reports what other processes used).
"""
import argparse
import importlib.util
import os
import sys
import time

import numpy as np
from _load import OtherLoad

_spec = importlib.util.find_spec("samplers")
if _spec is None or _spec.origin is None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import samplers  # noqa: E402
from samplers.matrix import MatrixLangevin, synthetic_problem  # noqa: E402
from samplers.matrix.invariants import chain_rotation  # noqa: E402


def best(repeats, run):
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - tic)
    return min(times), result


def per_evaluation(repeats):
    problem, truth = synthetic_problem("completion", 2000, 5, n_observed=200_000, noise_std=1e-3,
                                       rng=0)
    x = truth.X.reshape(-1).copy()
    grad = np.empty_like(x)
    seconds, _ = best(repeats, lambda: [problem.logp_grad(x, problem.params, grad)
                                        for _ in range(50)])
    print(f"completion d=2000 k=5 200k obs, one evaluation: {1e3 * seconds / 50:.3f} ms")
    problem, truth = synthetic_problem("sensing", 50, 3, m=2000, noise_std=1e-2, rng=0)
    xs = truth.X.reshape(1, -1) + 0.01 * np.random.default_rng(1).standard_normal((8, 150))
    grads, lps, grad = np.empty_like(xs), np.empty(8), np.empty(150)
    one, _ = best(repeats, lambda: [problem.logp_grad(xs[c], problem.params, grad)
                                    for _ in range(20) for c in range(8)])
    batched, _ = best(repeats, lambda: [problem.batch_logp_grad(xs, problem.params, grads, lps)
                                        for _ in range(20)])
    print(f"sensing d=50 k=3 m=2000, 8 points: one by one {1e3 * one / 20:.3f} ms, "
          f"batched {1e3 * batched / 20:.3f} ms")


def start_points(X0, chains, seed=0):
    return np.stack([X0 @ chain_rotation(X0.shape[1], seed, c) for c in range(chains)])


def samplers_rate(problem, sampler, x0, steps, repeats):
    """Chain-steps per second of ``sampler`` from ``x0`` (chains, d, k), by ``sampling_time``."""
    def run():
        return sampler.sample(problem, draws=steps, tune=0, chains=x0.shape[0], rng=0,
                              initial=x0, progressbar=False)

    run()  # compile or load from the cache
    times, accept = [], None
    for _ in range(repeats):
        idata = run()
        times.append(idata.posterior.attrs["sampling_time"])
        if "acceptance_rate" in idata.sample_stats:
            accept = float(idata.sample_stats["acceptance_rate"].mean())
    return x0.shape[0] * steps / min(times), accept


def blackjax_rate(problem, step_size, x0, steps, repeats, normal_equations=False):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import blackjax  # noqa: F401 - only to skip cleanly when it is not installed
        import jax.numpy as jnp
    except ImportError as err:
        print(f"note: BlackJAX skipped ({err}); pip install jax blackjax")
        return None, None
    d, k = problem.d, problem.rank
    s_packed = jnp.asarray(problem.s_packed)
    b = jnp.asarray(problem.b)
    iu, ju = np.triu_indices(d)
    beta = problem.beta

    gram, c, bb = (jnp.asarray(a) for a in problem.params[:3])

    def logdensity(x):
        X = x.reshape(d, k)
        z = jnp.sum(X[iu] * X[ju], axis=1)          # packed upper triangle of X X^T
        if normal_equations:                        # samplers' own algebra, for reference
            return -beta * (z @ (gram @ z - 2.0 * c) + bb[0])
        r = s_packed @ z - b
        return -beta * jnp.sum(r * r)

    # The same density as the compiled one (no shared code).
    value = float(jax.jit(logdensity)(jnp.asarray(x0[0].reshape(-1))))
    reference = problem.logp_and_grad(x0[0])[0]
    assert abs(value - reference) <= 1e-9 * abs(reference) + 1e-9, (value, reference)

    from _blackjax import mala_runner

    seconds, (_, accept) = best(repeats, mala_runner(logdensity, step_size, x0, steps, seed=0))
    return x0.shape[0] * steps / seconds, float(np.mean(accept))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sensing_steps, completion_steps = (50, 20) if args.quick else (400, 200)
    repeats = 1 if args.quick else args.repeats
    print(f"samplers {samplers.__version__}, cpus={os.cpu_count()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    with OtherLoad() as load:
        per_evaluation(repeats)

        problem, _ = synthetic_problem("sensing", 50, 3, m=2000, noise_std=0.01, rng=0)
        X0 = problem.minimize()
        h = 0.1 / problem.hessian_max_eig(X0)
        mala = samplers.Langevin(step_size=h, metropolis=True)
        x8 = start_points(X0, 8)
        one, acc1 = samplers_rate(problem, mala, x8[:1], sensing_steps, repeats)
        eight, acc8 = samplers_rate(problem, mala, x8, sensing_steps, repeats)
        jax_rate, acc_jax = blackjax_rate(problem, h, x8, sensing_steps, repeats)
        jax_normal, acc_jax_normal = blackjax_rate(problem, h, x8, sensing_steps, repeats,
                                                   normal_equations=True)

        completion, _ = synthetic_problem("completion", 2000, 5, n_observed=200_000,
                                          noise_std=1e-3, rng=0)
        C0 = completion.minimize()
        hc = MatrixLangevin().default_step_size(completion, C0)
        c8 = start_points(C0, 8)
        c_one, _ = samplers_rate(completion, samplers.Langevin(step_size=hc), c8[:1],
                                 completion_steps, repeats)
        c_eight, _ = samplers_rate(completion, samplers.Langevin(step_size=hc), c8,
                                   completion_steps, repeats)
    print()
    print("| case | chain-steps/s | steps/s per chain | mean acceptance |")
    print("|---|---:|---:|---:|")
    print(f"| sensing MALA, samplers, 1 chain | {one:,.0f} | {one:,.0f} | {acc1:.3f} |")
    print(f"| sensing MALA, samplers, 8 chains | {eight:,.0f} | {eight / 8:,.0f} | {acc8:.3f} |")
    if jax_rate is not None:
        print(f"| sensing MALA, BlackJAX, 8 chains | {jax_rate:,.0f} | {jax_rate / 8:,.0f} | "
              f"{acc_jax:.3f} |")
        print(f"| sensing MALA, BlackJAX, 8 chains, given samplers' normal equations | "
              f"{jax_normal:,.0f} | {jax_normal / 8:,.0f} | {acc_jax_normal:.3f} |")
    print(f"| completion ULA, samplers, 1 chain | {c_one:,.0f} | {c_one:,.0f} | |")
    print(f"| completion ULA, samplers, 8 chains | {c_eight:,.0f} | {c_eight / 8:,.0f} | |")
    print()
    cost = (8 / eight) / (1 / one)
    print(f"sensing: one step of 8 chains costs {cost:.2f} x one step of 1 chain (goal <= 2)")
    if jax_rate is not None:
        print(f"sensing, 8 chains: samplers / BlackJAX = {eight / jax_rate:.1f}x (goal >= 3)")
    print(f"completion: {c_one:,.0f} steps/s with 1 chain, {c_eight / 8:,.0f} per chain with 8 "
          "(goal >= 500 per chain)")
    print(load.report())


if __name__ == "__main__":
    main()
