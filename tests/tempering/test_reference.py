"""Reference paths q^(1-beta) p^beta: the compiled reference, exact answers, bad input."""
import numba
import numpy as np
import pytest

import samplers
from samplers.inference_data import arviz
from samplers.kernels.reference import reference_draw, reference_logq_grad
from samplers.tempering.reference import reference_arrays, reference_logpdf
from tests.reference import finite_difference_grad
from tests.tempering import heavy_mixture

REFERENCE = reference_arrays(np.array([[0.0, 1.0], [3.0, -2.0]]),
                             np.array([[[1.0, 0.3], [0.3, 0.5]], [[2.0, 0.0], [0.0, 0.2]]]),
                             np.array([0.3, 0.7]))


@numba.njit
def _logq(x, ref, grad):
    return reference_logq_grad(x, ref, grad, np.empty(x.size))


@numba.njit
def _draws(ref, n, d):
    out = np.empty((n, d))
    key = np.array([7, 11], dtype=np.uint64)
    for i in range(n):
        reference_draw(ref, key, i, 0, np.empty(out.shape[1]), out[i])
    return out


class _AsTarget:
    """A log density as the ``logp_and_grad`` that ``finite_difference_grad`` reads."""

    def __init__(self, logp):
        self.logp = logp

    def logp_and_grad(self, x):
        return self.logp(x), None


def test_compiled_log_q_and_gradient_match_numpy_and_finite_differences():
    rng = np.random.default_rng(0)
    for x in rng.normal(0, 3, (5, 2)):
        grad = np.empty(2)
        value = _logq(x, REFERENCE, grad)
        assert value == pytest.approx(reference_logpdf(REFERENCE, x)[0], abs=1e-12)
        fd = finite_difference_grad(_AsTarget(lambda y: reference_logpdf(REFERENCE, y)[0]), x)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_exact_draws_have_the_mixture_moments():
    """n = 40,000 independent draws: the mean is within 5 standard errors sd / sqrt(n)."""
    x = _draws(REFERENCE, 40_000, 2)
    mixture = samplers.GaussianMixture(REFERENCE.mean, np.array([[[1.0, 0.3], [0.3, 0.5]],
                                                                 [[2.0, 0.0], [0.0, 0.2]]]),
                                       np.array([0.3, 0.7]))
    truth = mixture.sample(400_000, rng=1)
    se = truth.std(axis=0) / np.sqrt(x.shape[0])
    assert np.all(np.abs(x.mean(axis=0) - truth.mean(axis=0)) < 5 * se)
    assert abs((x[:, 1] < -0.5).mean() - (truth[:, 1] < -0.5).mean()) < 5 * np.sqrt(0.25 / 40_000)


@pytest.mark.statistical
@pytest.mark.parametrize("sampler", [samplers.ParallelTempering, samplers.SimulatedTempering])
def test_gaussian_reference_gives_the_moments_and_the_absolute_evidence(sampler):
    """On N(m, diag v) (unnormalised: log Z(1) = (d/2) log 2 pi + sum log v / 2) with a broad
    Gaussian reference the path's log Z(1) is absolute; it must be within 4 reported se of
    the exact value over 3 seeds, and the means within 5 MCSE (ArviZ)."""
    d = 4
    target = samplers.Gaussian(np.arange(d, dtype=float), np.linspace(0.5, 2.0, d))
    reference = samplers.Gaussian(np.zeros(d), 4.0)
    for seed in range(3):
        idata = sampler(reference=reference).sample(target, draws=3000, rng=seed,
                                                    progressbar=False)
        t = idata.tempering
        assert t.beta.values[0] == 0.0
        error = float(t.log_evidence) - float(target.log_z(1.0))
        assert abs(error) < 4 * float(t.log_evidence_se), (seed, error, float(t.log_evidence_se))
        az = arviz()
        mcse = az.mcse(idata, var_names=["x"]).x.values
        mean = idata.posterior.x.values.reshape(-1, d).mean(axis=0)
        assert np.all(np.abs(mean - target.mean) < 5 * mcse)


@pytest.mark.statistical
@pytest.mark.parametrize("sampler", [samplers.ParallelTempering, samplers.SimulatedTempering])
def test_mode_aware_reference_recovers_weights_and_evidence_from_one_mode(sampler):
    """Every chain starts in the 0.2 mode (sd 0.5) of a normalised two-mode mixture 9 apart;
    the weight of the 0.8 mode comes back within 5 MCSE (ESS of the mode indicator, ArviZ),
    log Z = 0 within 4 se, and the modes are listed with their Laplace weights."""
    target = samplers.GaussianMixture([[0.0, 0.0], [9.0, 0.0]], [0.25, 1.5], [0.2, 0.8])
    idata = sampler(reference="modes").sample(target, draws=4000, rng=3, initial=[0.0, 0.0],
                                              progressbar=False)
    x = idata.posterior.x.values
    indicator = (target.component_of(x) == 1).astype(float)
    az = arviz()
    ess = float(az.ess(indicator))
    mcse = np.sqrt(0.8 * 0.2 / ess)
    assert abs(indicator.mean() - 0.8) < 5 * mcse, (indicator.mean(), mcse)
    t = idata.tempering
    assert abs(float(t.log_evidence)) < 4 * float(t.log_evidence_se)
    assert t.mode_location.shape == (2, 2)
    order = np.argsort(t.mode_location.values[:, 0])
    np.testing.assert_allclose(t.mode_laplace_weight.values[order], [0.2, 0.8], atol=1e-3)
    np.testing.assert_allclose(t.mode_occupancy.values[order], [0.2, 0.8], atol=5 * mcse)
    summary = samplers.tempering_summary(idata)
    assert summary.log_evidence == float(t.log_evidence)
    np.testing.assert_array_equal(summary.modes["laplace_weight"], t.mode_laplace_weight.values)
    assert "modes found" in str(summary) and "log evidence" in str(summary)


