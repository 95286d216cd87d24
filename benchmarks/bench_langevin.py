"""Throughput of MALA on a 10-D, 4-component Gaussian mixture: samplers vs NumPy vs BlackJAX.

What is measured
----------------
Chain-steps per second ("draws/s": one chain advanced by one MALA step) for
the same Markov chain run three ways, in one process:

a. ``samplers``: ``Langevin(step_size=h, metropolis=True).sample(target,
   draws=N, tune=0, chains=8, rng=0, initial=x0, progressbar=False)``.  Two
   timings: ``idata.posterior.attrs["sampling_time"]`` (the compiled sampling
   loop only) and the wall time of the whole ``sample()`` call (validation,
   set-up, the ArviZ ``InferenceData`` and the convergence checks), also
   with ``check_convergence=False``.  A row with one numba thread is a
   diagnostic.
b. NumPy: a MALA written here, vectorised over the 8 chains (arrays of shape
   ``(8, 10)``); the mixture's log density and gradient are a log-sum-exp over
   components with batched ``matmul``/``einsum``, vectorised over chains and
   components.
c. BlackJAX: ``blackjax.mala`` with the log density written in ``jax.numpy``
   (gradient by autodiff), ``jax.vmap`` over chains inside ``jax.lax.scan``
   over steps, ``jax.jit``-compiled, float64.  Skipped with a note when
   ``import blackjax`` fails.

Every implementation does identical work: the same target (built
deterministically from ``--seed``), the same 8 initial points, the same fixed
step size (no tuning, no warm-up steps), the same number of steps, and each
records every position and acceptance probability.  Each is first run once
untimed (compilation/JIT and caches excluded), then timed with
``time.perf_counter`` ``--repeats`` times; the best time is reported.  JAX
work is timed up to ``block_until_ready()``.

As a sanity check that all three run the same chain, the script checks that
the NumPy and JAX log densities and gradients match the compiled target at a
few points and prints each implementation's mean acceptance probability
(equal in distribution, so they should agree to within Monte Carlo error).

Usage (from the repository root)::

    python benchmarks/bench_langevin.py               # 20,000 steps x 8 chains, best of 3
    python benchmarks/bench_langevin.py --quick       # smoke check: 1,000 steps, best of 2
    python benchmarks/bench_langevin.py --steps 50000 --repeats 5

``samplers`` is imported from ``PYTHONPATH`` when it is there, else from this
checkout.  The machine should be otherwise idle: the script reports the CPU
time other processes used during the measurements (``_load.py``).
"""
import argparse
import importlib.util
import os
import platform
import sys
import time
import warnings

import numpy as np
from _load import OtherLoad

# Benchmark the samplers on PYTHONPATH if there is one (e.g. a snapshot of a
# commit: see README.md), otherwise this checkout, installed or not.
_spec = importlib.util.find_spec("samplers")
if _spec is None or _spec.origin is None:  # absent, or only a stray namespace directory
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DIM = 10
N_COMPONENTS = 4
CHAINS = 8
STEP_SIZE = 0.1


# --------------------------------------------------------------------------- target


def mixture_spec(seed, dim=DIM, n_components=N_COMPONENTS):
    """Means, full covariances and unequal weights of the benchmark mixture, from ``seed``.

    Means are spread with scale 3 (well separated modes); each covariance is
    ``Q diag(v) Q^T`` with a random rotation ``Q`` and variances ``v`` in
    [0.5, 2], so the components are correlated but not ill-conditioned.
    """
    rng = np.random.default_rng(seed)
    means = 3.0 * rng.standard_normal((n_components, dim))
    covs = np.empty((n_components, dim, dim))
    for k in range(n_components):
        q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        covs[k] = (q * rng.uniform(0.5, 2.0, size=dim)) @ q.T
    weights = np.array([0.1, 0.2, 0.3, 0.4])[:n_components]
    weights = weights / weights.sum()
    return means, covs, weights


def initial_points(seed, chains=CHAINS, dim=DIM):
    """Common initial points, uniform on [-2, 2]^dim (``samplers``' default law)."""
    return np.random.default_rng([seed, 1]).uniform(-2.0, 2.0, size=(chains, dim))


