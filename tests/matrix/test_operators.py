"""Sensing operators: symmetric and general rank-one measurements and user operators, against
slow NumPy references, finite differences, per-point = batched, the Laplace limit and coverage."""
import numba
import numpy as np
import pytest

from reference import finite_difference_grad, rank_one_loss_grad
from samplers.matrix import MatrixLangevin, Sensing, synthetic_problem
from matrix.test_matrix_langevin import laplace_m_covariance

D, K, M_OBS = 6, 2, 40
RNG = np.random.default_rng(31)
A = RNG.standard_normal((M_OBS, D))
C = RNG.standard_normal((M_OBS, D))
B = RNG.standard_normal(M_OBS)
BETA = 0.7


def reference_loss_grad(X, a, c, b):
    """L = sum_i (a_i^T X X^T c_i - b_i)^2 and its gradient, one measurement at a time:
    d/dX a^T X X^T c = (a c^T + c a^T) X."""
    loss, grad = 0.0, np.zeros_like(X)
    for ai, ci, bi in zip(a, c, b):
        r = ai @ X @ X.T @ ci - bi
        loss += r * r
        grad += 2 * r * (np.outer(ai, ci) + np.outer(ci, ai)) @ X
    return loss, grad


@numba.njit
def hand_forward(X, params, out):
    """The symmetric rank-one operator written by hand: out_i = |X^T a_i|^2."""
    a = params[0]
    y = a @ X
    for i in range(a.shape[0]):
        out[i] = y[i] @ y[i]


@numba.njit
def hand_adjoint(X, r, params, out):
    """(sum_i r_i a_i a_i^T) X."""
    a = params[0]
    y = a @ X
    for i in range(a.shape[0]):
        y[i] *= r[i]
    out[:] = a.T @ y


@numba.njit
def half_adjoint(X, r, params, out):
    """Wrong by a factor 2: caught by the gradient check."""
    hand_adjoint(X, r, params, out)
    out *= 0.5


def make(kind, **noise):
    noise = noise or dict(beta=BETA)
    if kind == "rank_one":
        return Sensing.rank_one(A, B, K, **noise)
    if kind == "rank_one_general":
        return Sensing.rank_one(A, B, K, c=C, **noise)
    return Sensing.from_operator(hand_forward, hand_adjoint, B, D, K, params=(A,), **noise)


KINDS = ["rank_one", "rank_one_general", "user"]


@pytest.mark.parametrize("kind", KINDS)
def test_logp_and_gradient_against_reference_and_finite_differences(kind):
    problem = make(kind)
    assert problem.operator == kind and problem.shape == (D, K) and problem.m == M_OBS
    c = A if kind != "rank_one_general" else C
    for X in np.random.default_rng(1).standard_normal((3, D, K)) / 2:
        loss, grad = reference_loss_grad(X, A, c, B)
        value, g = problem.logp_and_grad(X)
        assert value == pytest.approx(-BETA * loss, rel=1e-12)
        assert problem.loss(X) == pytest.approx(loss, rel=1e-12)
        np.testing.assert_allclose(g, -BETA * grad.ravel(), rtol=1e-11, atol=1e-11 * np.abs(grad).max())
        np.testing.assert_allclose(g, finite_difference_grad(problem, X.ravel()), rtol=1e-6, atol=1e-6)


def test_user_operator_equals_the_built_in_one():
    built_in, user = make("rank_one"), make("user")
    Xs = np.random.default_rng(2).standard_normal((4, D, K))
    np.testing.assert_allclose(user.forward(Xs), built_in.forward(Xs), rtol=1e-13)
    # A user operator's spectral moment matrix is A*(b) / m (the built-in one corrects for
    # the rank-one design's bias, 2 M + tr(M) I).
    np.testing.assert_allclose(user._moment_matrix(), (A.T * B) @ A / M_OBS, rtol=1e-12, atol=1e-14)
    for X in Xs:
        a, b = user.logp_and_grad(X), built_in.logp_and_grad(X)
        assert a[0] == pytest.approx(b[0], rel=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-11, atol=1e-12 * np.abs(b[1]).max())


def test_the_from_operator_docstring_example_runs():
    import re

    text = Sensing.from_operator.__doc__
    code = text[text.index("::") + 2:]
    code = "\n".join(line[12:] for line in code.splitlines())
    namespace = {}
    exec(compile(code, "<docstring>", "exec"), namespace)  # noqa: S102 - our own docstring
    problem = namespace["problem"]
    assert problem.operator == "user" and problem.shape == (10, 2)
    assert re.search("rank_one", text)


