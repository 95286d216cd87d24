"""Simulated and parallel tempering: weights of separated modes, log Z, invariance, errors."""
import numpy as np
import pytest
from scipy import stats

import samplers
from samplers.engine import rounds
from samplers.inference_data import arviz
from samplers.kernels.communication import level_move, swap_replicas
from samplers.matrix.synthetic import synthetic_problem

WEIGHTS = np.array([0.1, 0.2, 0.3, 0.4])


@pytest.fixture(scope="module")
def separated():
    """Four 2-D components 18 apart: at least 14 of the widest standard deviations."""
    means = np.array([[0.0, 0.0], [18.0, 0.0], [0.0, 18.0], [18.0, 18.0]])
    return samplers.GaussianMixture(means, covs=np.array([0.5, 1.0, 0.7, 1.5]), weights=WEIGHTS)


def mode_tv(target, idata):
    draws = idata.posterior["x"].values.reshape(-1, target.dim)
    occupancy = np.bincount(target.component_of(draws), minlength=target.n_components) / len(draws)
    return 0.5 * np.abs(occupancy - target.weights).sum()


def test_langevin_stays_in_its_mode(separated):
    idata = samplers.Langevin(metropolis=True).sample(separated, draws=5000, chains=4, rng=0,
                                                      initial=[18.0, 0.0], progressbar=False)
    assert mode_tv(separated, idata) > 0.7   # everything in the 0.2 mode


# The bound is TV 0.03.  Each run below gives ~1,000-3,000 round trips
# per chain (printed by tempering_summary); mode picks between round trips are
# nearly independent, so the Monte Carlo error of each weight is about
# sqrt(w (1 - w) / 10,000) ~ 0.005 and of the TV about 0.01: a correct sampler
# stays well inside 0.03, a biased one (ULA-level bias: 0.1 and more) does not.
@pytest.mark.parametrize("sampler, draws", [
    (samplers.SimulatedTempering(), 100_000),
    (samplers.SimulatedTempering(lifted=False), 100_000),
    (samplers.SimulatedTempering(log_weights="paper"), 100_000),
    (samplers.ParallelTempering(), 20_000),
    (samplers.ParallelTempering(swap="seo"), 20_000),
], ids=["st-lifted", "st-reversible", "st-paper", "pt-deo", "pt-seo"])
@pytest.mark.statistical
def test_tempering_recovers_mode_weights(separated, sampler, draws):
    idata = sampler.sample(separated, draws=draws, tune=4000, chains=4, rng=1, initial=[18.0, 0.0],
                           progressbar=False)
    assert idata.posterior["x"].shape == (4, draws, 2)
    assert mode_tv(separated, idata) < 0.03
    assert idata.tempering["round_trips"].values.min() > 100


@pytest.mark.parametrize("sampler", [
    samplers.ParallelTempering(betas=samplers.ladders.geometric(0.05, 6)),
    samplers.SimulatedTempering(betas=samplers.ladders.geometric(0.05, 6), steps_per_swap=2),
], ids=["pt", "st"])
@pytest.mark.statistical
def test_log_z_of_a_gaussian(sampler):
    """For p(x) = exp(-|x - m|^2_S / 2), log Z(beta) - log Z(1) = (d/2) log(1/beta) exactly."""
    cov = np.array([[1.0, 0.3, 0.0], [0.3, 2.0, 0.2], [0.0, 0.2, 0.5]])
    target = samplers.Gaussian([1.0, -2.0, 0.5], cov)
    idata = sampler.sample(target, draws=20_000, tune=2000, chains=4, rng=5, progressbar=False)
    betas = idata.tempering["beta"].values
    exact = 1.5 * np.log(1.0 / betas)
    estimate = idata.tempering["log_z"].values
    se = idata.tempering["log_z_se"].values
    assert np.all(se[:-1] > 0) and np.all(se[:-1] < 0.1)
    # Within 3 standard errors (batch means over 4 chains x 20 batches).
    assert np.all(np.abs(estimate - exact)[:-1] < 3 * se[:-1])
    np.testing.assert_allclose(exact, target.log_z(betas) - target.log_z(1.0))


