"""Unknown noise level: log sigma sampled with X under an inverse-gamma prior on sigma^2."""
import numpy as np
import pytest

from reference import finite_difference_grad
from samplers.inference_data import arviz
from samplers.matrix import Completion, Factorization, MatrixLangevin, Sensing, synthetic_problem

PRIOR = (1.5, 0.2)
TAU = 0.7


def problems():
    rng = np.random.default_rng(40)
    d, k = 5, 2
    sym = rng.standard_normal((d, d))
    a = rng.standard_normal((30, d))
    yield "factorization", Factorization(sym + sym.T, k, noise_prior=PRIOR), d * (d + 1) // 2
    yield "completion", Completion([0, 1, 2, 3, 4, 0, 1], [0, 1, 2, 3, 4, 1, 3], rng.standard_normal(7),
                                   d, k, noise_prior=PRIOR), 7
    # m < p = 15 (packed operator) and m > p (normal equations): both dense kernels.
    yield "dense", Sensing(rng.standard_normal((12, d, d)), rng.standard_normal(12), k,
                           noise_prior=PRIOR), 12
    yield "dense_gram", Sensing(rng.standard_normal((40, d, d)), rng.standard_normal(40), k,
                                noise_prior=PRIOR), 40
    yield "rank_one", Sensing.rank_one(a, rng.standard_normal(30), k, noise_prior=PRIOR), 30
    yield "rank_one_general", Sensing.rank_one(a, rng.standard_normal(30), k, c=a[::-1].copy(),
                                               noise_prior=PRIOR), 30


@pytest.mark.parametrize("name, problem, m", list(problems()), ids=lambda v: v if isinstance(v, str) else "")
def test_joint_log_density_and_gradient(name, problem, m):
    assert problem.unknown_noise and problem.beta is None and problem.noise_std is None
    assert problem.shape == (problem.d * problem.rank + 1,) and problem.m_independent == m
    problem = problem.with_log_sigma_scale(TAU)
    a, b0 = PRIOR
    for x in np.random.default_rng(1).standard_normal((3, problem.dim)):
        X, s = x[:-1].reshape(problem.d, problem.rank), TAU * x[-1]
        loss = problem.loss(X)
        # sigma^-m exp(-L / 2 sigma^2) (sigma^2)^(-a-1) exp(-b0 / sigma^2) d(sigma^2)/ds
        sigma2 = np.exp(2 * s)
        expected = (-m * s - loss / (2 * sigma2) + (-a - 1) * np.log(sigma2) - b0 / sigma2
                    + np.log(2 * sigma2))
        value, grad = problem.logp_and_grad(x)
        assert value == pytest.approx(expected - np.log(2), rel=1e-10)
        np.testing.assert_allclose(grad, finite_difference_grad(problem, x), rtol=1e-6, atol=1e-6)
        if problem.batch_logp_grad is not None:
            grads, lps = np.empty((1, problem.dim)), np.empty(1)
            problem.batch_logp_grad(x[None], problem.params, grads, lps)
            assert lps[0] == pytest.approx(value, rel=1e-12)
            np.testing.assert_allclose(grads[0], grad, rtol=1e-11, atol=1e-12 * np.abs(grad).max())


def test_hessian_max_eig_of_the_joint_density():
    problem, _ = synthetic_problem("sensing", 5, 2, m=60, noise_std=0.05, noise_prior=PRIOR,
                                   operator="rank_one", rng=2)
    problem = problem.with_log_sigma_scale(TAU)
    X0 = problem.minimize()
    for log_sigma in (None, np.log(0.08)):
        x = problem.point(X0, log_sigma)
        n, eps = x.size, 1e-6
        H = np.empty((n, n))
        for i in range(n):
            e = np.zeros(n)
            e[i] = eps
            H[:, i] = -(problem.logp_and_grad(x + e)[1] - problem.logp_and_grad(x - e)[1]) / (2 * eps)
        expected = np.linalg.eigvalsh(0.5 * (H + H.T))[-1]
        assert problem.hessian_max_eig(X0, log_sigma) == pytest.approx(expected, rel=1e-5)
    # At the conditional mode the log-sigma corner is 2 tau^2 (m + 2a).
    s0 = problem.log_sigma_mode(X0)
    assert np.exp(2 * s0) == pytest.approx((problem.loss(X0) + 2 * PRIOR[1]) / (60 + 2 * PRIOR[0]))


