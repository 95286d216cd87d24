"""Command line: ``python -m samplers demo`` (also the ``samplers`` console script).

The demo samples a well-separated 2-D Gaussian mixture with unequal weights
twice, from the same start in its lightest mode: MALA stays in that mode;
simulated tempering visits every mode in proportion to its weight.
"""
import argparse
import sys
import time

import numpy as np

__all__ = ["main", "demo", "demo_target"]

DEMO_WEIGHTS = [0.1, 0.2, 0.3, 0.4]


def demo_target():
    """Four 2-D Gaussians 18 apart (about 15 of the widest standard deviations)."""
    import samplers

    means = [[0.0, 0.0], [18.0, 0.0], [0.0, 18.0], [18.0, 18.0]]
    return samplers.GaussianMixture(means, covs=[0.5, 1.0, 0.7, 1.5], weights=DEMO_WEIGHTS)


def _occupancy(target, idata):
    draws = idata.posterior["x"].values.reshape(-1, target.dim)
    return np.bincount(target.component_of(draws), minlength=target.n_components) / len(draws)


def demo(out="samplers-demo.png", draws=20000, chains=4, seed=0, progressbar=True):
    """Run the demo, print the summaries, save the figure; return (MALA, ST) results and the path."""
    import samplers
    from samplers.inference_data import arviz

    target = demo_target()
    start = target.means[0]
    print("Target: 2-D Gaussian mixture, weights", DEMO_WEIGHTS, "modes 18 apart")
    print(f"Both samplers start in the lightest mode {start.tolist()}; {chains} chains x {draws} draws, "
          f"seed {seed}\n")
    results = {}
    for label, sampler in (("MALA", samplers.Langevin(metropolis=True)),
                           ("SimulatedTempering", samplers.SimulatedTempering())):
        tic = time.perf_counter()
        results[label] = sampler.sample(target, draws=draws, tune=3000, chains=chains, rng=seed,
                                        initial=start, progressbar=progressbar)
        occupancy = _occupancy(target, results[label])
        tv = 0.5 * np.abs(occupancy - target.weights).sum()
        print(f"{label}: mode occupancy {np.round(occupancy, 3).tolist()}  "
              f"(exact {DEMO_WEIGHTS}), total variation {tv:.3f}, {time.perf_counter() - tic:.1f} s")
    az = arviz()
    st = results["SimulatedTempering"]
    print("\nArviZ summary of the simulated tempering draws:")
    print(az.summary(st, var_names=["x"]).to_string())
    print()
    print(samplers.tempering_summary(st))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from samplers.plots import plot_density_and_draws, plot_level_trace

    fig, axes = plt.subplots(2, 2, figsize=(11, 9))
    bounds = (-4, 23, -4, 23)
    for ax, label in zip(axes[0], results):
        plot_density_and_draws(target, results[label].posterior["x"].values, ax, bounds=bounds)
        ax.set_title(f"{label} from the 0.1 mode")
    plot_level_trace(st, axes[1, 0], chains=[0], first=3000)
    axes[1, 0].set_title("Simulated tempering: level of chain 0 (first 3,000 steps)")
    width = 0.27
    k = np.arange(target.n_components)
    axes[1, 1].bar(k - width, target.weights, width, label="exact", color="0.6")
    for i, label in enumerate(results):
        axes[1, 1].bar(k + i * width, _occupancy(target, results[label]), width, label=label)
    axes[1, 1].set_xticks(k)
    axes[1, 1].set_xlabel("mode")
    axes[1, 1].set_ylabel("weight")
    axes[1, 1].legend()
    axes[1, 1].set_title("Mode weights")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"\nfigure written to {out}")
    print("\nMore: posteriors of low-rank matrices (samplers.matrix.MatrixLangevin) in "
          "examples/matrix_sensing.py and examples/matrix_completion.py; mixing time against "
          "separation and ladder size (samplers.mixing) in examples/temperature_ladders.py.")
    return results, out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="samplers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="Langevin vs simulated tempering on a separated mixture")
    p.add_argument("--out", default="samplers-demo.png", help="figure path (PNG)")
    p.add_argument("--draws", type=int, default=20000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.out, args.draws, args.chains, args.seed, progressbar=not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