@pytest.mark.statistical
def test_simulated_tempering_marginal_passes_ks():
    """The last draw of each of 2,000 independent chains (each started at random and
    run for several round trips) is an i.i.d. sample from the beta = 1 marginal."""
    target = samplers.GaussianMixture([[-5.0], [5.0]], covs=[1.0, 0.25], weights=[0.3, 0.7])
    idata = samplers.SimulatedTempering().sample(target, draws=300, tune=1000, chains=2000,
                                                 rng=2, progressbar=False)
    assert idata.tempering["round_trips"].values.mean() > 2
    draws = idata.posterior["x"].values[:, -1, 0]

    def cdf(w):
        return lambda x: w[0] * stats.norm.cdf(x, -5.0, 1.0) + w[1] * stats.norm.cdf(x, 5.0, 0.5)

    assert stats.kstest(draws, cdf([0.3, 0.7])).pvalue > 0.01
    # Power: the same draws reject slightly wrong weights (a CDF gap of 0.05).
    assert stats.kstest(draws, cdf([0.35, 0.65])).pvalue < 0.01


def exact_tempered_draws(rng, betas, n, scale=1.0):
    """n independent sets of one exact draw per level from p^beta, p = N(0, scale^2)."""
    return rng.normal(size=(n, betas.size, 1)) * scale / np.sqrt(betas)[None, :, None]


@pytest.mark.parametrize("parity", [0, 1])
def test_deo_swaps_leave_the_product_invariant(parity):
    """Start from exact draws of prod_i p^beta_i; after a swap round, each level's
    variance must still be 1/beta_i.  The variance estimate of n = 40,000 Gaussian
    draws has relative sd sqrt(2/n) = 0.7%; 5 sd bound.  An always-accept swap
    (the power check) moves the variances by far more."""
    betas = samplers.ladders.geometric(0.1, 5)
    rng = np.random.default_rng(0)
    n = 40_000
    x = exact_tempered_draws(rng, betas, n)
    lp = -0.5 * x[..., 0] ** 2
    grad = -x.copy()
    ident = np.tile(np.arange(5), (n, 1))
    lq, grad_q = np.zeros((n, 5)), np.zeros((n, 5, 0))  # the classic path
    keys = rng.integers(0, 2**63, size=(n, 2)).astype(np.uint64)
    tries = np.zeros((n, 4))
    accepted = np.zeros((n, 4))
    for k in range(n):
        swap_replicas(x[k], lp[k], grad[k], lq[k], grad_q[k], ident[k], betas, parity, keys[k], 7,
                      accepted[k], tries[k])
    var = x[..., 0].var(axis=0)
    assert np.all(np.abs(var * betas - 1) < 5 * np.sqrt(2 / n))
    assert np.allclose(lp, -0.5 * x[..., 0] ** 2) and np.allclose(grad, -x)
    # Power check: swapping unconditionally breaks the invariance.
    y = exact_tempered_draws(rng, betas, n)
    y[:, parity::2][:, :2] = y[:, parity + 1::2][:, :2].copy() if parity == 0 else y[:, 1:3][:, ::-1]
    assert np.any(np.abs(y[..., 0].var(axis=0) * betas - 1) > 5 * np.sqrt(2 / n))


def test_level_moves_leave_the_joint_invariant():
    """With exact weights w_i = -log Z_i, pi(i, x) = p^beta_i(x) / Z_i / L is invariant:
    start from exact draws (uniform level, x | i exact), apply one level move, and the
    level stays uniform and x | i keeps variance 1/beta_i (5 sd bounds)."""
    betas = samplers.ladders.geometric(0.1, 4)
    weights = 0.5 * np.log(betas)          # -log Z_i + const for N(0, 1/beta)
    rng = np.random.default_rng(1)
    n = 40_000
    level = rng.integers(0, 4, size=n)
    x = rng.normal(size=n) / np.sqrt(betas[level])
    keys = rng.integers(0, 2**63, size=(n, 2)).astype(np.uint64)
    accept, tries = np.zeros(3), np.zeros(3)
    for lifted in (True, False):
        new_level = level.copy()
        for k in range(n):
            new_level[k], _ = level_move(level[k], 1 if k % 2 else -1, -0.5 * x[k] ** 2, betas,
                                         weights, lifted, keys[k], 3, accept, tries)
        counts = np.bincount(new_level, minlength=4)
        assert np.all(np.abs(counts / n - 0.25) < 5 * np.sqrt(0.25 * 0.75 / n))
        for i in range(4):
            sel = x[new_level == i]
            assert abs(sel.var() * betas[i] - 1) < 5 * np.sqrt(2 / sel.size)


