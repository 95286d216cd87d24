"""Mixing time against separation and against the ladder: the headline of the theory.

Run:  python examples/temperature_ladders.py [output_dir]     (a few minutes on 2 cores)

Target: two unit Gaussians in 2-D with means 2r apart, all chains started in
the left one.  Writes four PNG figures to ``output_dir`` (default: the
current directory):

* ``separation.png`` -- mixing time (mode-occupancy TV below 0.25) against r:
  Langevin (MALA, h = 0.05) grows like exp(r^2 / 2), following the exact
  mean first-passage time and the Eyring-Kramers law of the Langevin
  diffusion (dashed, dotted); simulated and parallel tempering on a fixed
  8-level geometric ladder grow polynomially (Ge, Lee and Risteski,
  arXiv 1812.00793);
* ``ladder_levels.png`` -- at r = 3, the cost in gradient evaluations against
  the number of levels (too few and swaps are rarely accepted, too many and
  each step costs more for parallel tempering, round trips get longer for
  simulated tempering) and against the hottest level ``beta_min`` (too cold
  and the barrier is not flattened);
* ``distance_curves.png`` -- the three distance curves at r = 3 with bands;
* ``level_trace.png`` -- the level index of simulated-tempering chains.

Every sweep is seeded; the same command gives the same figures (timings aside).
"""
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import samplers  # noqa: E402
from samplers import mixing  # noqa: E402
from samplers.mixing import plots  # noqa: E402

STEP = 0.05
LADDER = dict(n_levels=8, beta_min=0.02)


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    # 1. Separation: Langevin needs long runs, tempering short ones.
    r = (1.5, 2.0, 2.5, 3.0, 3.5)
    langevin = mixing.separation_sweep(r, dim=2, samplers=("langevin",), step_size=STEP,
                                       chains=200, checkpoints=np.arange(0, 10001, 100),
                                       seed=1, **LADDER)
    tempering = mixing.separation_sweep(r, dim=2, samplers=("simulated", "parallel"),
                                        step_size=STEP, chains=200, steps_per_swap=1,
                                        checkpoints=np.arange(0, 1501, 25), seed=2, **LADDER)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    plots.plot_mixing_vs_separation(langevin, ax)
    plots.plot_mixing_vs_separation(tempering, ax, predictions=False)
    ax.set_title("Two unit Gaussians 2r apart (2-D), chains started in one")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "separation.png", dpi=110)
    print(langevin[["mixing_time", "predicted_exact", "predicted_kramers"]].squeeze()
          .to_dataframe().to_string())
    print(tempering["mixing_time"].squeeze().to_pandas().to_string())

    # 2. The ladder at r = 3: number of levels, then the hottest level.
    target = mixing.two_well_mixture(3.0, dim=2)
    common = dict(step_size=STEP, chains=200, checkpoints=np.arange(0, 3001, 25), repeats=2)
    levels = mixing.ladder_sweep(target, n_levels=(2, 3, 4, 6, 8, 12), beta_min=(0.02,),
                                 seed=3, **common)
    hottest = mixing.ladder_sweep(target, n_levels=(6,), beta_min=(0.005, 0.02, 0.1, 0.3),
                                  seed=4, **common)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    plots.plot_mixing_vs_ladder(levels, axes[0], x="n_levels", y="mixing_time_grad")
    plots.plot_mixing_vs_ladder(hottest, axes[1], x="beta_min", y="mixing_time_grad")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("gradient evaluations to mix (TV < 0.25)")
    axes[0].set_title("r = 3: levels (beta_min = 0.02)")
    axes[1].set_title("r = 3: hottest level (6 levels)")
    axes[1].set_ylabel("")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "ladder_levels.png", dpi=110)
    for ds in (levels, hottest):
        print(ds[["mixing_time_grad", "swap_acceptance", "round_trip_rate"]].mean("repeat")
              .squeeze().to_dataframe().to_string())

    # 3. Distance curves at r = 3, and the level trace of simulated tempering.
    betas = mixing.make_ladder(**LADDER)
    init = np.random.default_rng(0).normal(size=(400, 2)) + [-3.0, 0.0]
    pilot = samplers.SimulatedTempering(betas=betas, step_size=STEP, adapt_ladder=False).sample(
        target, draws=2000, tune=2000, chains=4, rng=4, initial=target.sample(4, 4),
        progressbar=False)
    st = samplers.SimulatedTempering(betas=betas, step_size=STEP,
                                     log_weights=-pilot.tempering["log_z"].values)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for name, sampler in (("Langevin (MALA)", samplers.Langevin(STEP, metropolis=True)),
                          ("simulated tempering", st),
                          ("parallel tempering", samplers.ParallelTempering(betas, step_size=STEP))):
        curve = mixing.distance_curve(sampler, target, init, np.arange(0, 3001, 50), rng=5)
        plots.plot_distance_curve(curve, ax, label=name, eps=0.25)
    ax.set_title("r = 3: TV of mode occupancy, 400 chains, 95% bootstrap bands")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "distance_curves.png", dpi=110)

    idata = st.sample(target, draws=1000, tune=0, chains=3, rng=6, initial=init[:3],
                      progressbar=False)
    fig, ax = plt.subplots(figsize=(6, 3))
    plots.plot_level_trace(idata, ax, first=3000)
    ax.set_title("Simulated tempering: level index, 3 chains")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "level_trace.png", dpi=110)
    print(f"figures in {out}; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":   # needed: the sweeps start worker processes ("spawn")
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
