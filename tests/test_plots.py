"""Figures (Agg backend): ``ax`` optional everywhere, reachable from ``import samplers``
without importing matplotlib, draws given as InferenceData, readable log axes."""
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import samplers  # noqa: E402
from samplers import mixing  # noqa: E402
from samplers.inference_data import arviz  # noqa: E402
from samplers.matrix import MatrixLangevin, synthetic_problem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plots_reachable_without_importing_matplotlib():
    code = ("import sys, samplers; "
            "print('matplotlib' in sys.modules, callable(samplers.plots.plot_occupancy), "
            "callable(samplers.mixing.plots.plot_distance_curve))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout.split()
    assert out == ["False", "True", "True"]


def new_axes_drawn(call):
    """Call a plot function without ``ax``: it must draw on a new figure and return its Axes."""
    before = set(plt.get_fignums())
    ax = call()
    assert isinstance(ax, matplotlib.axes.Axes)
    assert set(plt.get_fignums()) - before == {ax.figure.number}
    assert ax.has_data() or ax.images
    return ax


@pytest.fixture(scope="module")
def tempering_run():
    target = samplers.GaussianMixture([[-3.0], [3.0]], weights=[0.3, 0.7])
    idata = samplers.SimulatedTempering(steps_per_swap=2).sample(
        target, draws=200, tune=400, chains=2, rng=1, progressbar=False)
    return target, idata


def test_sampler_plots_without_ax(tempering_run):
    _, idata = tempering_run
    from samplers import plots

    new_axes_drawn(lambda: plots.plot_traces(idata))
    new_axes_drawn(lambda: plots.plot_level_trace(idata))
    new_axes_drawn(lambda: plots.plot_occupancy(idata))
    new_axes_drawn(lambda: plots.plot_swap_acceptance(idata))


def test_density_and_draws_takes_inference_data():
    far = samplers.GaussianMixture(means=[[0, 0], [6, 0]], covs=[0.5, 1.5], weights=[0.2, 0.8])
    idata = samplers.Langevin(0.2, metropolis=True).sample(far, draws=50, tune=0, chains=2,
                                                           rng=0, progressbar=False)
    ax = new_axes_drawn(lambda: samplers.plots.plot_density_and_draws(far, idata))
    points = ax.collections[-1].get_offsets()
    np.testing.assert_array_equal(points, idata.posterior["x"].values.reshape(-1, 2))
    fig, given = plt.subplots()
    assert samplers.plots.plot_density_and_draws(far, idata, given) is given
    with pytest.raises(ValueError, match=r"no posterior variable\(s\) \['y'\]"):
        samplers.plots.plot_density_and_draws(samplers.Gaussian([0.0, 0.0], name="y"), idata)


def test_matrix_plots_without_ax():
    problem, truth = synthetic_problem("completion", 8, 1, n_observed=20, noise_std=0.05, rng=0)
    idata = MatrixLangevin().sample(problem, draws=20, tune=10, chains=2, rng=1,
                                    progressbar=False)
    new_axes_drawn(lambda: samplers.plots.plot_distance_trace(idata))
    new_axes_drawn(lambda: samplers.plots.plot_entry_sd(idata))
    new_axes_drawn(lambda: samplers.plots.plot_interval_coverage(idata, truth.M))


def test_mixing_plots_without_ax():
    plots = samplers.mixing.plots
    target = mixing.two_well_mixture(2.0)
    curve = mixing.distance_curve(samplers.Langevin(0.1, metropolis=False), target, np.full((20, 1), -2.0),
                                  [0, 10, 20], n_boot=10, rng=0)
    new_axes_drawn(lambda: plots.plot_distance_curve(curve, eps=0.25))
    small = dict(chains=20, checkpoints=[0, 50], n_boot=10, processes=1, seed=3)
    ladder = mixing.ladder_sweep(target, n_levels=(3,), beta_min=(0.05, 0.2), **small)
    ax = new_axes_drawn(lambda: plots.plot_mixing_vs_ladder(ladder, x="beta_min"))
    assert ax.get_xscale() == "log"
    sep = mixing.separation_sweep(r=(1.5, 2.0), samplers=("langevin",), **small)
    new_axes_drawn(lambda: plots.plot_mixing_vs_separation(sep))


def overlapping_tick_labels(ax):
    """Pairs of drawn x tick labels (major and minor) whose boxes overlap."""
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    lo, hi = sorted(ax.get_xlim())
    boxes = []
    for tick in ax.xaxis.get_major_ticks() + ax.xaxis.get_minor_ticks():
        label = tick.label1
        if label.get_visible() and label.get_text() and lo <= tick.get_loc() <= hi:
            boxes.append(label.get_window_extent(renderer))
    boxes.sort(key=lambda b: b.x0)
    return sum(a.x1 > b.x0 for a, b in zip(boxes, boxes[1:]))


@pytest.mark.parametrize("beta_min", [1e-5, 1e-4, 0.01, 0.05, 0.3, 0.6, 0.9])
def test_swap_acceptance_log_labels_do_not_overlap(beta_min):
    betas = np.geomspace(beta_min, 1.0, 10)
    tempering = xr.Dataset({"beta": ("level", betas),
                            "swap_acceptance": ("pair", np.linspace(0.3, 0.9, 9))})
    idata = arviz().InferenceData(tempering=tempering)
    fig, axes = plt.subplots(1, 2, figsize=(4.0, 2.5))  # small Axes, as in a grid of panels
    samplers.plots.plot_swap_acceptance(idata, axes[0])
    assert overlapping_tick_labels(axes[0]) == 0
    labels = [t.get_text() for t in axes[0].get_xticklabels() if t.get_text()]
    assert labels and not any("times" in s or "^" in s for s in labels)  # plain numbers
    # Power: matplotlib's default log labels on the same Axes do overlap here.
    if beta_min == 0.05:
        axes[1].plot(np.sqrt(betas[:-1] * betas[1:]), np.linspace(0.3, 0.9, 9))
        axes[1].set_xscale("log")
        assert overlapping_tick_labels(axes[1]) > 0
