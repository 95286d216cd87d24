"""Simulated tempering's ``steps_per_swap`` at equal gradient evaluations (issue 12).

What is measured
----------------
The target is the harness's T2 recipe (``../shared/bench-multimodal/targets.py``,
``make_T2``) in d = 6: K = 5 Gaussian components, means ``8 u_k`` for random unit
vectors ``u_k`` (``default_rng(1)``), rescaled so that the closest pair is at
least 8 apart, per-coordinate standard deviations uniform on [0.5, 1.5]
(``default_rng(2)``), weights 0.05/0.1/0.2/0.3/0.35.

For every ``steps_per_swap`` (default 1 2 3 5 10) and seed, ``SimulatedTempering(
steps_per_swap=k)`` runs with its other defaults (``tune=None``: the default
warm-up, which grows with ``k``), 4 chains started uniformly on [-10, 10]^6 (the
harness's ``init_positions``), one thread (``NUMBA_NUM_THREADS=1``).  The
budget is the same number of gradient evaluations for every setting: simulated
tempering evaluates one gradient per step, and a run stops when each chain has
``draws`` steps at beta = 1, so ``draws = (budget - tune) / L`` (``L`` levels;
the level walk spends ~1/L of its steps at the top) and the steps actually
made are reported.  Error: total variation between the pooled beta = 1 mode
frequencies (first half of the draws discarded, as in the harness; each draw
assigned to its most responsible component) and the exact weights.  Also
reported: CPU seconds of the ``sample`` call (``time.process_time``, one
thread: the harness's CPU clock) and round trips per chain.

Usage (from the repository root)::

    NUMBA_NUM_THREADS=1 python benchmarks/bench_steps_per_swap.py             # 5 seeds, 2 budgets
    NUMBA_NUM_THREADS=1 python benchmarks/bench_steps_per_swap.py --seeds 2 --budgets 100000
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

DIM, CHAINS = 6, 4
WEIGHTS = [0.05, 0.1, 0.2, 0.3, 0.35]


def make_target():
    """The harness's T2 construction in 6-D (see the module docstring)."""
    k = len(WEIGHTS)
    u = np.random.default_rng(1).standard_normal((k, DIM))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    means = 8.0 * u
    dmin = min(np.linalg.norm(means[i] - means[j]) for i in range(k) for j in range(i + 1, k))
    means *= max(1.0, 8.0 / dmin)
    sds = np.random.default_rng(2).uniform(0.5, 1.5, size=(k, DIM))
    return samplers.GaussianMixture(means, sds ** 2, WEIGHTS)


def initial(seed):
    """The harness's ``init_positions`` for T1/T2: uniform on [-10, 10]^d."""
    return np.random.default_rng(10_000 + seed).uniform(-10.0, 10.0, size=(CHAINS, DIM))


def run(target, k, seed, budget):
    sampler = samplers.SimulatedTempering(steps_per_swap=k)
    tune = sampler.default_tune(target)
    n_levels = sampler.ladder(target).size
    draws = max((budget - tune) // n_levels, 10)
    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = sampler.sample(target, draws=draws, chains=CHAINS, rng=seed, initial=initial(seed),
                               progressbar=False, check_convergence=False)
    cpu = time.process_time() - c0
    x = idata.posterior["x"].values
    kept = x[:, x.shape[1] // 2:].reshape(-1, DIM)
    occupancy = np.bincount(target.component_of(kept), minlength=len(WEIGHTS)) / len(kept)
    tv = 0.5 * float(np.abs(occupancy - target.weights).sum())
    t = idata.tempering
    return {"tv": tv, "cpu": cpu, "steps": float(t["steps"].values.mean()), "tune": tune,
            "round_trips": t["round_trips"].values.tolist()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100_000, 400_000],
                    help="gradient evaluations (steps) per chain, warm-up included")
    ap.add_argument("--steps-per-swap", type=int, nargs="+", default=[1, 2, 3, 5, 10])
    args = ap.parse_args()
    target = make_target()
    print(f"command: NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']} python "
          + " ".join(sys.argv))
    print(f"ladder: {samplers.SimulatedTempering().ladder(target).size} levels (default, adapted)")
    run(target, 10, 999, 20_000)   # compile / load the loop, untimed
    for budget in args.budgets:
        print(f"\nbudget {budget} gradient evaluations per chain, {args.seeds} seeds")
        print("| steps_per_swap | default tune | mean TV | max TV | seeds TV <= 0.03 | steps/chain "
              "| CPU s | round trips/chain |")
        print("|---|---|---|---|---|---|---|---|")
        for k in args.steps_per_swap:
            rows = [run(target, k, seed, budget) for seed in range(1, args.seeds + 1)]
            tv = np.array([r["tv"] for r in rows])
            trips = np.concatenate([r["round_trips"] for r in rows])
            print(f"| {k} | {rows[0]['tune']} | {tv.mean():.3f} | {tv.max():.3f} | "
                  f"{int(np.sum(tv <= 0.03))}/{len(rows)} | "
                  f"{np.mean([r['steps'] for r in rows]):.0f} | "
                  f"{np.mean([r['cpu'] for r in rows]):.2f} | {trips.min()}-{trips.max()} |",
                  flush=True)
            print("   per seed TV: " + " ".join(f"{v:.3f}" for v in tv), flush=True)


if __name__ == "__main__":
    main()
