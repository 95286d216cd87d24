"""Statistical tests against exact answers.

Every tolerance is a multiple of the Monte Carlo standard error (MCSE) of the
estimate, computed by ArviZ from the chains' effective sample size; seeds are
fixed, so each test is deterministic.  With |error| < 4 MCSE a correct
sampler fails a single comparison with probability about 6e-5.
"""
import numpy as np
import pytest
from scipy import stats

import samplers

from reference import mcse_mean

pytestmark = pytest.mark.statistical


def random_covariance(dim, condition, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    eigenvalues = np.geomspace(1.0, condition, dim)
    return (q * eigenvalues) @ q.T, q, eigenvalues


def assert_moments(draws, mean, cov, sigmas=4.0):
    """Mean and covariance entries of ``draws`` (chain, draw, d) within ``sigmas`` MCSE.

    Covariance entry (i, j) is estimated as the mean of (x_i - m_i)(x_j - m_j)
    with the exact mean m, so its expectation is exactly cov[i, j].
    """
    d = mean.size
    for i in range(d):
        err = draws[..., i].mean() - mean[i]
        assert abs(err) < sigmas * mcse_mean(draws[..., i]), f"mean[{i}] off by {err}"
    centred = draws - mean
    for i in range(d):
        for j in range(i, d):
            product = centred[..., i] * centred[..., j]
            err = product.mean() - cov[i, j]
            assert abs(err) < sigmas * mcse_mean(product), f"cov[{i}, {j}] off by {err}"


def test_mala_correlated_gaussian_20d():
    cov, _, _ = random_covariance(20, 10.0, seed=0)
    mean = np.linspace(-1.0, 1.0, 20)
    target = samplers.Gaussian(mean, cov)
    idata = samplers.Langevin(metropolis=True).sample(target, draws=5000, tune=1000, chains=4,
                                                      rng=2024, progressbar=False)
    acceptance = idata.sample_stats["acceptance_rate"].values.mean()
    assert 0.45 < acceptance < 0.7  # dual averaging aims at 0.574
    assert_moments(idata.posterior["x"].values, mean, cov)


def test_mala_fails_on_the_wrong_target():
    """Power check: the moment test rejects draws from a slightly different Gaussian."""
    cov, _, _ = random_covariance(20, 10.0, seed=0)
    mean = np.linspace(-1.0, 1.0, 20)
    target = samplers.Gaussian(mean, 1.1 * cov)
    idata = samplers.Langevin(metropolis=True).sample(target, draws=5000, tune=1000, chains=4,
                                                      rng=2024, progressbar=False)
    with pytest.raises(AssertionError):
        assert_moments(idata.posterior["x"].values, mean, cov)


def test_ula_exact_discrete_time_covariance():
    """ULA on N(0, S) with S^{-1} = Q diag(lambda) Q^T is the linear recursion
    x' = (I - h S^{-1}) x + sqrt(2h) xi, whose stationary covariance is
    Q diag(2 / (lambda (2 - h lambda))) Q^T: biased away from S by the step."""
    cov, q, eigenvalues = random_covariance(3, 8.0, seed=1)
    precision_eigenvalues = 1.0 / eigenvalues
    h = 1.0 * eigenvalues[0]  # h * lambda_max = 1: a variance bias of 2x along that axis
    exact = (q * (2.0 / (precision_eigenvalues * (2.0 - h * precision_eigenvalues)))) @ q.T
    target = samplers.Gaussian(np.zeros(3), cov)
    idata = samplers.Langevin(step_size=h, metropolis=False).sample(target, draws=20000, tune=2000, chains=8,
                                                  rng=7, progressbar=False)
    draws = idata.posterior["x"].values
    assert_moments(draws, np.zeros(3), exact)
    # The bias is resolved: the same draws reject the continuous-time covariance.
    with pytest.raises(AssertionError):
        assert_moments(draws, np.zeros(3), cov)


@pytest.mark.parametrize("metropolis", [True, False])
def test_mixture_weights_when_modes_overlap(metropolis):
    """P(x < 0) for 0.3 N(-1.5, 1) + 0.7 N(1.5, 1), which Langevin mixes without tempering."""
    target = samplers.GaussianMixture([[-1.5], [1.5]], weights=[0.3, 0.7])
    exact = 0.3 * stats.norm.cdf(1.5) + 0.7 * stats.norm.cdf(-1.5)
    step = None if metropolis else 0.01  # small ULA step: bias O(h) well below the MCSE
    idata = samplers.Langevin(step_size=step, metropolis=metropolis).sample(
        target, draws=20000, tune=1000, chains=4, rng=3, progressbar=False)
    below = (idata.posterior["x"].values[..., 0] < 0).astype(float)
    assert abs(below.mean() - exact) < 4 * mcse_mean(below)
