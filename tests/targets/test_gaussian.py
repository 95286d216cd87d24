"""Scalar, diagonal and full Gaussian covariances, and the checks of targets' inputs.

A scalar or diagonal covariance is kept as its d variances (O(d) memory and
time); a full one as a dense precision.  All three share one ``params``
layout, so one compiled driver serves them.
"""
import numba
import numpy as np
import pytest
from scipy import stats

import samplers
from reference import finite_difference_grad, mcse_mean


def test_scalar_covariance_is_o_of_d():
    # A dense precision here would be 74.5 GiB.
    d = 100_000
    target = samplers.Gaussian(np.zeros(d), 2.0)
    assert target.is_diagonal
    assert sum(p.nbytes for p in target.params) == 2 * 8 * d  # mean and d precisions
    x = np.linspace(-1.0, 1.0, d)
    value, grad = target.logp_and_grad(x)
    np.testing.assert_allclose(grad, -x / 2.0, rtol=1e-15)
    assert value == pytest.approx(-0.25 * x @ x, rel=1e-12)
    assert target.log_z() == pytest.approx(0.5 * d * np.log(2 * np.pi * 2.0), rel=1e-12)
    assert target.logpdf(np.zeros(d)) == pytest.approx(-target.log_z(), rel=1e-12)
    assert target.sample(3, rng=0).shape == (3, d)


@pytest.mark.parametrize("cov", [np.array([0.5, 2.0, 1.0]), np.diag([0.5, 2.0, 1.0]),
                                 np.array([[0.5, 0.2, 0.0], [0.2, 2.0, -0.3], [0.0, -0.3, 1.0]])])
def test_gaussian_forms_match_scipy(cov):
    mean = np.array([1.0, -1.0, 0.5])
    target = samplers.Gaussian(mean, cov)
    dense = np.diag(cov) if cov.ndim == 1 else cov
    assert target.is_diagonal == (not np.any(dense - np.diag(np.diag(dense))))
    np.testing.assert_array_equal(target.cov, dense)
    exact = stats.multivariate_normal(mean, dense)
    x = np.array([[0.3, 0.7, -1.2], [2.0, -3.0, 0.0]])
    np.testing.assert_allclose(target.logpdf(x), exact.logpdf(x), rtol=1e-12)
    for point in x:
        value, grad = target.logp_and_grad(point)
        assert value - target.log_z() == pytest.approx(exact.logpdf(point), rel=1e-12)
        np.testing.assert_allclose(grad, finite_difference_grad(target, point), rtol=1e-6)
    # log Z(beta) = (d/2) log(2 pi / beta) + log det(cov) / 2
    assert target.log_z(0.5) == pytest.approx(
        1.5 * np.log(4 * np.pi) + 0.5 * np.linalg.slogdet(dense)[1], rel=1e-12)


def test_diagonal_sample_has_the_exact_moments():
    variances = np.array([0.25, 1.0, 4.0, 9.0])
    mean = np.array([1.0, 0.0, -2.0, 3.0])
    n = 200_000
    draws = samplers.Gaussian(mean, variances).sample(n, rng=1)
    # Independent draws: the sample mean has sd sqrt(v / n), the sample variance
    # sd v sqrt(2 / n); 4 sd each.
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4 * np.sqrt(variances / n))
    assert np.all(np.abs(draws.var(axis=0) - variances) < 4 * variances * np.sqrt(2 / n))
    # Power: the same draws reject variances 2% off (8 sd at n = 200,000).
    assert np.any(np.abs(draws.var(axis=0) - 1.02 * variances) > 4 * variances * np.sqrt(2 / n))


def test_every_form_shares_one_params_type():
    """One compiled driver for all Gaussians: a new params type would compile it again."""
    types = {numba.typeof(samplers.Gaussian(np.zeros(3), cov).params)
             for cov in (1.0, [1.0, 2.0, 3.0], [[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]])}
    assert len(types) == 1


@pytest.mark.statistical
def test_mala_on_a_3000_dimensional_diagonal_gaussian():
    """The O(d) form at d = 3000 (dense, 200 MALA steps x 2 chains took 6 s and
    construction 3.5 s): the standardised moments averaged over coordinates,
    within 4 MCSE (ArviZ ESS of the per-draw averages)."""
    d = 3000
    variances = np.linspace(0.5, 2.0, d)
    target = samplers.Gaussian(np.zeros(d), variances)
    idata = samplers.Langevin(metropolis=True).sample(target, draws=1000, tune=500, chains=2,
                                                      rng=5, progressbar=False)
    z = idata.posterior["x"].values / np.sqrt(variances)
    first = z.mean(axis=-1)          # E = 0
    second = (z * z).mean(axis=-1)   # E = 1
    assert abs(first.mean()) < 4 * mcse_mean(first)
    assert abs(second.mean() - 1.0) < 4 * mcse_mean(second)
    # Power: the same draws reject variances 3% off.
    assert abs(second.mean() - 1.03) > 4 * mcse_mean(second)


# -------------------------------------------------------------------- inputs and messages


