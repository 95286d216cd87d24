"""Throughput of the matrix posterior samplers: sensing (1 vs 8 chains, vs BlackJAX) and completion.

What is measured (chain-steps per second, compilation excluded, best of ``--repeats``)
------------------------------------------------------------------------------------
1. Sensing, d = 50, k = 3, m = 2000 Gaussian sensing matrices (the packed
   symmetric operator is 2000 x 1275, 20 MB): MALA with a fixed step size
   (0.1 / lambda_max of the Hessian at the minimiser), started at rotations of
   the minimiser, for 1, 4 (the default) and 8 chains.  ``samplers`` evaluates the 8
   chains in one matrix product per step (``Target.batch_logp_grad``), the chains
   as the lanes of one vector register, from the upper triangle of the Gram matrix
   in two parts on two threads (``kernels._symmetric_parts``;
   ``bench_gram_product.py`` times it against the BLAS).
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
   Goal (issue 15): at least 1500 steps per second with one chain.
4. Rank-one (quadratic) sensing, d = 1000, k = 5, m = 20,000 measurement
   vectors (``Sensing.rank_one``, 160 MB): MALA with 8 chains (and 1), all
   chains in one fused pass over the vectors per step, 2 * 8 * m * d * k
   multiply-adds; BlackJAX's 8-chain MALA on the same operator (log density
   in ``jax.numpy``, gradient by autodiff).  Goal: at least 70% of the two
   cores' FMA peak, and the dense sensing case's 8 chains too (8 p^2
   multiply-adds per step through the normal equations, p = d(d+1)/2).
   Beside each fraction, the rate of NumPy's BLAS alone on the products one
   step makes (same shapes): what any algorithm built on those products can
   reach, and the step's fraction of it.

The FMA peak: the nominal figure of the machine these goals were set on
(2 AMD EPYC cores x 2 FMA units x 4 doubles x 2.6 GHz = 41.6 G/s) when the
CPU is that one, and in any case the measured one, the best rate of a
3000 x 3000 DGEMM through NumPy's BLAS (its own threads): both fractions are
printed.

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
from _load import OtherLoad, cpu_name

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


#: Nominal FMA peak of the 2-core AMD EPYC of issues 4 and 15 (multiply-adds per second).
NOMINAL_PEAK = 2 * 2 * 4 * 2.6e9


def measured_peak(repeats, n=3000):
    """Multiply-adds per second of the best of ``repeats`` n x n DGEMMs (NumPy's BLAS)."""
    a = np.random.default_rng(0).standard_normal((n, n))
    a @ a
    seconds, _ = best(max(repeats, 3), lambda: a @ a)
    return n ** 3 / seconds


def shape_rate(products, repeats):
    """Multiply-adds per second of NumPy's BLAS on ``products`` (a list of operand pairs):
    the best of ``repeats`` runs of all of them.  Given the products one step makes, this is
    what the BLAS itself reaches on those shapes, the bound for any algorithm built on them."""
    fma = sum(a.shape[0] * a.shape[1] * b.shape[1] for a, b in products)
    for a, b in products:
        a @ b
    seconds, _ = best(max(repeats, 3), lambda: [a @ b for a, b in products])
    return fma / seconds


def stream_rate(matrix, repeats):
    """Bytes per second at which NumPy's BLAS streams ``matrix`` through a matrix-vector
    product (one multiply-add per element read): the memory bound of any product that
    must read it once, at ``chains`` multiply-adds per element, ``chains / 8`` per byte."""
    v = np.ones(matrix.shape[1])
    matrix @ v
    seconds, _ = best(max(repeats, 3) * 20, lambda: matrix @ v)
    return matrix.nbytes / seconds


def rank_one_blackjax_rate(problem, step_size, x0, steps, repeats):
    """BlackJAX's 8-chain MALA on the rank-one operator: log density in ``jax.numpy``
    (Y = a X, r = rowsum(Y * Y) - b), gradient by autodiff."""
    jnp = _jax_numpy()
    if jnp is None:
        return None, None
    d, k = problem.d, problem.rank
    a = jnp.asarray(problem.u)
    b = jnp.asarray(problem.b)
    beta = problem.beta

    def logdensity(x):
        Y = a @ x.reshape(d, k)
        r = jnp.sum(Y * Y, axis=1) - b
        return -beta * jnp.sum(r * r)

    return _blackjax_rate(problem, logdensity, step_size, x0, steps, repeats)


def start_points(X0, chains, seed=0):
    return np.stack([X0 @ chain_rotation(X0.shape[1], seed, c) for c in range(chains)])


def samplers_rate(problem, sampler, x0, steps, repeats):
    """Chain-steps per second of ``sampler`` from ``x0`` (chains, d, k), by ``sampling_time``."""
    def run():
        return sampler.sample(problem, draws=steps, tune=0, chains=x0.shape[0], rng=0,
                              initial=x0, progressbar=False, check_convergence=False)

    run()  # compile or load from the cache
    times, accept = [], None
    for _ in range(repeats):
        idata = run()
        times.append(idata.posterior.attrs["sampling_time"])
        if "acceptance_rate" in idata.sample_stats:
            accept = float(idata.sample_stats["acceptance_rate"].mean())
    return x0.shape[0] * steps / min(times), accept


def _jax_numpy():
    """``jax.numpy`` in float64, or ``None`` (with a note) when jax or BlackJAX is missing."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import blackjax  # noqa: F401 - only to skip cleanly when it is not installed
        import jax.numpy as jnp
    except ImportError as err:
        print(f"note: BlackJAX skipped ({err}); pip install jax blackjax")
        return None
    return jnp


def _blackjax_rate(problem, logdensity, step_size, x0, steps, repeats):
    """Chain-steps per second and mean acceptance of BlackJAX's MALA on ``logdensity``,
    checked first against the compiled log density at ``x0[0]`` (no shared code)."""
    import jax

    value = float(jax.jit(logdensity)(np.asarray(x0[0].reshape(-1))))
    reference = problem.logp_and_grad(x0[0])[0]
    assert abs(value - reference) <= 1e-9 * abs(reference) + 1e-9, (value, reference)

    from _blackjax import mala_runner

    seconds, (_, accept) = best(repeats, mala_runner(logdensity, step_size, x0, steps, seed=0))
    return x0.shape[0] * steps / seconds, float(np.mean(accept))


def blackjax_rate(problem, step_size, x0, steps, repeats, normal_equations=False):
    jnp = _jax_numpy()
    if jnp is None:
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

    return _blackjax_rate(problem, logdensity, step_size, x0, steps, repeats)


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
        four, acc4 = samplers_rate(problem, mala, x8[:4], sensing_steps, repeats)
        eight, acc8 = samplers_rate(problem, mala, x8, sensing_steps, repeats)
        jax_rate, acc_jax = blackjax_rate(problem, h, x8, sensing_steps, repeats)
        jax_normal, acc_jax_normal = blackjax_rate(problem, h, x8, sensing_steps, repeats,
                                                   normal_equations=True)

        r1, _ = synthetic_problem("sensing", 1000, 5, m=20_000, noise_std=0.01,
                                  operator="rank_one", rng=0)
        R0 = r1.minimize(max_iter=200)
        hr = 0.1 / r1.hessian_max_eig(R0)
        r8 = start_points(R0, 8)
        rank_steps = 5 if args.quick else 20
        r_mala = samplers.Langevin(step_size=hr, metropolis=True)
        r_one, r_acc1 = samplers_rate(r1, r_mala, r8[:1], rank_steps, repeats)
        r_eight, r_acc8 = samplers_rate(r1, r_mala, r8, rank_steps, repeats)
        r_jax, r_acc_jax = rank_one_blackjax_rate(r1, hr, r8, rank_steps, repeats)
        peak = measured_peak(repeats)
        # The BLAS on the very products of one 8-chain step: X_cat^T U^T and W^T U
        # (rank-one, (40 x 1000)(1000 x 20000) and (40 x 20000)(20000 x 1000)); Z G
        # (dense, normal equations, (8 x 1275)(1275 x 1275)).
        rng = np.random.default_rng(1)
        xt = rng.standard_normal((8 * r1.rank, r1.d))
        wt = rng.standard_normal((8 * r1.rank, r1.u.shape[0]))
        rank_shape = shape_rate([(xt, r1.u.T), (wt, r1.u)], repeats)
        gram = problem.params[0]
        dense_shape = shape_rate([(rng.standard_normal((8, gram.shape[0])), gram)], repeats)
        dense_stream = stream_rate(gram, repeats)

        completion, _ = synthetic_problem("completion", 2000, 5, n_observed=200_000,
                                          noise_std=1e-3, rng=0)
        C0 = completion.minimize()
        hc = MatrixLangevin().default_step_size(completion, C0)
        c8 = start_points(C0, 8)
        c_one, _ = samplers_rate(completion, samplers.Langevin(step_size=hc, metropolis=False), c8[:1],
                                 completion_steps, repeats)
        c_eight, _ = samplers_rate(completion, samplers.Langevin(step_size=hc, metropolis=False), c8,
                                   completion_steps, repeats)
    print()
    print("| case | chain-steps/s | steps/s per chain | mean acceptance |")
    print("|---|---:|---:|---:|")
    print(f"| sensing MALA, samplers, 1 chain | {one:,.0f} | {one:,.0f} | {acc1:.3f} |")
    print(f"| sensing MALA, samplers, 4 chains (the default) | {four:,.0f} | {four / 4:,.0f} | "
          f"{acc4:.3f} |")
    print(f"| sensing MALA, samplers, 8 chains | {eight:,.0f} | {eight / 8:,.0f} | {acc8:.3f} |")
    if jax_rate is not None:
        print(f"| sensing MALA, BlackJAX, 8 chains | {jax_rate:,.0f} | {jax_rate / 8:,.0f} | "
              f"{acc_jax:.3f} |")
        print(f"| sensing MALA, BlackJAX, 8 chains, given samplers' normal equations | "
              f"{jax_normal:,.0f} | {jax_normal / 8:,.0f} | {acc_jax_normal:.3f} |")
    print(f"| completion ULA, samplers, 1 chain | {c_one:,.0f} | {c_one:,.0f} | |")
    print(f"| completion ULA, samplers, 8 chains | {c_eight:,.0f} | {c_eight / 8:,.0f} | |")
    print(f"| rank-one sensing MALA, samplers, 1 chain | {r_one:,.1f} | {r_one:,.1f} | {r_acc1:.3f} |")
    print(f"| rank-one sensing MALA, samplers, 8 chains | {r_eight:,.1f} | {r_eight / 8:,.1f} | "
          f"{r_acc8:.3f} |")
    if r_jax is not None:
        print(f"| rank-one sensing MALA, BlackJAX, 8 chains | {r_jax:,.1f} | {r_jax / 8:,.1f} | "
              f"{r_acc_jax:.3f} |")
    print()
    d1, k1, m1 = r1.d, r1.rank, r1.m
    p = problem.s_packed.shape[1]
    flops = {"rank-one sensing, 8 chains": (2 * 8 * m1 * d1 * k1, r_eight / 8, rank_shape),
             "rank-one sensing, 1 chain": (2 * m1 * d1 * k1, r_one, None),
             "dense sensing, 8 chains (normal equations)": (8 * p * p, eight / 8, dense_shape)}
    nominal = "AMD EPYC" in cpu_name()
    print(f"CPU: {cpu_name()}; measured DGEMM peak {peak / 1e9:.1f} GFMA/s"
          + (f", nominal {NOMINAL_PEAK / 1e9:.1f}" if nominal else
             " (the nominal 41.6 G/s is for the 2-core AMD EPYC: not this CPU)"))
    for name, (fma, steps, shape) in flops.items():
        rate = fma * steps
        line = f"{name}: {fma / 1e6:,.1f} M multiply-adds per step, {rate / 1e9:.1f} GFMA/s = " \
               f"{rate / peak:.0%} of the measured peak"
        if nominal:
            line += f", {rate / NOMINAL_PEAK:.0%} of the nominal peak"
        if shape is not None:
            line += (f"; the BLAS alone on the step's products: {shape / 1e9:.1f} GFMA/s = "
                     f"{shape / peak:.0%} of the peak, the step {rate / shape:.0%} of that")
        print(line + " (goal >= 70% of the peak for 8 chains)")
    # A product that reads the whole Gram matrix (p x p) once per step makes, with 8
    # chains, 8 multiply-adds per 8-byte element: it cannot beat the rate at which memory
    # delivers it.  samplers reads the upper triangle only (16 per element), so its
    # bound is twice that, above the peak: it is bound by the multiply-adds of one core.
    bound = dense_stream * 8 / 8
    print(f"dense sensing, 8 chains: the {problem.params[0].nbytes / 1e6:.0f} MB Gram matrix "
          f"streams at {dense_stream / 1e9:.1f} GB/s (a matrix-vector product), which bounds "
          f"a product reading all of it at {bound / 1e9:.1f} GFMA/s = {bound / peak:.0%} of "
          f"the peak (the step: {8 * p * p * eight / 8 / bound:.0%} of that) and one reading "
          f"its upper triangle at {2 * bound / peak:.0%}")
    print()
    cost = (8 / eight) / (1 / one)
    print(f"sensing: one step of 8 chains costs {cost:.2f} x one step of 1 chain (goal <= 2)")
    if jax_rate is not None:
        print(f"sensing, 8 chains: samplers / BlackJAX = {eight / jax_rate:.1f}x (goal >= 3)")
    if r_jax is not None:
        print(f"rank-one sensing, 8 chains: samplers / BlackJAX = {r_eight / r_jax:.1f}x")
    print(f"completion: {c_one:,.0f} steps/s with 1 chain (goal >= 1500), {c_eight / 8:,.0f} per "
          "chain with 8")
    print(load.report())


if __name__ == "__main__":
    main()
