"""MatrixLangevin: posterior of a low-rank factor near the orbit {X0 R : R orthogonal}."""
import numpy as np
import pytest

import samplers
from samplers.inference_data import arviz
from samplers.matrix import MatrixLangevin, synthetic_problem
from samplers.matrix.invariants import procrustes, singular_values


def m_jacobian(X0):
    """d vec(X X^T) / d vec(X) at X0: (d*d, d*k)."""
    d, k = X0.shape
    J = np.zeros((d, d, d, k))
    for i in range(d):
        J[i, :, i, :] += X0      # d M_ij / d X_ia = X_ja
        J[:, i, i, :] += X0      # d M_ji / d X_ia = X_ja
    return J.reshape(d * d, d * k)


def laplace_m_covariance(problem, X0):
    """Covariance of vec(M) under the Laplace approximation at the minimiser X0.

    Near the orbit, p is Gaussian in the directions normal to it with
    precision H = beta * Hessian of the loss; H vanishes on the tangent space
    {X0 W : W skew} (dimension k(k-1)/2), which does not move M to first
    order, so Cov(vec M) = J H^+ J^T with the pseudo-inverse on the normal space.
    """
    n = X0.size
    H = np.stack([problem.hessian_vector(X0, e.reshape(X0.shape)).reshape(-1)
                  for e in np.eye(n)], axis=1)
    H = problem.beta * 0.5 * (H + H.T)
    tangent = problem.rank * (problem.rank - 1) // 2
    vals, vecs = np.linalg.eigh(H)
    assert np.all(vals[tangent:] > 1e-6 * vals[-1]), "the normal space must be non-degenerate"
    inv = (vecs[:, tangent:] / vals[tangent:]) @ vecs[:, tangent:].T
    J = m_jacobian(X0)
    return J @ inv @ J.T


@pytest.fixture(scope="module")
def factorization():
    problem, truth = synthetic_problem("factorization", 6, 2, noise_std=0.002, rng=3)
    idata = MatrixLangevin().sample(problem, draws=10000, tune=1000, chains=4, thin=10, rng=11,
                                    progressbar=False)
    return problem, truth, idata


@pytest.mark.statistical
def test_m_covariance_matches_the_laplace_approximation(factorization):
    problem, _, idata = factorization
    X0 = idata.matrix_summary["X0"].values
    X = idata.posterior["X"].values
    M = X @ np.swapaxes(X, -1, -2)                      # (chain, draw, d, d)
    entries = [(0, 0), (0, 1), (2, 3), (4, 4), (1, 5)]
    exact = laplace_m_covariance(problem, X0).reshape(6, 6, 6, 6)
    az = arviz()
    for i, j in entries:
        values = M[:, :, i, j]
        sampled = values.var()
        laplace = exact[i, j, i, j]
        # The relative standard error of a variance estimate from n effective
        # draws is sqrt(2 / n); ArviZ's ESS of the squared deviations gives n.
        ess = az.ess((values - values.mean()) ** 2)
        mc_rel = np.sqrt(2.0 / ess)
        assert mc_rel < 0.04, f"too few effective draws for entry {(i, j)}: {ess:.0f}"
        # The 15%: the MC error (< 4%, about 3.5 of them at most) plus
        # ULA's discretisation bias at h = 0.1/lambda_max (<= 5%, see
        # MatrixLangevin) plus the O(1/beta) error of the Laplace approximation.
        assert abs(sampled / laplace - 1.0) < 0.15, (i, j, sampled, laplace)
    # Power: covariances between entries carry the structure too.
    a, b = M[:, :, 0, 1].ravel(), M[:, :, 2, 3].ravel()
    corr_sampled = np.corrcoef(a, b)[0, 1]
    corr_laplace = exact[0, 1, 2, 3] / np.sqrt(exact[0, 1, 0, 1] * exact[2, 3, 2, 3])
    # The standard error of a correlation is about (1 - rho^2) / sqrt(n) < 0.04 here.
    assert abs(corr_sampled - corr_laplace) < 0.12


