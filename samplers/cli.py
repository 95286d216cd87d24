"""Command line: ``python -m samplers demo`` (also the ``samplers`` console script)."""
import argparse
import sys
import time

import numpy as np

__all__ = ["main", "demo"]

DEMO_MEANS = [[-2.5, 0.0], [2.5, 0.5], [0.0, 3.5]]
DEMO_COVS = [[[1.0, 0.4], [0.4, 0.8]], [[0.6, -0.2], [-0.2, 1.0]], [[0.7, 0.0], [0.0, 0.5]]]
DEMO_WEIGHTS = [0.2, 0.5, 0.3]


def demo(out="samplers-demo.png", draws=20000, chains=4, seed=0, progressbar=True):
    """Sample a 2-D Gaussian mixture with MALA, print the ArviZ summary, save a figure.

    Returns the ``InferenceData`` and the figure's path.
    """
    import samplers
    from samplers.inference_data import arviz

    target = samplers.GaussianMixture(DEMO_MEANS, DEMO_COVS, DEMO_WEIGHTS)
    sampler = samplers.Langevin(metropolis=True)
    print(f"Target: 2-D Gaussian mixture, weights {DEMO_WEIGHTS}, means {DEMO_MEANS}")
    print(f"Sampler: {sampler!r}, {chains} chains x {draws} draws, seed {seed}")
    start = time.perf_counter()
    idata = sampler.sample(target, draws=draws, chains=chains, rng=seed, progressbar=progressbar)
    elapsed = time.perf_counter() - start
    az = arviz()
    print(az.summary(idata, var_names=["x"]).to_string())
    draws_xy = idata.posterior["x"].values.reshape(-1, 2)
    occupancy = np.bincount(target.component_of(draws_xy), minlength=3) / len(draws_xy)
    print("mode occupancy:", np.round(occupancy, 3), " exact weights:", DEMO_WEIGHTS)
    stats = idata.sample_stats
    print(f"acceptance rate {float(stats['acceptance_rate'].mean()):.3f}, "
          f"divergences {int(stats['diverging'].sum())}, "
          f"sampling {idata.posterior.attrs['sampling_time']:.3f} s, total {elapsed:.2f} s")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from samplers.plots import plot_density_and_draws, plot_traces

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    plot_density_and_draws(target, draws_xy, axes[0], bounds=(-6, 6, -4, 7))
    axes[0].set_title("MALA draws on the mixture density")
    plot_traces(idata, axes[1])
    axes[1].set_title("Traces of x[0]")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"figure written to {out}")
    return idata, out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="samplers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="sample a 2-D Gaussian mixture and write a figure")
    p.add_argument("--out", default="samplers-demo.png", help="figure path (PNG)")
    p.add_argument("--draws", type=int, default=20000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.out, args.draws, args.chains, args.seed, progressbar=not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