def mixture_arrays(means, covs, weights):
    """``(means, U, log_coef)``: ``U_k`` lower triangular with ``U_k^T U_k = S_k^{-1}``
    and ``log_coef_k = log w_k - d/2 log(2 pi) + log det U_k``, so that
    ``log p(x) = logsumexp_k(log_coef_k - |U_k (x - m_k)|^2 / 2)``."""
    dim = means.shape[1]
    chol_prec = np.tril(np.linalg.inv(np.linalg.cholesky(covs)))
    log_det = np.sum(np.log(np.diagonal(chol_prec, axis1=1, axis2=2)), axis=1)
    log_coef = np.log(weights) - 0.5 * dim * np.log(2.0 * np.pi) + log_det
    return means, chol_prec, log_coef


# --------------------------------------------------------------------------- NumPy


class NumpyMixture:
    """Log density and gradient of the mixture, vectorised over chains and components.

    Written for speed at this small size (a few microseconds per NumPy call):
    batched ``matmul`` rather than ``einsum(..., optimize=True)``, whose path
    search alone costs more than the arithmetic here.
    """

    def __init__(self, means, covs, weights):
        self.means, self.chol_prec, self.log_coef = mixture_arrays(means, covs, weights)
        k, d, _ = self.chol_prec.shape
        # U stacked as a (k d, d) matrix: grad_i = -sum_{k,j} r_k z_kj U_kji is one matmul.
        self._chol_prec_stacked = self.chol_prec.reshape(k * d, d)

    def logp_grad(self, x):
        """``x`` (chains, d) -> log p (chains,), grad log p (chains, d)."""
        chains = x.shape[0]
        diff = x[:, None, :] - self.means                             # (c, k, d)
        z = np.matmul(self.chol_prec, diff[..., None])[..., 0]        # U_k (x - m_k)
        q = self.log_coef - 0.5 * np.einsum("cki,cki->ck", z, z)      # (c, k)
        top = q.max(axis=1, keepdims=True)
        e = np.exp(q - top)
        total = e.sum(axis=1, keepdims=True)
        logp = (top + np.log(total))[:, 0]
        resp = e / total                                              # responsibilities
        grad = -((z * resp[..., None]).reshape(chains, -1) @ self._chol_prec_stacked)
        return logp, grad


def numpy_mala(model, x0, steps, step_size, seed):
    """MALA on all chains at once; returns positions (steps, c, d) and acceptance probs (steps, c).

    The random numbers of the whole run are drawn up front (two NumPy calls
    instead of two per step); the forward proposal residual
    ``y - x - h grad(x)`` is exactly ``sqrt(2h) xi``.
    """
    rng = np.random.default_rng(seed)
    h = step_size
    scale = np.sqrt(2.0 * h)
    x = x0.copy()
    lp, grad = model.logp_grad(x)
    chains, dim = x.shape
    noise = scale * rng.standard_normal((steps, chains, dim))
    log_u = np.log(rng.random((steps, chains)))
    out_x = np.empty((steps, chains, dim))
    out_accept = np.empty((steps, chains))
    for s in range(steps):
        y = x + h * grad + noise[s]
        lp_y, grad_y = model.logp_grad(y)
        backward = noise[s] + h * (grad + grad_y)      # -(x - y - h grad(y))
        log_alpha = lp_y - lp + (np.einsum("cd,cd->c", noise[s], noise[s])
                                 - np.einsum("cd,cd->c", backward, backward)) / (4.0 * h)
        log_alpha = np.minimum(log_alpha, 0.0)
        accept = log_u[s] < log_alpha
        x = np.where(accept[:, None], y, x)
        grad = np.where(accept[:, None], grad_y, grad)
        lp = np.where(accept, lp_y, lp)
        out_x[s] = x
        out_accept[s] = np.exp(log_alpha)
    return out_x, out_accept


# --------------------------------------------------------------------------- runners