def test_sigma_given_x_is_the_conjugate_inverse_gamma():
    # MALA is exact, so E[sigma^-2] over the draws must equal the Rao-Blackwellised
    # E[(a + m/2) / (b0 + L(X)/2)] (the mean of sigma^-2 | X ~ Gamma(a + m/2, b0 + L/2))
    # within Monte Carlo error: 4 standard errors of the difference, from ArviZ's ESS.
    problem, _ = synthetic_problem("sensing", 6, 2, m=80, noise_std=0.1, noise_prior=PRIOR,
                                   operator="rank_one", rng=3)
    idata = MatrixLangevin(metropolis=True).sample(problem, draws=4000, tune=500, chains=4, rng=5,
                                                   thin=5, progressbar=False)
    sigma = idata.posterior["sigma"].values
    loss = idata.posterior["loss"].values
    direct = sigma ** -2
    rao_blackwell = (PRIOR[0] + 40) / (PRIOR[1] + loss / 2)
    diff = direct - rao_blackwell
    se = diff.std() / np.sqrt(arviz().ess(diff))
    assert abs(diff.mean()) < 4 * se + 1e-12, (diff.mean(), se)
    # Power: a bug that drops (or doubles) the prior's a = 1.5 in the sigma coordinate moves
    # the conditional mean by 1.5 / 41.5 = 3.6%, outside 4 standard errors.
    assert 4 * se < 0.03 * direct.mean()
    # The recorded loss is the loss of the draws (recovered from lp and sigma).
    X = idata.posterior["X"].values[:, :20]
    np.testing.assert_allclose(loss[:, :20], problem.loss(X), rtol=1e-8)


def test_summary_reports_sigma():
    problem, truth = synthetic_problem("completion", 12, 2, n_observed=60, noise_std=0.02,
                                       noise_prior=(0.0, 0.0), rng=4)
    idata = MatrixLangevin().sample(problem, draws=1000, tune=200, chains=2, rng=1, progressbar=False)
    post, s = idata.posterior, idata.matrix_summary
    assert post["X"].shape == (2, 1000, 12, 2) and post["sigma"].shape == (2, 1000)
    assert "sigma" in list(s["invariant"].values)
    assert s["sigma_lower"] < s["sigma_mean"] < s["sigma_upper"]
    np.testing.assert_allclose(float(s["sigma_upper"]), np.quantile(post["sigma"].values, 0.95))
    assert s.attrs["log_sigma_scale"] > 0
    assert 0.005 < float(s["sigma_mean"]) < 0.05


@pytest.mark.statistical
def test_sigma_intervals_cover_the_true_sigma():
    # 30 independent problems (fixed seeds), one 90% interval each: the count covering
    # the true sigma is Binomial(30, 0.9) if calibrated, mean 27, sd 1.6; at least 23
    # (2.5 sd below) is asked, at most 30 is automatic.
    covered = 0
    for seed in range(30):
        problem, _ = synthetic_problem("sensing", 6, 2, m=120, noise_std=0.05, noise_prior=(0.0, 0.0),
                                       operator="rank_one", rng=500 + seed)
        # Thinned by 10: the weakest directions of X decorrelate in ~100 steps here.
        idata = MatrixLangevin().sample(problem, draws=500, tune=500, chains=2, rng=seed, thin=10,
                                        progressbar=False)
        s = idata.matrix_summary
        covered += float(s["sigma_lower"]) <= 0.05 <= float(s["sigma_upper"])
        assert float(s["r_hat"].sel(invariant="sigma")) <= 1.03
    assert covered >= 23, covered


def test_resume_continues_the_same_chain():
    problem, _ = synthetic_problem("sensing", 5, 2, m=40, noise_std=0.05, noise_prior=(0.0, 0.0), rng=6)
    sampler = MatrixLangevin(metropolis=True)
    whole = sampler.sample(problem, draws=60, tune=20, chains=2, rng=9, progressbar=False)
    first = sampler.sample(problem, draws=30, tune=20, chains=2, rng=9, progressbar=False)
    more = sampler.resume(first, problem, draws=30, progressbar=False)
    for name in ("X", "sigma"):
        np.testing.assert_array_equal(
            np.concatenate([first.posterior[name].values, more.posterior[name].values], axis=1),
            whole.posterior[name].values)
    # Summarising the joined run with the problem as built (its own scale is 1) keeps the
    # run's sigma and log-sigma scale.
    import samplers
    from samplers.matrix import summarize

    joined = summarize(samplers.concat(first, more), problem, first.matrix_summary["X0"].values)
    np.testing.assert_array_equal(joined.posterior["sigma"].values, whole.posterior["sigma"].values)
    assert joined.matrix_summary.attrs["log_sigma_scale"] == whole.matrix_summary.attrs["log_sigma_scale"]
    assert float(joined.matrix_summary["sigma_mean"]) == pytest.approx(float(whole.matrix_summary["sigma_mean"]))


