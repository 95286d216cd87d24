"""Targets: log densities and gradients against scipy and finite differences, exact sampling, errors."""
import numba
import numpy as np
import pytest
from scipy import stats

import samplers
from reference import finite_difference_grad


def scipy_mixture_logpdf(means, covs, weights, x):
    return np.log(sum(w * stats.multivariate_normal(m, c).pdf(x) for m, c, w in zip(means, covs, weights)))


MIXTURE_COVS = {
    "full": np.array([[[1.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 2.0]],
                      [[0.6, -0.2, 0.0], [-0.2, 1.2, 0.0], [0.0, 0.0, 0.3]]]),
    "diagonal": np.array([[1.0, 0.5, 2.0], [0.6, 1.2, 0.3]]),
    "scalar": np.array([0.7, 1.9]),
}
MEANS = np.array([[-1.0, 0.0, 2.0], [2.0, 1.0, -1.0]])
WEIGHTS = np.array([0.35, 0.65])


def full_covs(covs):
    if covs.ndim == 1:
        return covs[:, None, None] * np.eye(3)
    if covs.ndim == 2:
        return covs[:, :, None] * np.eye(3)
    return covs


@pytest.mark.parametrize("kind", list(MIXTURE_COVS))
def test_mixture_logpdf_and_gradient(kind):
    covs = MIXTURE_COVS[kind]
    target = samplers.GaussianMixture(MEANS, covs, WEIGHTS)
    rng = np.random.default_rng(0)
    for x in rng.normal(scale=2.0, size=(5, 3)):
        expected = scipy_mixture_logpdf(MEANS, full_covs(covs), WEIGHTS, x)
        value, grad = target.logp_and_grad(x)
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert target.logpdf(x) == pytest.approx(expected, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(grad, finite_difference_grad(target, x), rtol=1e-6, atol=1e-7)
    xs = rng.normal(size=(4, 2, 3))
    assert target.logpdf(xs).shape == (4, 2)


@pytest.mark.parametrize("kind", list(MIXTURE_COVS))
def test_mixture_is_finite_far_from_every_mode(kind):
    target = samplers.GaussianMixture(MEANS, MIXTURE_COVS[kind], WEIGHTS)
    sd = np.sqrt(np.max(full_covs(MIXTURE_COVS[kind])))
    for direction in np.eye(3):
        x = MEANS.max(axis=0) + 50 * sd * 3 * direction
        value, grad = target.logp_and_grad(x)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        # Far out, the gradient is that of the heaviest-tailed component: not zero.
        assert np.linalg.norm(grad) > 1
        assert value == pytest.approx(target.logpdf(x), rel=1e-12)


@pytest.mark.parametrize("kind", list(MIXTURE_COVS))
def test_mixture_gradient_is_exact_far_from_the_origin(kind):
    # The full-covariance kernel computes P_k (x - m_k) as P_k (x - c) - P_k (m_k - c)
    # (c the mean of the means).  Shifting the whole mixture and the point by
    # 1e8 may change the result only through the rounding of the inputs: x + 1e8
    # is off by up to ulp(1e8) / 2 = 7.5e-9 per coordinate, which moves the
    # gradient by at most |P| sqrt(3) 7.5e-9 < 5e-8 (|P| <= 3.4 here) and log p
    # by |grad| 7.5e-9 sqrt(3); atol 1e-6 leaves a factor 20.
    covs = MIXTURE_COVS[kind]
    shift = 1e8
    near = samplers.GaussianMixture(MEANS, covs, WEIGHTS)
    far = samplers.GaussianMixture(MEANS + shift, covs, WEIGHTS)
    for x in np.random.default_rng(1).normal(scale=2.0, size=(5, 3)):
        value_near, grad_near = near.logp_and_grad(x)
        value_far, grad_far = far.logp_and_grad(x + shift)
        np.testing.assert_allclose(grad_far, grad_near, rtol=0, atol=1e-6)
        assert value_far == pytest.approx(value_near, abs=1e-6)


def test_mixture_sample_weights_and_moments():
    target = samplers.GaussianMixture(MEANS * 5, MIXTURE_COVS["full"], WEIGHTS)
    n = 40_000
    draws = target.sample(n, rng=1)
    comp = target.component_of(draws)
    # Multinomial counts: sd of the frequency is sqrt(w(1-w)/n) = 0.0024; 4 sd.
    freq = np.bincount(comp, minlength=2) / n
    assert np.all(np.abs(freq - WEIGHTS) < 4 * np.sqrt(WEIGHTS * (1 - WEIGHTS) / n))
    for k in range(2):
        sel = draws[comp == k]
        se = np.sqrt(np.diag(MIXTURE_COVS["full"][k]) / len(sel))
        assert np.all(np.abs(sel.mean(axis=0) - MEANS[k] * 5) < 4 * se)
    assert np.array_equal(target.sample(10, rng=3), target.sample(10, rng=3))


def test_component_of_picks_most_responsible():
    target = samplers.GaussianMixture(MEANS, MIXTURE_COVS["scalar"], WEIGHTS)
    assert list(target.component_of(MEANS)) == [0, 1]
    assert target.n_components == 2


@pytest.mark.parametrize("kind", list(MIXTURE_COVS))
def test_component_of_with_a_core_matches_the_responsibilities(kind):
    target = samplers.GaussianMixture(MEANS, MIXTURE_COVS[kind], WEIGHTS)
    x = np.random.default_rng(2).normal(scale=2.0, size=(4, 500, 3))
    q = target.component_logpdf(x)
    resp = np.exp(q - q.max(axis=-1, keepdims=True))
    resp /= resp.sum(axis=-1, keepdims=True)
    best = q.argmax(axis=-1)
    assert np.array_equal(target.component_of(x), best)
    for core in (0.6, 0.9, 0.99):
        expected = np.where(resp.max(axis=-1) > core, best, -1)
        got = target.component_of(x, core=core)
        assert got.shape == (4, 500)
        # Points whose responsibility is within rounding of the threshold may differ.
        near = np.abs(resp.max(axis=-1) - core) < 1e-12
        assert np.array_equal(got[~near], expected[~near])
        assert 0 < (got == -1).sum() < got.size  # both outcomes occur
    with pytest.raises(ValueError, match="core"):
        target.component_of(x, core=1.0)


def test_gaussian_logp_gradient_and_log_z():
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    target = samplers.Gaussian([1.0, -1.0], cov)
    x = np.array([0.3, 0.7])
    value, grad = target.logp_and_grad(x)
    expected = stats.multivariate_normal([1.0, -1.0], cov).logpdf(x)
    assert value - target.log_z() == pytest.approx(expected, rel=1e-12)
    assert target.logpdf(x) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(grad, finite_difference_grad(target, x), rtol=1e-6)
    # log Z(beta) = (d/2) log(2 pi / beta) + log det(cov) / 2
    assert target.log_z(0.25) - target.log_z(1.0) == pytest.approx(np.log(4.0), rel=1e-12)
    draws = target.sample(50_000, rng=0)
    # Sample covariance entries have sd <= sqrt(2/n) * max variance = 0.013; 4 sd.
    assert np.max(np.abs(np.cov(draws.T) - cov)) < 4 * np.sqrt(2 / 50_000) * 2.0


def test_scalar_and_diagonal_gaussian_covariances():
    assert np.allclose(samplers.Gaussian(np.zeros(3), 2.0).cov, 2 * np.eye(3))
    assert np.allclose(samplers.Gaussian(np.zeros(2), [1.0, 3.0]).cov, np.diag([1.0, 3.0]))


@numba.njit
def quadratic(x, params, grad_out):
    (scale,) = params
    for i in range(x.shape[0]):
        grad_out[i] = -x[i] / scale[0]
    return -0.5 * np.sum(x * x) / scale[0]


def test_user_target_and_from_python_agree():
    numba_target = samplers.Target(quadratic, 3, params=(np.array([2.0]),))
    python_target = samplers.Target.from_python(lambda x: -0.25 * x @ x, lambda x: -x / 2, 3)
    x = np.array([0.5, -1.0, 2.0])
    a, ga = numba_target.logp_and_grad(x)
    b, gb = python_target.logp_and_grad(x)
    assert a == pytest.approx(b) and np.allclose(ga, gb)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(weights=[0.5, 0.6]), ValueError, "weights must sum to 1"),
        (dict(weights=[-0.5, 1.5]), ValueError, "weights must be finite and non-negative"),
        (dict(weights=[1.0]), ValueError, "weights must have shape"),
        (dict(covs=[[[1.0, 2.0], [2.0, 1.0]]] * 2), ValueError, "covs\\[0\\] is not positive definite"),
        (dict(covs=[[[1.0, 0.5], [0.0, 1.0]]] * 2), ValueError, "not symmetric"),
        (dict(covs=[1.0, -1.0]), ValueError, "covs: variances must be positive"),
        (dict(covs=np.ones((2, 3))), ValueError, "covs must have shape"),
        (dict(means=[0.0, 1.0]), ValueError, "means must be a 2-D array"),
        (dict(means=[[0.0, np.nan], [1.0, 1.0]]), ValueError, "means must be finite"),
    ],
)
def test_mixture_bad_input(kwargs, error, match):
    args = dict(means=[[0.0, 0.0], [1.0, 1.0]])
    args.update(kwargs)
    with pytest.raises(error, match=match):
        samplers.GaussianMixture(**args)