@pytest.mark.parametrize("kind", ["rank_one", "rank_one_general"])
def test_batch_evaluator_equals_per_point(kind):
    for noise in (dict(beta=BETA), dict(noise_prior=(1.0, 0.5))):
        problem = make(kind, **noise)
        if problem.unknown_noise:
            problem = problem.with_log_sigma_scale(0.3)
        xs = np.random.default_rng(4).standard_normal((7, problem.dim))
        grads, lps = np.empty_like(xs), np.empty(7)
        problem.batch_logp_grad(xs, problem.params, grads, lps)
        for c in range(7):
            value, grad = problem.logp_and_grad(xs[c])
            assert lps[c] == pytest.approx(value, rel=1e-12)
            np.testing.assert_allclose(grads[c], grad, rtol=1e-11, atol=1e-12 * np.abs(grad).max())


def test_rank_one_memory_is_the_vectors():
    problem = make("rank_one_general")
    # O(m d) storage: the two (m, d) matrices stacked, nothing of size d^2 per measurement.
    assert problem.u.shape == (2 * M_OBS, D)
    assert sum(p.size for p in problem.params) < 2 * M_OBS * D + M_OBS + 10


@pytest.mark.parametrize("operator", ["rank_one", "rank_one_general"])
def test_minimize_recovers_noiseless_truth_from_the_spectral_start(operator):
    problem, truth = synthetic_problem("sensing", 10, 2, m=200, noise_std=0, beta=1e4,
                                       operator=operator, rng=6)
    # The spectral moment matrix is an unbiased estimate of M: close with 200 measurements.
    X = problem.spectral_init()
    assert np.linalg.norm(X @ X.T - truth.M) < 0.8 * np.linalg.norm(truth.M)
    X0 = problem.minimize()
    assert np.linalg.norm(X0 @ X0.T - truth.M) < 1e-6 * np.linalg.norm(truth.M)


def test_synthetic_rank_one_measurements_are_the_stated_ones():
    problem, truth = synthetic_problem("sensing", 7, 2, m=30, noise_std=0.01, operator="rank_one",
                                       rng=3)
    residual = problem.forward(truth.X) - problem.b
    assert 0.004 < residual.std() < 0.02
    a = problem.u
    np.testing.assert_allclose(problem.forward(truth.X), np.einsum("id,de,ie->i", a, truth.M, a),
                               rtol=1e-12)


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: Sensing.rank_one(A[:, :, None], B, K, beta=1.0), ValueError, "a must be 2-D"),
        (lambda: Sensing.rank_one(A, B[:5], K, beta=1.0), ValueError, "b must have shape"),
        (lambda: Sensing.rank_one(A, B, K, c=C[:, :3], beta=1.0), ValueError, "c must have the shape of a"),
        (lambda: Sensing.rank_one(np.where(A > 2, np.nan, A), B, K, beta=1.0), ValueError, "a must be finite"),
        (lambda: Sensing.rank_one(A, B, D + 1, beta=1.0), ValueError, "rank must be <= d"),
        (lambda: Sensing.rank_one(A, B, K, noise_std=-1.0), ValueError, "noise_std must be finite and > 0"),
        (lambda: Sensing.from_operator(hand_forward.py_func, hand_adjoint, B, D, K, params=(A,), beta=1.0),
         TypeError, "forward must be a numba.njit"),
        (lambda: Sensing.from_operator(hand_forward, hand_adjoint, B, D, K, params=[A], beta=1.0),
         TypeError, "params must be a tuple"),
        (lambda: Sensing.from_operator(hand_forward, half_adjoint, B, D, K, params=(A,), beta=1.0),
         ValueError, "adjoint does not match forward"),
        (lambda: Sensing.from_operator(hand_forward, hand_adjoint, B, D, K, params=(A, "x"), beta=1.0),
         TypeError, "params\\[1\\] must be a numpy array"),
    ],
)
def test_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.fixture(scope="module")
def rank_one_run():
    problem, truth = synthetic_problem("sensing", 5, 2, m=150, noise_std=0.02, operator="rank_one",
                                       rng=3)
    idata = MatrixLangevin().sample(problem, draws=10000, tune=1000, chains=4, thin=10, rng=11,
                                    progressbar=False)
    return problem, truth, idata


@pytest.mark.statistical
def test_rank_one_m_covariance_matches_the_laplace_approximation(rank_one_run):
    from samplers.inference_data import arviz

    problem, _, idata = rank_one_run
    X0 = idata.matrix_summary["X0"].values
    X = idata.posterior["X"].values
    M = X @ np.swapaxes(X, -1, -2)
    exact = laplace_m_covariance(problem, X0).reshape(5, 5, 5, 5)
    az = arviz()
    for i, j in [(0, 0), (0, 1), (2, 3), (4, 4), (1, 4)]:
        values = M[:, :, i, j]
        # Relative standard error of a variance from n effective draws: sqrt(2 / n).
        ess = az.ess((values - values.mean()) ** 2)
        assert np.sqrt(2.0 / ess) < 0.04, f"too few effective draws for entry {(i, j)}: {ess:.0f}"
        # As for dense sensing (test_matrix_sampler): MC error (< 4%, ~3.5 of them) plus
        # ULA's bias at h = 0.1 / lambda_max (<= 5%) plus the O(1/beta) Laplace error.
        assert abs(values.var() / exact[i, j, i, j] - 1.0) < 0.15, (i, j)
    assert np.all(idata.matrix_summary["r_hat"].values <= 1.01)  # ArviZ rounds to 0.01