def test_output_diagnostics_and_netcdf(separated, tmp_path):
    az = arviz()
    idata = samplers.SimulatedTempering().sample(separated, draws=500, tune=1000, chains=2, rng=3,
                                                 progressbar=False, save_warmup=True)
    assert set(idata.sample_stats.data_vars) == {"lp", "diverging", "outside_support", "step_size",
                                                 "acceptance_rate", "n_steps"}
    assert np.all(idata.sample_stats["n_steps"].values >= 1)
    assert "level" in idata.warmup_sample_stats
    temp = idata.tempering
    n_levels = temp.sizes["level"]
    assert temp["beta"].values[-1] == 1.0 and np.all(np.diff(temp["beta"].values) > 0)
    assert temp["log_weights"].shape == (2, n_levels)
    assert temp["swap_acceptance"].shape == (n_levels - 1,)
    assert abs(temp["occupancy"].values.sum() - 1) < 1e-12
    trace = temp["level_trace"].values
    assert trace.min() >= -1 and trace.max() == n_levels - 1
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from samplers.plots import plot_level_trace, plot_occupancy, plot_swap_acceptance

    fig, axes = plt.subplots(1, 3)
    plot_level_trace(idata, axes[0])
    plot_occupancy(idata, axes[1])
    plot_swap_acceptance(idata, axes[2])
    assert len(axes[0].lines) == 2 and len(axes[1].patches) == n_levels
    plt.close(fig)
    text = str(samplers.tempering_summary(idata))
    assert "round trips per chain" in text and "communication barrier" in text
    path = tmp_path / "st.nc"
    idata.to_netcdf(str(path))
    loaded = az.from_netcdf(str(path))
    np.testing.assert_array_equal(loaded.tempering["log_z"].values, temp["log_z"].values)
    assert str(samplers.tempering_summary(loaded)) == text
    with pytest.raises(ValueError, match="no tempering group"):
        samplers.tempering_summary(samplers.Langevin(step_size=0.1, metropolis=False).sample(
            separated, draws=5, tune=0, chains=1, progressbar=False))


@pytest.mark.slow
@pytest.mark.parametrize("sampler", [samplers.SimulatedTempering(), samplers.ParallelTempering()],
                         ids=["st", "pt"])
def test_continuation_and_chunking_are_bit_identical(separated, sampler, monkeypatch):
    whole = sampler.sample(separated, draws=300, tune=400, chains=2, rng=9, progressbar=False)
    first = sampler.sample(separated, draws=120, tune=400, chains=2, rng=9, progressbar=False)
    rest = sampler.resume(first, separated, draws=180, progressbar=False)
    joined = samplers.concat(first, rest)
    np.testing.assert_array_equal(joined.posterior["x"].values, whole.posterior["x"].values)
    monkeypatch.setattr(rounds, "CHUNK_SECONDS", 1e-6)
    again = sampler.sample(separated, draws=300, tune=400, chains=2, rng=9, progressbar=False)
    np.testing.assert_array_equal(again.posterior["x"].values, whole.posterior["x"].values)