def test_gaussian_bad_input():
    with pytest.raises(ValueError, match="cov: variances must be positive"):
        samplers.Gaussian([0.0, 0.0], [[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="^cov is not positive definite"):
        samplers.Gaussian([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="cov must be"):
        samplers.Gaussian([0.0, 0.0], np.ones((2, 2, 2)))


def test_target_bad_input():
    with pytest.raises(TypeError, match="logp_grad must be a numba.njit"):
        samplers.Target(lambda x, p, g: 0.0, 2)

    @numba.njit
    def wrong_signature(x):
        return 0.0

    with pytest.raises(TypeError, match="logp_grad could not be compiled"):
        samplers.Target(wrong_signature, 2)
    with pytest.raises(TypeError, match="params must be a tuple"):
        samplers.Target(quadratic, 2, params=[np.ones(1)])
    with pytest.raises(TypeError, match="params\\[0\\] must be a numpy array"):
        samplers.Target(quadratic, 2, params=(1.0,))
    with pytest.raises(ValueError, match="dim must be positive"):
        samplers.Target(quadratic, 0, params=(np.ones(1),))
    with pytest.raises(TypeError, match="dim must be"):
        samplers.Target(quadratic, 2.5, params=(np.ones(1),))
    with pytest.raises(TypeError, match="logp must be callable"):
        samplers.Target.from_python(1.0, lambda x: x, 2)


def test_component_logpdf_and_component_draws():
    from scipy import stats

    covs = np.array([[[1.0, 0.3], [0.3, 0.5]], [[2.0, -0.4], [-0.4, 1.0]]])
    mixture = samplers.GaussianMixture([[0.0, 1.0], [4.0, -2.0]], covs, [0.3, 0.7])
    x = np.random.default_rng(0).normal(size=(7, 3, 2)) * 3
    for k, w in enumerate([0.3, 0.7]):
        exact = np.log(w) + stats.multivariate_normal(mixture.means[k], covs[k]).logpdf(x)
        np.testing.assert_allclose(mixture.component_logpdf(x)[..., k], exact, rtol=1e-12)
    draws = mixture.sample_component(1, 20000, rng=1)
    # Mean within 4 standard errors sqrt(diag(S) / n) of the component's mean.
    se = np.sqrt(np.diag(covs[1]) / 20000)
    assert np.all(np.abs(draws.mean(axis=0) - mixture.means[1]) < 4 * se)