@pytest.mark.statistical
@pytest.mark.parametrize("operator", ["dense", "rank_one", "rank_one_general"])
@pytest.mark.parametrize("noise_prior", [None, (0.0, 0.0)], ids=["known", "unknown"])
def test_intervals_of_m_cover_the_truth(operator, noise_prior):
    # Entries of one problem share their errors (a few noise directions move them all),
    # so one problem's coverage varies by ~0.1: it is pooled over ten independent
    # problems (the issue asks for at least 5), standard error ~0.03, and the band
    # 0.85-0.95 is about 1.7 of them each way.  m = 240 = 15 dk measurements: near the
    # Laplace regime, where the flat-prior posterior's intervals are frequentist ones too
    # (at m = 160 general rank-one covers 0.82 over 10 problems, ULA and MALA alike: a
    # property of the posterior, not of the sampler).
    covered = total = 0
    iu = np.triu_indices(8)
    for seed in range(10):
        problem, truth = synthetic_problem("sensing", 8, 2, m=240, noise_std=0.05,
                                           noise_prior=noise_prior, operator=operator, rng=200 + seed)
        idata = MatrixLangevin().sample(problem, draws=1000, tune=500, chains=2, thin=2, rng=seed,
                                        progressbar=False)
        s = idata.matrix_summary
        inside = (s["M_lower"].values <= truth.M) & (truth.M <= s["M_upper"].values)
        covered += inside[iu].sum()
        total += iu[0].size
    assert 0.85 <= covered / total <= 0.95, covered / total


@pytest.mark.parametrize("operator", ["rank_one", "rank_one_general"])
def test_rank_one_kernel_over_tiles_parts_and_column_blocks(operator):
    # The fused kernel cuts the measurements into RANK_ONE_PARTS parts, each into tiles of
    # RANK_ONE_TILE rows of U, the columns of the stacked chains into blocks of at most
    # RANK_ONE_VECTORS vectors of LANES doubles and the rows of X_cat into chunks of
    # RANK_ONE_CHUNK, its register groups into rows and leftovers: here several of each and
    # a partial last one (m, d, n k multiples of none), against the NumPy loss and gradient.
    from samplers.matrix.kernels import (LANES, RANK_ONE_CHUNK, RANK_ONE_PARTS, RANK_ONE_TILE,
                                         RANK_ONE_VECTORS)

    d, k, m, n = 203, 5, 501, 9
    rng = np.random.default_rng(9)
    a, c = rng.standard_normal((m, d)), rng.standard_normal((m, d))
    b = rng.standard_normal(m)
    problem = Sensing.rank_one(a, b, k, c=None if operator == "rank_one" else c, beta=BETA)
    assert m > 2 * RANK_ONE_PARTS * RANK_ONE_TILE and m % RANK_ONE_TILE != 0
    assert n * k > RANK_ONE_VECTORS * LANES and d > 2 * RANK_ONE_CHUNK
    c = a if operator == "rank_one" else c
    xs = rng.standard_normal((n, d * k)) / np.sqrt(d)
    grads, lps = np.empty_like(xs), np.empty(n)
    problem.batch_logp_grad(xs, problem.params, grads, lps)
    for x, g, lp in zip(xs, grads, lps):
        loss, grad = rank_one_loss_grad(a, c, b, x.reshape(d, k))
        assert lp == pytest.approx(-BETA * loss, rel=1e-12)
        np.testing.assert_allclose(g, -BETA * grad.ravel(), rtol=1e-10, atol=1e-11 * np.abs(grad).max())


def test_rank_one_kernel_is_the_same_on_any_number_of_threads():
    # Fixed parts summed in a fixed order: bitwise the same on 1 and 2 threads, and at one point.
    import numba

    rng = np.random.default_rng(4)
    d, k, m = 50, 3, 301
    problem = Sensing.rank_one(rng.standard_normal((m, d)), rng.standard_normal(m), k, beta=BETA)
    xs = rng.standard_normal((8, d * k))
    results = []
    threads = numba.get_num_threads()
    try:
        for t in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(t)
            grads, lps = np.empty_like(xs), np.empty(8)
            problem.batch_logp_grad(xs, problem.params, grads, lps)
            results.append((grads, lps))
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    # The one-point kernel runs the same parts in series: the same bits as a row of the batch.
    for x, g, lp in zip(xs, *results[0]):
        grad = np.empty_like(x)
        assert problem.logp_grad(x, problem.params, grad) == lp
        np.testing.assert_array_equal(grad, g)