@pytest.mark.parametrize("make, error, match", [
    (lambda: samplers.SimulatedTempering(betas=[0.5, 0.2, 1.0]), ValueError, "betas"),
    (lambda: samplers.SimulatedTempering(betas=[0.1, 0.5]), ValueError, "betas"),
    (lambda: samplers.ParallelTempering(betas=[0.0, 0.5, 1.0], reference=None), ValueError,
     "betas"),
    (lambda: samplers.ParallelTempering(betas=[0.5, 1.5, 1.0]), ValueError, "betas"),
    (lambda: samplers.ParallelTempering(betas=[1.0]), ValueError, "betas"),
    (lambda: samplers.ParallelTempering(betas=[0.1, np.nan, 1.0]), ValueError, "betas"),
    (lambda: samplers.ParallelTempering(swap="random"), ValueError, "swap must be"),
    (lambda: samplers.ParallelTempering(steps_per_swap=0), ValueError, "steps_per_swap"),
    (lambda: samplers.SimulatedTempering(step_size=-0.1), ValueError, "step_size"),
    (lambda: samplers.SimulatedTempering(log_weights="magic"), ValueError, "log_weights must be"),
    (lambda: samplers.SimulatedTempering(log_weights=[0.0, 0.0]), ValueError, "give betas"),
    (lambda: samplers.SimulatedTempering(betas=[0.1, 1.0], log_weights=[0.0]), ValueError,
     r"log_weights must have one value per level of betas: shape \(2,\)"),
    (lambda: samplers.SimulatedTempering(log_weights="paper", adapt_ladder=True), ValueError,
     "cannot be combined"),
    (lambda: samplers.SimulatedTempering(lifted="yes"), TypeError, "lifted must be a bool"),
    (lambda: samplers.ladders.geometric(0.0, 5), ValueError, "beta_min"),
    (lambda: samplers.ladders.geometric(0.1, 1), ValueError, "n"),
])
def test_invalid_ladders_and_settings(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_paper_weights_need_enough_warm_up(separated):
    with pytest.raises(ValueError, match="too short for log_weights='paper'"):
        samplers.SimulatedTempering(log_weights="paper").sample(separated, draws=10, tune=50,
                                                                progressbar=False)


def test_fixed_weights_are_used_as_given():
    betas = samplers.ladders.geometric(0.2, 3)
    target = samplers.Gaussian(np.zeros(1))
    weights = 0.5 * np.log(betas)   # exact -log Z_i up to a constant: uniform occupancy
    idata = samplers.SimulatedTempering(betas=betas, log_weights=weights).sample(
        target, draws=20_000, tune=500, chains=2, rng=4, progressbar=False)
    np.testing.assert_allclose(idata.tempering["log_weights"].values, np.tile(weights, (2, 1)))
    occupancy = idata.tempering["occupancy"].values
    assert np.all(np.abs(occupancy - 1 / 3) < 0.03)


def test_default_warm_up_scales_with_the_ladder():
    target = samplers.Gaussian(np.zeros(10), 1.0)
    st = samplers.SimulatedTempering(reference=None)
    n_levels = samplers.ladders.default_ladder(10).size
    assert st.steps_per_swap == 1 and st.default_tune(target) == 1000 * n_levels
    assert samplers.SimulatedTempering(steps_per_swap=10, reference=None).default_tune(
        target) == 1000 * n_levels
    assert samplers.SimulatedTempering(betas=[0.5, 1.0]).default_tune(target) == 2000
    assert samplers.SimulatedTempering(betas=[0.5, 1.0], steps_per_swap=10).default_tune(target) == 2000
    assert samplers.ParallelTempering(reference=None).default_tune(target) == 1000
    assert samplers.ParallelTempering(reference="modes").default_tune(target) == 4000
    # The default path is "modes" (at least its warm-up): the reference ladder has as many
    # levels as the classic default.
    assert samplers.ParallelTempering().default_tune(target) == 4000
    assert samplers.SimulatedTempering().default_tune(target) == max(4000, 1000 * n_levels)
    assert samplers.Langevin().default_tune(target) == 1000


def test_the_default_path_is_modes_where_a_reference_path_can_run():
    """``reference="auto"``: "modes", except with a ladder for p^beta (betas above 0), a batched
    target, dim > AUTO_MODES_MAX_DIM, or simulated tempering's paper or fixed weights."""
    from samplers.tempering.base import AUTO_MODES_MAX_DIM

    small = samplers.Gaussian(np.zeros(3))
    pt = samplers.ParallelTempering()
    assert pt.reference == "auto" and pt.settings()["reference"] == "auto"
    assert pt.path(small) == "modes"
    assert samplers.ParallelTempering(betas=[0.0, 0.5, 1.0]).path(small) == "modes"
    assert samplers.ParallelTempering(betas=[0.1, 0.5, 1.0]).path(small) is None
    assert pt.path(samplers.Gaussian(np.zeros(AUTO_MODES_MAX_DIM))) == "modes"
    assert pt.path(samplers.Gaussian(np.zeros(AUTO_MODES_MAX_DIM + 1))) is None
    assert samplers.SimulatedTempering(log_weights="paper").path(small) is None
    assert samplers.SimulatedTempering(reference=None).path(small) is None
    problem, _ = synthetic_problem("sensing", 4, 1, m=20, noise_std=0.1, rng=0)
    assert problem.batch_logp_grad is not None and pt.path(problem) is None
    # The run records the path that ran.
    from samplers.inference_data import RunAttr, run_attrs
    kw = dict(draws=20, tune=200, chains=2, rng=0, progressbar=False, check_convergence=False)
    assert run_attrs(pt.sample(small, **kw))[RunAttr.PATH] == "modes"
    fixed = samplers.ParallelTempering(betas=[0.1, 0.5, 1.0]).sample(small, **kw)
    assert run_attrs(fixed)[RunAttr.PATH] == "classic"
    # The plan follows the path: discovery rounds for "modes", the classic ladder otherwise.
    assert pt.plan(small, tune=1000).explored_positions > 0
    classic = samplers.ParallelTempering(betas=[0.1, 0.5, 1.0]).plan(small, tune=1000)
    assert classic.reference is None and classic.betas[0] == 0.1


def test_simulated_tempering_defaults_survive_a_hard_start():
    # 10-D, five isotropic modes of sds 0.5..1.5 at least 12 largest sds apart,
    # started in the lightest mode: with the old fixed warm-up of 1000 steps
    # (100 level moves for 13 levels) the frozen weights kept the walk away
    # from beta = 1 and the run raised RuntimeError for this seed.
    rng = np.random.default_rng(20240601)
    sds = np.linspace(0.5, 1.5, 5)
    directions = rng.standard_normal((5, 10))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    gaps = np.linalg.norm(directions[:, None] - directions[None], axis=-1)[np.triu_indices(5, 1)]
    target = samplers.GaussianMixture(directions * (12 * 1.5 / gaps.min()), sds ** 2,
                                      [0.05, 0.1, 0.2, 0.3, 0.35])
    idata = samplers.SimulatedTempering().sample(target, draws=5000, chains=4, rng=0,
                                                 initial=target.means[0], progressbar=False)
    assert idata.posterior["x"].shape == (4, 5000, 10)
    # The walk reaches the heavy modes from the lightest one.
    labels = target.component_of(idata.posterior["x"].values.reshape(-1, 10))
    assert np.mean(labels == 0) < 0.5


def test_simulated_tempering_from_far_away_crosses_the_ladder(separated):
    # Started 100 sd from every mode, log p(x0) is ~5,000 below the modes'.  A Laplace
    # guess of the weights at x0 itself made the hot levels thousands of nats too
    # heavy: the walk stayed at the top and never made a round trip.  The guess at
    # the mode L-BFGS climbs to from x0 lets the default warm-up find weights that
    # spread the steps over the ladder.
    idata = samplers.SimulatedTempering().sample(separated, draws=20_000, chains=2, rng=3,
                                                 initial=[-60.0, -60.0], progressbar=False)
    occupancy = idata.tempering["occupancy"].values
    # Uniform occupancy is 1/L per level; adaptive weights are frozen estimates, so
    # allow a factor 3 either way, far from the all-at-the-top failure (0 below).
    assert occupancy.min() > 1 / (3 * occupancy.size)
    assert (idata.tempering["round_trips"].values > 10).all()
    # ~350 round trips per chain (seeds 3-5: TV 0.008-0.034): the TV's Monte Carlo
    # error is ~0.03, and 0.15 is 5 of those.
    assert mode_tv(separated, idata) < 0.15


def test_simulated_tempering_returns_the_draws_it_has_when_the_budget_runs_out(monkeypatch):
    """A level walk that cannot collect every draw within its step budget returns the
    draws all chains have, with a warning, instead of discarding the run."""
    from samplers.engine import rounds

    # A budget of one step per draw asked: with two levels, about half the steps are at
    # beta = 1, so every chain has some draws but none has all.
    monkeypatch.setattr(rounds, "MIN_STEPS_PER_DRAW", 1)
    monkeypatch.setattr(rounds, "STEPS_PER_DRAW_PER_LEVEL", 0)
    sampler = samplers.SimulatedTempering(betas=[0.5, 1.0], steps_per_swap=1)
    target = samplers.Gaussian(np.zeros(2), 1.0)
    with pytest.warns(RuntimeWarning, match="returning the first"):
        idata = sampler.sample(target, draws=400, tune=300, chains=3, rng=0, progressbar=False,
                               check_convergence=False)
    kept = idata.posterior.sizes["draw"]
    assert 0 < kept < 400
    assert idata.sample_stats["n_steps"].shape == (3, kept)
    assert np.all(np.isfinite(idata.posterior["x"].values))
    assert "tempering" in idata.groups()


def test_simulated_tempering_with_no_draw_at_the_top_still_returns_its_diagnostics(monkeypatch):
    """Fixed weights that keep the walk at the hottest level (w_0 - w_1 = 50 nats): no draw
    reaches beta = 1 within the budget; the run is returned with a warning, an empty
    posterior and the diagnostics that say why (every step at level 0), not an error."""
    sampler = samplers.SimulatedTempering(betas=[0.5, 1.0], log_weights=[50.0, 0.0])
    target = samplers.Gaussian(np.zeros(2), 1.0)
    with pytest.warns(RuntimeWarning, match=r"only 0 of 20 draws.*\(none: see the tempering group\)"):
        idata = sampler.sample(target, draws=20, tune=100, chains=2, rng=0, progressbar=False,
                               check_convergence=False)
    assert idata.posterior.sizes["draw"] == 0
    np.testing.assert_allclose(idata.tempering["occupancy"].values, [1.0, 0.0])
    assert idata.sampler_state["x"].shape[0] == 2


def test_small_draws_are_collected():
    """A budget of at least 100 draws' worth of steps: 10 draws on a 13-level ladder."""
    idata = samplers.SimulatedTempering().sample(samplers.Gaussian(np.zeros(10), 1.0), draws=10,
                                                 chains=4, rng=1, progressbar=False,
                                                 check_convergence=False)
    assert idata.posterior.sizes["draw"] == 10