def test_reference_paths_refuse_bad_input():
    target = samplers.Gaussian(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="reference has dimension 2"):
        samplers.ParallelTempering(reference=samplers.Gaussian(np.zeros(2), 1.0)).plan(target)
    with pytest.raises(TypeError, match="reference must be"):
        samplers.ParallelTempering(reference=target.logp_and_grad)
    with pytest.raises(TypeError, match="reference must be"):
        samplers.SimulatedTempering(reference=samplers.Target(
            samplers.targets.gaussian.gaussian_logp_grad, 3,
            (np.zeros(3), np.zeros((0, 0)), np.ones(3))))
    with pytest.raises(ValueError, match="reference must be 'auto' \\(the default\\), None"):
        samplers.ParallelTempering(reference="variational-ish")
    with pytest.raises(ValueError, match="must start at 0"):
        samplers.ParallelTempering([0.1, 1.0], reference=samplers.Gaussian(np.zeros(3), 1.0))
    with pytest.raises(ValueError, match="'paper'"):
        samplers.SimulatedTempering(log_weights="paper", reference="modes")
    big = samplers.Gaussian(np.zeros(2001), 1.0)   # O(d) itself; a reference would be O(d^2)
    for kind in ("modes", "variational"):
        with pytest.raises(ValueError, match="dim 2001 > 2000; use reference=None"):
            samplers.ParallelTempering(reference=kind).plan(big)
    with pytest.raises(ValueError, match="not positive definite"):
        reference_arrays(np.zeros((1, 2)), np.array([[[1.0, 2.0], [2.0, 1.0]]]), np.ones(1))
    from samplers.matrix import synthetic_problem
    sensing, _ = synthetic_problem("sensing", 6, 1, m=30, noise_std=0.1, rng=0)
    assert sensing.batch_logp_grad is not None
    with pytest.raises(ValueError, match="reference paths need a target evaluated one point"):
        samplers.ParallelTempering(reference="modes").plan(sensing)


def test_fixed_reference_run_resumes_bit_identically(tmp_path):
    target = samplers.GaussianMixture([[0.0, 0.0], [6.0, 0.0]], [0.5, 1.0], [0.3, 0.7])
    sampler = samplers.ParallelTempering(reference=samplers.Gaussian([3.0, 0.0], 9.0))
    first = sampler.sample(target, draws=100, chains=2, rng=3, progressbar=False)
    path = tmp_path / "run.nc"
    first.to_netcdf(path)
    more = sampler.resume(arviz().from_netcdf(path), target, draws=50, progressbar=False)
    whole = sampler.sample(target, draws=150, chains=2, rng=3, progressbar=False)
    joined = samplers.concat(first, more)
    np.testing.assert_array_equal(joined.posterior.x.values, whole.posterior.x.values)


@pytest.mark.statistical
@pytest.mark.parametrize("sampler", [samplers.ParallelTempering, samplers.SimulatedTempering])
def test_heavy_tailed_mixture_weights_and_evidence_with_every_mode_in_the_reference(sampler):
    """With a reference that has every mode (Gaussians at the means; a poor fit of the
    Student-t's shape is corrected by the path), chains started uniformly in [-10, 10]^8 give
    each component's weight within 5 MCSE (ESS of its indicator, ArviZ) and log Z = 0
    within 4 reported se."""
    target = heavy_mixture.heavy_mixture()
    reference = samplers.GaussianMixture(heavy_mixture.MEANS, np.array([0.5, 1.0, 1.5, 1.5]) ** 2,
                                         heavy_mixture.WEIGHTS)
    initial = np.random.default_rng(0).uniform(-10, 10, (4, heavy_mixture.DIM))
    idata = sampler(reference=reference).sample(target, draws=5000, rng=1, initial=initial,
                                                progressbar=False)
    x = idata.posterior.x.values
    label = np.argmin(((x[..., None, :] - heavy_mixture.MEANS) ** 2).sum(-1), axis=-1)
    az = arviz()
    for k, w in enumerate(heavy_mixture.WEIGHTS):
        indicator = (label == k).astype(float)
        mcse = np.sqrt(w * (1 - w) / float(az.ess(indicator)))
        assert abs(indicator.mean() - w) < 5 * mcse, (k, indicator.mean(), mcse)
    t = idata.tempering
    assert abs(float(t.log_evidence)) < 4 * float(t.log_evidence_se)