def best_of(repeats, run):
    """Call ``run()`` ``repeats`` times and keep the fastest.

    ``run()`` returns ``(seconds, result)``; the process CPU time of each call
    is recorded too, so ``cpu / seconds`` tells how many cores were busy.
    """
    best = None
    for _ in range(repeats):
        cpu = time.process_time()
        seconds, result = run()
        cpu = time.process_time() - cpu
        if best is None or seconds < best[0]:
            best = (seconds, cpu, result)
    return best


def bench_samplers(spec, x0, steps, repeats):
    """Rows for ``samplers``: the compiled loop's own time and the whole ``sample()`` call,
    plus a diagnostic row with one numba thread (not used for the goals)."""
    import numba

    import samplers

    target = samplers.GaussianMixture(*spec)
    sampler = samplers.Langevin(step_size=STEP_SIZE, metropolis=True)

    def sample(draws, check=True):
        with warnings.catch_warnings():
            # A fixed-step run of a 4-mode mixture: the checks rightly fail; not the point here.
            warnings.simplefilter("ignore", samplers.convergence.ConvergenceWarning)
            return sampler.sample(target, draws=draws, tune=0, chains=x0.shape[0], rng=0,
                                  initial=x0, progressbar=False, check_convergence=check)

    sample(min(steps, 100))  # warm-up: compile or load from the numba cache, import ArviZ

    def timed_runs(check=True):
        """Best ``sampling_time`` and best (wall, CPU) of the whole call over ``repeats``."""
        inner, outer = [], []
        for _ in range(repeats):
            cpu, tic = time.process_time(), time.perf_counter()
            idata = sample(steps, check)
            outer.append((time.perf_counter() - tic, time.process_time() - cpu))
            inner.append(idata.posterior.attrs["sampling_time"])
        accept = float(idata.sample_stats["acceptance_rate"].mean())
        return min(inner), min(outer), accept

    inner, (wall, cpu), accept = timed_runs()
    _, (wall_unchecked, cpu_unchecked), _ = timed_runs(check=False)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        inner_1, (wall_1, cpu_1), accept_1 = timed_runs()
    finally:
        numba.set_num_threads(threads)
    return [
        dict(name="samplers (sampling_time)", seconds=inner, cpu=None, accept=accept),
        dict(name="samplers (sample() wall)", seconds=wall, cpu=cpu, accept=accept),
        dict(name="samplers (sample() wall, check_convergence=False)", seconds=wall_unchecked,
             cpu=cpu_unchecked, accept=accept),
        dict(name="samplers, 1 thread (sampling_time) [diagnostic]", seconds=inner_1, cpu=None,
             accept=accept_1),
    ], target


def bench_numpy(spec, x0, steps, repeats, seed):
    model = NumpyMixture(*spec)
    numpy_mala(model, x0, min(steps, 100), STEP_SIZE, seed)  # warm-up

    def run():
        tic = time.perf_counter()
        result = numpy_mala(model, x0, steps, STEP_SIZE, seed)
        return time.perf_counter() - tic, result

    seconds, cpu, (_, accept) = best_of(repeats, run)
    return dict(name="NumPy (vectorised)", seconds=seconds, cpu=cpu,
                accept=float(accept.mean())), model


def bench_blackjax(spec, x0, steps, repeats, seed):
    """BlackJAX MALA, or ``(None, None)`` with a printed note when it cannot be imported."""
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import blackjax  # noqa: F401 - only to skip cleanly when it is not installed
        import jax.numpy as jnp
        from jax.scipy.special import logsumexp
    except ImportError as err:
        print(f"note: BlackJAX skipped ({err}); install the 'bench' extra: pip install jax blackjax")
        return None, None

    means, chol_prec, log_coef = (jnp.asarray(a) for a in mixture_arrays(*spec))

    def logdensity(x):
        z = jnp.einsum("kij,kj->ki", chol_prec, x - means)
        return logsumexp(log_coef - 0.5 * jnp.sum(z * z, axis=-1))

    from _blackjax import mala_runner

    run_chains = mala_runner(logdensity, STEP_SIZE, x0, steps, seed)

    def run():
        tic = time.perf_counter()
        result = run_chains()
        return time.perf_counter() - tic, result

    seconds, cpu, (_, accept) = best_of(repeats, run)
    checker = jax.jit(jax.value_and_grad(logdensity))
    return dict(name="BlackJAX (jit, vmap, scan)", seconds=seconds, cpu=cpu,
                accept=float(np.mean(accept))), checker