def test_chains_stay_near_their_piece_of_the_orbit(factorization):
    _, _, idata = factorization
    summary = idata.matrix_summary
    # Both pieces carry chains, and plain Langevin never leaves its piece.
    components = idata.sample_stats["component"].values
    np.testing.assert_array_equal(components, np.array([1, -1, 1, -1])[:, None] * np.ones_like(components))
    # Near the manifold: every draw far closer to X0's orbit than the pieces are to each other.
    assert idata.posterior["distance"].values.max() < 0.1 * summary.attrs["component_distance"]
    # R-hat on invariants (rank-normalised split R-hat, ArviZ).
    assert np.all(summary["r_hat"].values < 1.01), summary["r_hat"].values


def test_invariants_are_consistent(factorization):
    problem, _, idata = factorization
    post = idata.posterior
    X = post["X"].values[:, :50]
    X0 = idata.matrix_summary["X0"].values
    np.testing.assert_allclose(post["loss"].values[:, :50], problem.loss(X))
    np.testing.assert_allclose(post["singular_values"].values[:, :50],
                               np.linalg.svd(X, compute_uv=False), rtol=1e-10)
    # Aligned draws are the draws rotated onto X0: same M, closest orientation.
    aligned = post["X_aligned"].values[:, :50]
    np.testing.assert_allclose(aligned @ np.swapaxes(aligned, -1, -2), X @ np.swapaxes(X, -1, -2),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(aligned - X0, axis=(-2, -1)),
                               post["distance"].values[:, :50], rtol=1e-10)
    # The M summaries are the per-entry moments of the draws.
    all_x = post["X"].values.reshape(-1, 6, 2)
    M = all_x @ np.swapaxes(all_x, -1, -2)
    np.testing.assert_allclose(idata.matrix_summary["M_mean"].values, M.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(idata.matrix_summary["M_upper"].values,
                               np.quantile(M, 0.95, axis=0), atol=1e-12)


def test_procrustes_finds_the_rotation():
    rng = np.random.default_rng(0)
    X0 = rng.normal(size=(7, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    R, distance, component = procrustes(X0 @ q + 1e-3 * rng.normal(size=(7, 3)), X0)
    np.testing.assert_allclose(R, q, atol=1e-2)
    assert distance < 0.01 and component == (1 if np.linalg.det(q) > 0 else -1)
    np.testing.assert_allclose(singular_values(X0), np.linalg.svd(X0, compute_uv=False))


@pytest.mark.statistical
def test_completion_intervals_cover_the_truth():
    # A well-specified problem: the posterior of M is nearly Gaussian, so 90%
    # credible intervals should cover about 90% of the unobserved true
    # entries.  Entries of one problem are strongly correlated (their errors
    # come from the same ~d*k noise directions), so coverage is pooled over
    # four independent problems; the band is 85%-95%.
    covered, total = 0, 0
    for seed in range(4):
        problem, truth = synthetic_problem("completion", 20, 2, n_observed=120, noise_std=0.01,
                                           rng=100 + seed)
        idata = MatrixLangevin().sample(problem, draws=4000, tune=1000, chains=2, rng=seed,
                                        thin=2, progressbar=False)
        s = idata.matrix_summary
        unobserved = ~s["observed"].values
        inside = (s["M_lower"].values <= truth.M) & (truth.M <= s["M_upper"].values)
        iu = np.triu_indices(problem.d)
        mask = unobserved[iu]
        covered += inside[iu][mask].sum()
        total += mask.sum()
    assert 0.85 <= covered / total <= 0.95, covered / total


@pytest.mark.statistical
def test_symmetry_moves_visit_both_pieces_and_keep_the_law():
    problem, _ = synthetic_problem("factorization", 5, 2, noise_std=0.005, rng=4)
    kwargs = dict(draws=4000, tune=500, chains=2, rng=2, progressbar=False)
    plain = MatrixLangevin().sample(problem, **kwargs)
    moved = MatrixLangevin(symmetry_moves=True).sample(problem, **kwargs)
    comp = moved.sample_stats["component"].values
    # Each draw is on either piece with probability 1/2, independently across
    # draws (a fresh Haar rotation every step): binomial standard error
    # sqrt(0.25 / 8000) = 0.0056; tolerance 4 of them.
    assert abs(np.mean(comp < 0) - 0.5) < 4 * np.sqrt(0.25 / comp.size)
    # M = X X^T is unchanged by the moves: its posterior mean agrees within MC error.
    az = arviz()
    for name in ("loss", "distance"):
        a, b = plain.posterior[name], moved.posterior[name]
        se = np.hypot(a.std() / np.sqrt(az.ess(a.values)), b.std() / np.sqrt(az.ess(b.values)))
        assert abs(float(a.mean() - b.mean())) < 4 * float(se)


def test_sensing_batched_matches_single_point_chains():
    problem, _ = synthetic_problem("sensing", 6, 2, m=60, noise_std=0.01, rng=5)
    single = samplers.Target(problem.logp_grad, problem.shape, problem.params, name="X")
    x0 = MatrixLangevin().reference_point(problem)
    h = 0.1 / problem.hessian_max_eig(x0)
    kwargs = dict(draws=30, tune=0, chains=3, rng=1, initial=x0, progressbar=False)
    a = samplers.Langevin(step_size=h, metropolis=False).sample(single, **kwargs)
    b = samplers.Langevin(step_size=h, metropolis=False).sample(problem, **kwargs)
    # One BLAS matrix product for all chains against one matrix-vector product
    # per chain: equal up to rounding (not bit for bit: the summation order differs).
    np.testing.assert_allclose(a.posterior["X"].values, b.posterior["X"].values, rtol=1e-9,
                               atol=1e-12)


def test_reproducible_resumable_and_saved(tmp_path):
    problem, _ = synthetic_problem("sensing", 5, 2, m=40, noise_std=0.01, rng=6)
    sampler = MatrixLangevin(metropolis=True, symmetry_moves=True)
    a = sampler.sample(problem, draws=60, tune=20, chains=2, rng=9, progressbar=False)
    b = sampler.sample(problem, draws=60, tune=20, chains=2, rng=9, progressbar=False)
    np.testing.assert_array_equal(a.posterior["X"].values, b.posterior["X"].values)
    first = sampler.sample(problem, draws=30, tune=20, chains=2, rng=9, progressbar=False)
    more = sampler.resume(first, problem, draws=30, progressbar=False)
    np.testing.assert_array_equal(
        np.concatenate([first.posterior["X"].values, more.posterior["X"].values], axis=1),
        a.posterior["X"].values)
    path = tmp_path / "matrix.nc"
    a.to_netcdf(str(path))
    loaded = arviz().from_netcdf(str(path))
    np.testing.assert_array_equal(loaded.matrix_summary["M_sd"].values, a.matrix_summary["M_sd"].values)
    assert "sample_stats" in loaded.groups() and "component" in loaded.sample_stats


@pytest.mark.parametrize("kwargs, match", [
    (dict(init="svd"), "init must be"),
    (dict(init=np.ones(3)), "init must be"),
    (dict(step_scale=3.0), "step_scale"),
    (dict(ci_prob=1.0), "ci_prob"),
    (dict(symmetry_moves="yes"), "symmetry_moves"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        MatrixLangevin(**kwargs)


def test_bad_targets_and_init_shape():
    with pytest.raises(TypeError, match="target must be a samplers.matrix problem"):
        MatrixLangevin().sample(samplers.Gaussian(np.zeros(2), 1.0), draws=5)
    problem, _ = synthetic_problem("factorization", 4, 2, noise_std=0.1, rng=0)
    with pytest.raises(ValueError, match="init must have shape"):
        MatrixLangevin(init=np.ones((4, 3))).sample(problem, draws=5)
    with pytest.raises(ValueError, match="chains"):
        MatrixLangevin().sample(problem, draws=5, chains=0)


def test_m_summary_moments_and_both_interval_methods(monkeypatch):
    from samplers.matrix import invariants

    X = np.random.default_rng(3).normal(size=(500, 7, 3))
    M = X @ np.swapaxes(X, 1, 2)
    mean, sd, lower, upper, method = invariants.m_summary(X, 0.8)
    assert method == "quantiles"
    np.testing.assert_allclose(mean, M.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sd, M.std(axis=0, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(lower, np.quantile(M, 0.1, axis=0), rtol=1e-12)
    # Blocks of draws of any size give the same moments.
    monkeypatch.setattr(invariants, "_BLOCK_FLOATS", 50)
    np.testing.assert_allclose(invariants.m_summary(X, 0.8)[1], sd, rtol=1e-9)
    # Too many values for quantiles: the normal interval mean -/+ z sd.
    monkeypatch.setattr(invariants, "_QUANTILE_VALUES", 10)
    mean2, sd2, lower2, upper2, method2 = invariants.m_summary(X, 0.8)
    assert method2 == "normal"
    np.testing.assert_allclose(upper2, mean + 1.2815515655446004 * sd, rtol=1e-9)
