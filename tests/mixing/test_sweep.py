"""Sweeps: identical tables serially, on local processes and on Dask; NetCDF; bad inputs."""
import numpy as np
import pytest
import xarray as xr

import samplers
from samplers import mixing
from samplers.mixing.sweep import TIMINGS

SMALL = dict(chains=40, checkpoints=[0, 50, 100, 200], n_boot=20, pilot_steps=300, seed=7)


@pytest.fixture(scope="module")
def target():
    return mixing.two_well_mixture(2.5, dim=1)


@pytest.fixture(scope="module")
def serial(target):
    return mixing.ladder_sweep(target, n_levels=(3, 5), beta_min=(0.1,), processes=1, **SMALL)


def without_timings(ds):
    return ds.drop_vars([v for v in TIMINGS if v in ds])


def test_ladder_sweep_table(serial, tmp_path):
    assert dict(serial.sizes) == {"sampler": 2, "n_levels": 2, "beta_min": 1, "spacing": 1,
                                  "steps_per_swap": 1, "repeat": 1, "checkpoint": 4}
    assert serial["distance"].dims[-1] == "checkpoint"
    for name in ("mixing_time", "mixing_time_low", "mixing_time_high", "round_trip_rate",
                 "ess_per_second", "swap_acceptance", "communication_barrier"):
        assert name in serial
    # Chains start in one mode (a draw of N(-2.5, 1) is past the saddle with probability 0.6%).
    assert np.all(serial["distance"].sel(checkpoint=0) > 0.4)
    assert np.all(serial["swap_acceptance"] > 0) and np.all(serial["sampling_time"] > 0)
    # Parallel tempering evaluates the gradient of every replica: L per step.
    pt = serial.sel(sampler="parallel")
    xr.testing.assert_equal(pt["mixing_time_grad"], pt["mixing_time"] * pt["n_levels"])
    st = serial.sel(sampler="simulated")
    xr.testing.assert_equal(st["mixing_time_grad"], st["mixing_time"])
    path = tmp_path / "sweep.nc"
    serial.to_netcdf(path)
    assert xr.load_dataset(path).identical(serial)


@pytest.mark.slow
def test_sweep_is_identical_on_processes_and_dask(serial, target):
    """Each task is seeded from (seed, index) and the samplers' draws do not depend on the
    thread count: the same table from 2 spawned processes (1 numba thread each) and from a
    Dask LocalCluster."""
    on_processes = mixing.ladder_sweep(target, n_levels=(3, 5), beta_min=(0.1,), processes=2,
                                       **SMALL)
    xr.testing.assert_identical(without_timings(on_processes), without_timings(serial))
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = mixing.ladder_sweep(target, n_levels=(3, 5), beta_min=(0.1,), client=client,
                                      **SMALL)
    xr.testing.assert_identical(without_timings(on_dask), without_timings(serial))
    # Power: another seed gives another table.
    other = mixing.ladder_sweep(target, n_levels=(3, 5), beta_min=(0.1,), processes=1,
                                **{**SMALL, "seed": 8})
    assert not np.array_equal(other["distance"].values, serial["distance"].values)


def test_separation_sweep_overlays_kramers():
    ds = mixing.separation_sweep(r=(1.5, 2.0), dim=2, samplers=("langevin",), chains=40,
                                 checkpoints=[0, 100, 200], n_boot=20, processes=1, seed=1)
    assert dict(ds.sizes) == {"sampler": 1, "r": 2, "repeat": 1, "checkpoint": 3}
    np.testing.assert_allclose(ds["exact_time"].values,
                               [mixing.transition_time(1.5), mixing.transition_time(2.0)])
    np.testing.assert_allclose(ds["predicted_kramers"].values,
                               mixing.predicted_mixing_time(ds["kramers_time"].values, 0.25) / 0.05)
    assert np.isnan(ds["round_trip_rate"]).all()   # no ladder for Langevin


def test_ladders_by_spacing():
    np.testing.assert_allclose(mixing.make_ladder(3, 0.25, "linear"), [0.25, 0.625, 1.0])
    np.testing.assert_allclose(mixing.make_ladder(3, 0.25, "temperature"), [0.25, 0.4, 1.0])
    np.testing.assert_allclose(mixing.make_ladder(3, 0.25), [0.25, 0.5, 1.0])


def test_sweep_bad_inputs(target):
    with pytest.raises(ValueError, match="spacing"):
        mixing.ladder_sweep(target, spacing=("cubic",), processes=1)
    with pytest.raises(ValueError, match="samplers"):
        mixing.ladder_sweep(target, samplers=("langevin",), processes=1)
    with pytest.raises(ValueError, match="checkpoints"):
        mixing.ladder_sweep(target, checkpoints=[], processes=1)
    with pytest.raises(ValueError, match="eps"):
        mixing.ladder_sweep(target, eps=1.5, processes=1)
    with pytest.raises(ValueError, match="metric"):
        mixing.ladder_sweep(target, metric="kl", processes=1)
    with pytest.raises(ValueError, match="n_levels"):
        mixing.ladder_sweep(target, n_levels=(1,), processes=1)
    with pytest.raises(ValueError, match="r must exceed"):
        mixing.separation_sweep(r=(0.5, 2.0), processes=1)
    with pytest.raises(TypeError, match="client"):
        mixing.ladder_sweep(target, client=object(), **SMALL)
    with pytest.raises(TypeError, match="picklable"):
        mixing.ladder_sweep(target, initial=lambda rng: rng.normal(size=(40, 1)), processes=2)
    gauss = samplers.Gaussian([0.0])
    with pytest.raises(ValueError, match="initial"):
        mixing.ladder_sweep(gauss, metric="ks", processes=1)


def test_plots_draw(serial):
    """Smoke test of the figures (Agg backend): every function draws and returns its axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from samplers.mixing import plots

    fig, axes = plt.subplots(1, 3)
    target = mixing.two_well_mixture(2.0)
    curve = mixing.distance_curve(samplers.Langevin(0.1, metropolis=False), target, np.full((20, 1), -2.0),
                                  [0, 10, 20], n_boot=10, rng=0)
    assert plots.plot_distance_curve(curve, axes[0], eps=0.25, x="gradient_evals") is axes[0]
    assert plots.plot_mixing_vs_ladder(serial, axes[1], x="n_levels") is axes[1]
    sep = mixing.separation_sweep(r=(1.5, 2.0), samplers=("langevin",), chains=20,
                                  checkpoints=[0, 50], n_boot=10, processes=1)
    assert plots.plot_mixing_vs_separation(sep, axes[2]) is axes[2]
    assert len(axes[2].lines) >= 3          # the measured line and the two predictions
    with pytest.raises(ValueError, match="x must"):
        plots.plot_mixing_vs_ladder(serial, axes[1], x="levels")
    plt.close(fig)