@pytest.mark.parametrize("make, name", [
    (lambda: samplers.Gaussian([1j, 0.0]), "mean"),
    (lambda: samplers.Gaussian([0.0, 0.0], 1 + 1j), "cov"),
    (lambda: samplers.Gaussian([0.0, 0.0], [[1, 0.5j], [-0.5j, 1]]), "cov"),
    (lambda: samplers.GaussianMixture([[0.0, 1j], [1.0, 1.0]]), "means"),
    (lambda: samplers.GaussianMixture([[0.0], [1.0]], covs=[1.0, 1j]), "covs"),
    (lambda: samplers.GaussianMixture([[0.0], [1.0]], weights=[0.5 + 0j, 0.5]), "weights"),
    (lambda: samplers.matrix.Completion([0], [1], [1.0 + 0.1j], 2, 1, noise_std=0.1), "values"),
])
def test_complex_input_is_refused_naming_the_argument(make, name):
    with pytest.raises(TypeError, match=f"^{name} must be real"):
        make()


def test_gaussian_messages_name_cov_in_the_users_terms():
    with pytest.raises(ValueError, match=r"got shape \(3, 2\)$") as err:
        samplers.Gaussian(np.zeros(3), np.ones((3, 2)))
    assert "(3, 3) matrix" in str(err.value)
    with pytest.raises(ValueError, match="^cov: variance 1e-320 is too small"):
        samplers.Gaussian(np.zeros(2), 1e-320)
    with pytest.raises(ValueError, match="^cov is singular to float64 precision"):
        samplers.Gaussian(np.zeros(2), [[1.0, 1.0], [1.0, 1.0 + 1e-15]])
    with pytest.raises(ValueError, match=r"^covs\[1\] is singular"):
        samplers.GaussianMixture([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]],
                                 covs=[np.eye(2), [[1.0, 1.0], [1.0, 1.0 + 1e-15]], np.eye(2)])
    # A diagonal matrix has no condition-number limit: its inverse is exact.
    assert samplers.Gaussian(np.zeros(2), [[1e300, 0.0], [0.0, 1e-300]]).is_diagonal


def test_mixture_covs_ambiguous_when_k_equals_d():
    with pytest.raises(ValueError, match=r"covs of shape \(2, 2\) is ambiguous"):
        samplers.GaussianMixture([[0.0, 0.0], [3.0, 0.0]], covs=[[1, 0.9], [0.9, 1]])
    # The two unambiguous spellings the message offers.
    c = np.array([[1.0, 0.9], [0.9, 1.0]])
    shared = samplers.GaussianMixture([[0.0, 0.0], [3.0, 0.0]], covs=np.stack([c] * 2))
    np.testing.assert_array_equal(shared.covs, [c, c])
    variances = np.array([[1.0, 2.0], [3.0, 4.0]])
    diagonal = samplers.GaussianMixture([[0.0, 0.0], [3.0, 0.0]],
                                        covs=variances[:, :, None] * np.eye(2))
    assert diagonal.logp_grad.py_func.__name__ == "mixture_diag_logp_grad"
    # K != d: (K, d) is unambiguous and still means diagonal variances.
    three = samplers.GaussianMixture([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]], covs=np.ones((3, 2)))
    np.testing.assert_array_equal(three.covs, [np.eye(2)] * 3)


@pytest.mark.parametrize("call", [
    lambda: samplers.GaussianMixture([[0.0], [1.0]], weights=np.array([2.0, 2.0])),
    lambda: samplers.ladders.check_ladder(np.array([0.1, 0.5, 1.5])),
    lambda: samplers.ladders.check_ladder(np.array([0.5, 0.1, 1.0])),
    lambda: samplers.ladders.check_ladder(np.array([0.1, 0.5, 0.9])),
    lambda: samplers.mixing.kramers_time(np.float64(-1.0)),
    lambda: samplers.mixing.predicted_mixing_time(1.0, eps=np.float64(0.7)),
    lambda: samplers.mixing.transition_times(np.zeros((2, 5)), np.float64(1.0), np.float64(0.0)),
    lambda: samplers.mixing.sweep._check_list(np.array([1.0, 1.0]), "r"),
    lambda: samplers.Target(samplers.targets.gaussian.gaussian_logp_grad, np.float64(2.0)),
    lambda: samplers.matrix.synthetic_problem(np.str_("nothing"), 4, 1, rng=0),
])
def test_messages_show_plain_python_values(call):
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert "np." not in str(err.value), str(err.value)


def test_completion_warns_about_rows_the_data_leave_free():
    # Rows 0-2 form an observed triangle (2 partners each: proper at rank 2); row 3 has
    # one partner, row 4 none; row 5 only its diagonal entry, which pins |X_5|.
    rows, cols = [0, 1, 0, 3, 5], [1, 2, 2, 0, 5]
    with pytest.warns(UserWarning, match=r"rows 3, 4 of M .*\(1 never observed at all\)"
                                         r".*improper"):
        samplers.matrix.Completion(rows, cols, np.ones(5), 6, 2, noise_std=0.1)
    with pytest.warns(UserWarning, match=r"rows 4 of M have fewer than rank = 1"):
        samplers.matrix.Completion(rows, cols, np.ones(5), 6, 1, noise_std=0.1)