def test_initial_points_with_unknown_noise():
    problem, truth = synthetic_problem("sensing", 5, 2, m=40, noise_std=0.05, noise_prior=(0.0, 0.0),
                                       rng=7)
    sampler = MatrixLangevin(step_size=1e-5)
    kwargs = dict(draws=2, tune=0, chains=2, rng=1, progressbar=False)
    from_x = sampler.sample(problem, initial=truth.X, **kwargs)
    from_point = sampler.sample(problem, initial=np.append(truth.X.ravel(), np.log(0.05)), **kwargs)
    assert abs(float(from_point.posterior["sigma"][0, 0]) - 0.05) < 0.005
    assert from_x.posterior["sigma"].shape == (2, 2)
    with pytest.raises(ValueError, match="initial must be X"):
        sampler.sample(problem, initial=np.ones(4), **kwargs)


def test_bad_use_of_unknown_noise():
    problem, truth = synthetic_problem("sensing", 5, 2, m=40, noise_std=0.05, noise_prior=(0.0, 0.0),
                                       rng=8)
    # Noiseless data fitted exactly with b0 = 0: sigma's posterior is improper.
    exact, truth = synthetic_problem("factorization", 5, 2, noise_std=0.0, noise_prior=(0.0, 0.0), rng=8)
    with pytest.raises(ValueError, match="improper under noise_prior"):
        exact.log_sigma_mode(truth.X)
    assert np.isfinite(Factorization(truth.M, 2, noise_prior=(1.0, 0.1)).log_sigma_mode(truth.X))
    known, _ = synthetic_problem("sensing", 5, 2, m=40, noise_std=0.05, rng=8)
    with pytest.raises(ValueError, match="log_sigma is only for problems with an unknown noise"):
        known.point(truth.X, 0.0)
    with pytest.raises(ValueError, match="noise level of this problem is known"):
        known.with_log_sigma_scale(2.0)
    with pytest.raises(ValueError, match="tau must be finite and > 0"):
        problem.with_log_sigma_scale(-1.0)
    with pytest.raises(ValueError, match="give beta or noise_prior"):
        synthetic_problem("sensing", 5, 2, beta=1.0, noise_prior=(0.0, 0.0))


@pytest.mark.parametrize("k", [1, 2])
def test_symmetry_moves_leave_the_noise_coordinate_alone(k):
    """X -> X O acts on the d x k coordinates only: log sigma (last) is invariant."""
    from samplers._rng import chain_keys
    from samplers.kernels.symmetry import orthogonal_move

    d = 4
    x = np.random.default_rng(0).standard_normal(d * k + 1)
    grad = np.random.default_rng(1).standard_normal(d * k + 1)
    key = chain_keys(3, 1)[0]
    changed = 0
    for step in range(10):   # (for k = 1 each move is X -> +-X: some steps change X)
        moved, moved_grad = x.copy(), grad.copy()
        orthogonal_move(moved, moved_grad, k, d, key, step, 0, np.empty((k, k)), np.empty(k))
        assert moved[-1] == x[-1] and moved_grad[-1] == grad[-1]
        X, Y = x[:-1].reshape(d, k), moved[:-1].reshape(d, k)
        np.testing.assert_allclose(X @ X.T, Y @ Y.T, atol=1e-12)     # an orthogonal move of X
        changed += not np.allclose(X, Y)
    assert changed >= 3


def test_symmetry_moves_with_unknown_noise_sample_sigma():
    problem, truth = synthetic_problem("sensing", 5, 1, m=40, noise_std=0.05, noise_prior=(0.0, 0.0),
                                       rng=8)
    kwargs = dict(draws=400, tune=100, chains=2, rng=2, progressbar=False, check_convergence=False)
    moved = MatrixLangevin(symmetry_moves=True).sample(problem, **kwargs)
    plain = MatrixLangevin().sample(problem, **kwargs)
    a, b = moved.posterior["sigma"].values, plain.posterior["sigma"].values
    # The same posterior of sigma (log sigma is not touched by the moves): means within
    # 4 standard errors, each from its chains' ESS.
    from reference import mcse_mean
    assert abs(a.mean() - b.mean()) < 4 * np.hypot(mcse_mean(a), mcse_mean(b))
    assert set(np.unique(moved.sample_stats["component"].values)) == {-1, 1}   # both pieces