def check_densities(target, numpy_model, jax_value_and_grad, spec, seed):
    """Both reimplementations must match the compiled target (they share no code with it)."""
    points = np.random.default_rng([seed, 2]).uniform(-4.0, 4.0, size=(5, DIM))
    points[0] = spec[0][0]  # a mode
    lp_np, grad_np = numpy_model.logp_grad(points)
    for i, point in enumerate(points):
        lp, grad = target.logp_and_grad(point)
        np.testing.assert_allclose(lp_np[i], lp, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(grad_np[i], grad, rtol=1e-8, atol=1e-10)
        if jax_value_and_grad is not None:
            lp_j, grad_j = jax_value_and_grad(point)
            np.testing.assert_allclose(float(lp_j), lp, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(np.asarray(grad_j), grad, rtol=1e-8, atol=1e-10)


# --------------------------------------------------------------------------- report


def versions():
    import numba

    import samplers

    parts = [f"samplers {samplers.__version__} from {os.path.dirname(samplers.__file__)}",
             f"python {platform.python_version()}", f"numpy {np.__version__}",
             f"numba {numba.__version__} ({numba.get_num_threads()} threads)"]
    try:
        import blackjax
        import jax

        parts += [f"jax {jax.__version__} ({jax.devices()[0].platform})",
                  f"blackjax {blackjax.__version__}"]
    except ImportError:
        pass
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000, help="MALA steps per chain")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--chains", type=int, default=CHAINS)
    parser.add_argument("--seed", type=int, default=2024, help="seed of the target and starts")
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: 1,000 steps, best of 2")
    parser.add_argument("--no-blackjax", action="store_true", help="skip BlackJAX")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeats = 1_000, 2

    spec = mixture_spec(args.seed)
    x0 = initial_points(args.seed, args.chains)
    print(f"MALA, {DIM}-D mixture of {N_COMPONENTS} full-covariance Gaussians, "
          f"{args.chains} chains x {args.steps:,} steps, step size {STEP_SIZE}, "
          f"best of {args.repeats}")
    print(versions())

    with OtherLoad() as load:
        rows, target = bench_samplers(spec, x0, args.steps, args.repeats)
        row, numpy_model = bench_numpy(spec, x0, args.steps, args.repeats, args.seed)
        rows.append(row)
        jax_check = None
        if not args.no_blackjax:
            row, jax_check = bench_blackjax(spec, x0, args.steps, args.repeats, args.seed)
            if row is not None:
                rows.append(row)
    check_densities(target, numpy_model, jax_check, spec, args.seed)
    print("log densities and gradients of NumPy"
          + (" and JAX" if jax_check is not None else "") + " match the compiled target")
    print(load.report())

    chain_steps = args.chains * args.steps
    print()
    print("| implementation | best time (s) | draws/s (chain-steps/s) | cores busy (CPU/wall) "
          "| mean acceptance |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        cores = "" if r["cpu"] is None else f"{r['cpu'] / r['seconds']:.1f}"
        print(f"| {r['name']} | {r['seconds']:.4f} | {chain_steps / r['seconds']:,.0f} "
              f"| {cores} | {r['accept']:.3f} |")

    inner, wall, unchecked = rows[0]["seconds"], rows[1]["seconds"], rows[2]["seconds"]
    print()
    print("| speed-up of samplers (same run) | using sampling_time | using sample() wall "
          "| sample() wall without checks |")
    print("|---|---:|---:|---:|")
    for r in rows[4:]:
        other = r["name"].split(" ")[0]
        print(f"| samplers / {other} | {r['seconds'] / inner:.1f}x "
              f"| {r['seconds'] / wall:.1f}x | {r['seconds'] / unchecked:.1f}x |")

    accepts = [r["accept"] for r in rows]
    spread = max(accepts) - min(accepts)
    print()
    print(f"acceptance spread across implementations: {spread:.3f}"
          + ("" if spread < 0.05 else "  (WARNING: more than 0.05; check the implementations)"))


if __name__ == "__main__":
    main()
