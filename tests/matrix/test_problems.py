"""Matrix problems: log density and gradient against direct formulas, batch = per point,
orthogonal invariance, minimisers, Hessian, synthetic problems, errors."""
import numpy as np
import pytest

from reference import finite_difference_grad
from samplers.matrix import Completion, Factorization, Sensing, synthetic_problem

D, K = 5, 2
BETA = 3.0
RNG = np.random.default_rng(20)
SYM = RNG.standard_normal((D, D))
SYM = SYM + SYM.T
# Non-symmetric sensing matrices: only their symmetric part may matter.
A3 = RNG.standard_normal((12, D, D))
B = RNG.standard_normal(12)
# Observed pairs given in both orientations and including the diagonal.
ROWS = np.array([0, 1, 3, 4, 2, 2, 0, 4, 1])  # (3, 0), (4, 2), (2, 0) below the diagonal
COLS = np.array([0, 3, 0, 2, 2, 0, 4, 4, 1])
VALUES = RNG.standard_normal(ROWS.size)


def direct_loss(name, X):
    """The loss written from the definitions, with the original (unpacked, unsorted) data."""
    Z = X @ X.T
    if name == "factorization":
        return np.sum((Z - SYM) ** 2)
    if name == "sensing":
        return np.sum((np.array([np.trace(a.T @ Z) for a in A3]) - B) ** 2)
    return np.sum((Z[ROWS, COLS] - VALUES) ** 2)


def direct_loss_grad(name, X):
    Z = X @ X.T
    if name == "factorization":
        return 4 * (Z - SYM) @ X
    if name == "sensing":
        r = np.array([np.trace(a.T @ Z) for a in A3]) - B
        return 2 * sum(ri * (a + a.T) @ X for ri, a in zip(r, A3))
    G = np.zeros_like(X)
    for i, j, v in zip(ROWS, COLS, VALUES):
        r = X[i] @ X[j] - v
        G[i] += 2 * r * X[j]
        G[j] += 2 * r * X[i]
    return G


def make(name, **kwargs):
    kwargs = kwargs or dict(beta=BETA)
    if name == "factorization":
        return Factorization(SYM, K, **kwargs)
    if name == "sensing":
        return Sensing(A3, B, K, **kwargs)
    return Completion(ROWS, COLS, VALUES, D, K, **kwargs)


NAMES = ["factorization", "sensing", "completion"]


@pytest.mark.parametrize("name", NAMES)
def test_logp_and_gradient_against_direct_formula_and_finite_differences(name):
    problem = make(name)
    assert problem.shape == (D, K) and problem.name == "X" and problem.dim == D * K
    for X in np.random.default_rng(1).standard_normal((3, D, K)):
        value, grad = problem.logp_and_grad(X)
        expected = -BETA * direct_loss(name, X)
        assert value == pytest.approx(expected, rel=1e-12)
        assert problem.loss(X) == pytest.approx(direct_loss(name, X), rel=1e-12)
        np.testing.assert_allclose(grad, -BETA * direct_loss_grad(name, X).ravel(), rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(grad, finite_difference_grad(problem, X.ravel()), rtol=1e-6, atol=1e-6)
        # loss = ||forward(X) - b||^2 whatever the problem.
        assert np.sum((problem.forward(X) - problem.b) ** 2) == pytest.approx(direct_loss(name, X), rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_loss_and_forward_are_vectorised(name):
    problem = make(name)
    Xs = np.random.default_rng(2).standard_normal((4, 3, D, K))
    losses = problem.loss(Xs)
    assert losses.shape == (4, 3)
    assert losses[2, 1] == pytest.approx(direct_loss(name, Xs[2, 1]), rel=1e-12)
    assert problem.forward(Xs).shape == (4, 3, problem.m)


def test_sensing_matrix_forms_agree():
    a = Sensing(A3, B, K, beta=BETA)
    b = Sensing(A3.reshape(12, D * D), B, K, beta=BETA)
    # A_i and A_i^T have the same symmetric part: the same problem.
    c = Sensing(A3.transpose(0, 2, 1), B, K, beta=BETA)
    assert np.array_equal(a.s_packed, b.s_packed)
    np.testing.assert_allclose(a.s_packed, c.s_packed, rtol=1e-15, atol=1e-15)
    assert a.s_packed.shape == (12, D * (D + 1) // 2) and a.m == 12
    X = np.random.default_rng(3).standard_normal((D, K))
    assert a.logp_and_grad(X)[0] == b.logp_and_grad(X)[0]


def test_only_sensing_is_batched():
    assert make("factorization").batch_logp_grad is None
    assert make("completion").batch_logp_grad is None


def test_batch_evaluator_equals_per_point():
    name = "sensing"
    problem = make(name)
    xs = np.random.default_rng(4).standard_normal((6, D * K))
    grads = np.empty_like(xs)
    lps = np.empty(6)
    problem.batch_logp_grad(xs, problem.params, grads, lps)
    for c in range(6):
        value, grad = problem.logp_and_grad(xs[c])
        assert lps[c] == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(grads[c], grad, rtol=1e-12, atol=1e-12 * np.abs(grad).max())
    # One compiled version per problem class, however many problems are built.
    make(name, noise_std=0.5)
    assert len(problem.batch_logp_grad.signatures) == 1
    assert len(problem.logp_grad.signatures) == 1


@pytest.mark.parametrize("name", NAMES)
def test_logp_invariant_under_orthogonal_transformations(name):
    problem = make(name)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((D, K))
    O, _ = np.linalg.qr(rng.standard_normal((K, K)))
    for Q in (O, O @ np.diag([1.0, -1.0])):
        sign = np.linalg.det(Q)
        assert abs(abs(sign) - 1) < 1e-12
        assert problem.logp_and_grad(X @ Q)[0] == pytest.approx(problem.logp_and_grad(X)[0], rel=1e-12)
    assert np.linalg.det(O) * np.linalg.det(O @ np.diag([1.0, -1.0])) < 0


SIZES = {"factorization": {}, "sensing": dict(m=3 * 10 * 2), "completion": dict(n_observed=40)}


@pytest.mark.parametrize("kind", NAMES)
def test_minimize_recovers_noiseless_truth(kind):
    problem, truth = synthetic_problem(kind, 10, 2, noise_std=0, beta=1e4, rng=6, **SIZES[kind])
    X0 = problem.minimize()
    assert X0.shape == (10, 2)
    assert np.linalg.norm(X0 @ X0.T - truth.M) < 1e-6 * np.linalg.norm(truth.M)


@pytest.mark.parametrize("kind", NAMES)
def test_minimize_reaches_the_noise_floor(kind):
    problem, truth = synthetic_problem(kind, 10, 2, noise_std=1e-3, rng=7, **SIZES[kind])
    X0 = problem.minimize()
    # The truth is a feasible point: the minimiser's loss is at most its loss,
    # which is about m noise_std^2 (here m noise_std^2 / 2 at least).
    assert problem.loss(X0) <= problem.loss(truth.X) * (1 + 1e-9)
    assert problem.loss(X0) > 0
    assert np.linalg.norm(X0 @ X0.T - truth.M) < 0.05 * np.linalg.norm(truth.M)


def test_default_initial_is_a_rotated_spectral_start():
    problem, truth = synthetic_problem("factorization", 8, 3, noise_std=0, beta=1.0, rng=8)
    rng = np.random.default_rng(0)
    starts = [problem.default_initial(rng).reshape(8, 3) for _ in range(20)]
    signs = set()
    for X in starts:
        np.testing.assert_allclose(X @ X.T, truth.M, atol=1e-12)
        # X = V O with V the spectral start: the sign of det(O) tells the component.
        signs.add(np.sign(np.linalg.det(np.linalg.lstsq(problem.spectral_init(), X, rcond=None)[0])))
    assert signs == {-1.0, 1.0}


def test_spectral_init_is_exact_for_noiseless_factorization():
    problem, truth = synthetic_problem("factorization", 8, 3, noise_std=0, beta=1.0, rng=8)
    X = problem.spectral_init()
    np.testing.assert_allclose(X @ X.T, truth.M, atol=1e-12)


def dense_hessian_fd(problem, x, eps=1e-5):
    """Hessian of -logp by central differences of the compiled gradient."""
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        H[:, i] = -(problem.logp_and_grad(x + e)[1] - problem.logp_and_grad(x - e)[1]) / (2 * eps)
    return 0.5 * (H + H.T)


@pytest.mark.parametrize("name", NAMES)
def test_hessian_max_eig_against_finite_differences(name):
    problem = make(name)
    rng = np.random.default_rng(9)
    X0 = problem.minimize()
    for X in (rng.standard_normal((D, K)), X0):
        expected = np.linalg.eigvalsh(dense_hessian_fd(problem, X.ravel()))[-1]
        assert problem.hessian_max_eig(X) == pytest.approx(expected, rel=1e-6)
    # Hessian-vector products of the loss against the dense Hessian.
    V = rng.standard_normal((D, K))
    H = dense_hessian_fd(problem, X0.ravel()) / BETA
    np.testing.assert_allclose(problem.hessian_vector(X0, V).ravel(), H @ V.ravel(), rtol=1e-6,
                               atol=1e-6 * np.abs(H).max())


def test_hessian_max_eig_lanczos_path_matches_dense():
    problem, truth = synthetic_problem("completion", 40, 2, n_observed=400, noise_std=1e-2, rng=10)
    assert problem.dim > 60  # Lanczos path
    X = truth.X
    H = np.stack([problem.hessian_vector(X, e.reshape(40, 2)).ravel() for e in np.eye(80)], axis=1)
    expected = problem.beta * np.linalg.eigvalsh(0.5 * (H + H.T))[-1]
    assert problem.hessian_max_eig(X) == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_noise_std_sets_beta(name):
    problem = make(name, noise_std=0.1)
    assert problem.beta == pytest.approx(1 / (2 * 0.1 ** 2), rel=1e-15)
    assert problem.noise_std == 0.1
    problem = make(name, beta=50.0)
    assert problem.beta == 50.0 and problem.noise_std == pytest.approx(0.1, rel=1e-15)
    X = np.ones((D, K))
    assert problem.logp_and_grad(X)[0] == pytest.approx(-50.0 * problem.loss(X), rel=1e-12)


def test_completion_stores_each_pair_once_upper_and_sorted():
    problem = make("completion")
    assert problem.m == ROWS.size
    assert np.all(problem.rows <= problem.cols)
    assert np.all(np.diff(problem.rows * D + problem.cols) > 0)


@pytest.mark.parametrize(
    "make_problem, error, match",
    [
        (lambda: Factorization(SYM, 0, beta=1.0), ValueError, "rank must be >= 1"),
        (lambda: Factorization(SYM, D + 1, beta=1.0), ValueError, "rank must be <= d"),
        (lambda: Factorization(SYM, 1.5, beta=1.0), TypeError, "rank must be an int"),
        (lambda: Factorization(SYM, K, noise_prior=(-1.0, 0.0)), ValueError,
         "noise_prior: a must be finite and >= 0"),
        (lambda: Factorization(SYM, K, noise_prior=(1.0, np.nan)), ValueError,
         "noise_prior: b0 must be finite and >= 0"),
        (lambda: Factorization(SYM, K, noise_prior=(1.0,)), TypeError, "noise_prior must be a pair"),
        (lambda: Factorization(SYM, K, noise_prior="ab"), TypeError, "noise_prior must be a pair"),
        (lambda: Factorization(SYM, K, noise_prior=(1.0, "x")), TypeError, "noise_prior: b0 must be a number"),
        (lambda: Factorization(SYM, K, noise_std=0.1, noise_prior=(1.0, 1.0)), ValueError,
         "noise_prior is the prior of an unknown noise level.*not with noise_std=0.1"),
        (lambda: Sensing(A3, B, K, beta=2.0, noise_prior=(1.0, 1.0)), ValueError,
         "noise_prior .*not with beta=2.0"),
        (lambda: Completion(ROWS, COLS, VALUES, D, K, noise_std=-0.5), ValueError,
         "noise_std must be finite and > 0"),
        (lambda: Factorization(SYM, K, beta=1.0, noise_std=1.0), ValueError, "exactly one of beta and noise_std"),
        (lambda: Factorization(SYM, K, beta=0.0), ValueError, "beta must be finite and > 0"),
        (lambda: Factorization(SYM, K, beta=np.inf), ValueError, "beta must be finite and > 0"),
        (lambda: Factorization(SYM, K, noise_std=-1.0), ValueError, "noise_std must be finite and > 0"),
        (lambda: Factorization(SYM[:, :3], K, beta=1.0), ValueError, "M must be a square matrix"),
        (lambda: Factorization(SYM + np.triu(np.ones((D, D)), 1), K, beta=1.0), ValueError, "M must be symmetric"),
        (lambda: Factorization(np.where(np.eye(D) > 0, np.nan, SYM), K, beta=1.0), ValueError, "M must be finite"),
        (lambda: Factorization([["a"]], 1, beta=1.0), TypeError, "M must be an array of real numbers"),
        (lambda: Sensing(A3[:, :, :3], B, K, beta=1.0), ValueError, "A must be square per slice"),
        (lambda: Sensing(A3.reshape(12, -1)[:, :24], B, K, beta=1.0), ValueError, "A given as \\(m, d\\*d\\)"),
        (lambda: Sensing(A3[0, 0], B, K, beta=1.0), ValueError, "A must have shape"),
        (lambda: Sensing(A3, B[:5], K, beta=1.0), ValueError, "b must have shape"),
        (lambda: Sensing(np.where(A3 > 2, np.inf, A3), B, K, beta=1.0), ValueError, "A must be finite"),
        (lambda: Sensing(A3, np.full(12, np.nan), K, beta=1.0), ValueError, "b must be finite"),
        (lambda: Sensing(A3, B, D + 1, beta=1.0), ValueError, "rank must be <= d"),
        (lambda: Completion(ROWS, COLS, VALUES, D, K, noise_std=0.0), ValueError, "noise_std"),
        (lambda: Completion([0, D], [0, 1], [1.0, 1.0], D, K, beta=1.0), ValueError, "rows must be in"),
        (lambda: Completion([0, 1], [-1, 1], [1.0, 1.0], D, K, beta=1.0), ValueError, "cols must be in"),
        (lambda: Completion([0.0, 1.0], [0, 1], [1.0, 1.0], D, K, beta=1.0), TypeError, "rows must be an array of integers"),
        (lambda: Completion([0, 1], [0, 1], [1.0, np.nan], D, K, beta=1.0), ValueError, "values must be finite"),
        (lambda: Completion([0, 1, 0], [0, 1, 0], [1.0, 1.0, 2.0], D, K, beta=1.0), ValueError,
         "rows, cols: entry \\(0, 0\\) is observed more than once"),
        (lambda: Completion([1, 3], [3, 1], [1.0, 1.0], D, K, beta=1.0), ValueError,
         "rows, cols: entry \\(1, 3\\) is observed more than once.*mirror"),
        (lambda: Completion([0, 1], [0, 1, 2], [1.0, 1.0], D, K, beta=1.0), ValueError, "rows, cols and values"),
        (lambda: Completion([[0]], [[0]], [[1.0]], D, K, beta=1.0), ValueError, "rows must be 1-D"),
        (lambda: Completion([0], [0], [1.0], 0, 1, beta=1.0), ValueError, "d must be >= 1"),
        (lambda: Completion([0], [0], [1.0], D, D + 1, beta=1.0), ValueError, "rank must be <= d"),
        (lambda: Completion([], [], [], D, K, beta=1.0), ValueError, "rows must not be empty"),
    ],
)
def test_bad_input(make_problem, error, match):
    with pytest.raises(error, match=match):
        make_problem()


def test_bad_method_arguments():
    problem = make("factorization")
    with pytest.raises(ValueError, match="X_init must have shape"):
        problem.minimize(np.ones((D, K + 1)))
    with pytest.raises(ValueError, match="X_init must be a finite"):
        problem.minimize(np.full((D, K), np.nan))
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        problem.minimize(max_iter=0)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        problem.minimize(tol=-1.0)
    with pytest.raises(ValueError, match="X must have shape"):
        problem.hessian_max_eig(np.ones(D * K))
    with pytest.raises(ValueError, match="X must have shape"):
        problem.loss(np.ones((D, K + 1)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kind="svd"), "kind must be one of"),
        (dict(m=10), "m is only for kind='sensing'"),
        (dict(kind="sensing", n_observed=10), "n_observed is only for kind='completion'"),
        (dict(kind="completion", n_observed=16), "n_observed must be <= d\\(d\\+1\\)/2"),
        (dict(noise_std=0.0), "beta is required when noise_std is 0"),
        (dict(rank=6), "rank must be <= d"),
    ],
)
def test_synthetic_bad_input(kwargs, match):
    args = dict(kind="factorization", d=5, rank=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        synthetic_problem(args.pop("kind"), args.pop("d"), args.pop("rank"), **args)


def test_synthetic_problems_shapes_distinct_and_reproducible():
    d, k = 30, 3
    problem, truth = synthetic_problem("completion", d, k, n_observed=300, noise_std=0.01, rng=11)
    assert isinstance(problem, Completion) and problem.m == 300 and problem.d == d and problem.rank == k
    assert truth.X.shape == (d, k) and truth.M.shape == (d, d)
    np.testing.assert_allclose(truth.M, truth.X @ truth.X.T, atol=1e-15)
    pairs = set(zip(problem.rows.tolist(), problem.cols.tolist()))
    assert len(pairs) == 300 and all(i <= j < d for i, j in pairs)
    assert np.sum(problem.rows == problem.cols) > 0  # the diagonal can be observed
    # Noise of the stated size: residuals at the truth have sd noise_std.
    residual = problem.forward(truth.X) - problem.b
    assert 0.007 < residual.std() < 0.013
    assert problem.beta == pytest.approx(1 / (2 * 0.01 ** 2))
    again, truth2 = synthetic_problem("completion", d, k, n_observed=300, noise_std=0.01, rng=11)
    assert np.array_equal(again.rows, problem.rows) and np.array_equal(again.values, problem.values)
    assert np.array_equal(truth2.X, truth.X)

    sensing, st = synthetic_problem("sensing", 6, 2, m=50, noise_std=0.01, rng=12)
    assert isinstance(sensing, Sensing) and sensing.m == 50 and sensing.s_packed.shape == (50, 21)
    factor, ft = synthetic_problem("factorization", 6, 2, noise_std=0.01, rng=12)
    assert isinstance(factor, Factorization) and factor.m == 36
    np.testing.assert_allclose(factor.M, factor.M.T)
    # Singular values of the truth are O(1) by construction (entries N(0, 1/d)).
    top = np.linalg.eigvalsh(synthetic_problem("factorization", 200, 2, noise_std=0.1, rng=13)[1].M)[-2:]
    assert np.all((top > 0.5) & (top < 2.0))


def test_sensing_normal_equations_match_the_direct_form():
    # m > p = d(d+1)/2: the kernels work with Q = S^T S; the direct kernel on
    # S itself must give the same log density and gradient (to rounding of
    # the |b|^2 cancellation, about eps |b|^2 relative to the loss scale).
    from samplers.matrix.kernels import sensing_logp_grad, sensing_logp_grad_batch

    problem, truth = synthetic_problem("sensing", 5, 2, m=60, noise_std=0.01, rng=21)
    assert problem.normal_equations
    direct = (problem.s_packed, problem.b, np.zeros(1)) + problem.params[3:]
    xs = truth.X.reshape(1, -1) + 0.05 * np.random.default_rng(0).standard_normal((4, 10))
    scale = problem.beta * problem.b @ problem.b
    for x in xs:
        g1, g2 = np.empty(10), np.empty(10)
        lp1 = problem.logp_grad(x, problem.params, g1)
        lp2 = sensing_logp_grad(x, direct, g2)
        assert abs(lp1 - lp2) < 1e-12 * scale
        np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-12 * np.abs(g2).max())
    g_batch, lp_batch = np.empty_like(xs), np.empty(4)
    problem.batch_logp_grad(xs, problem.params, g_batch, lp_batch)
    g_direct, lp_direct = np.empty_like(xs), np.empty(4)
    sensing_logp_grad_batch(xs, direct, g_direct, lp_direct)
    np.testing.assert_allclose(lp_batch, lp_direct, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(g_batch, g_direct, rtol=1e-9, atol=1e-12 * np.abs(g_direct).max())
    # Few measurements: the direct form is kept.
    assert not synthetic_problem("sensing", 5, 2, m=10, noise_std=0.01, rng=21)[0].normal_equations


@pytest.mark.parametrize("d, k, n", [(1, 1, 1), (3, 3, 5), (7, 2, 11), (13, 9, 8)])
@pytest.mark.parametrize("noise", ["known", "unknown"])
def test_dense_sensing_lanes_match_the_direct_form(d, k, n, noise):
    # The normal-equations kernel holds the points as the lanes of a vector (LANES at a
    # time, the rest of a group zero): every point count up to and past one group, ranks
    # above LANES, d = 1, and the extra log-sigma coordinate, against the direct kernel
    # on S itself (the |b|^2 cancellation: about eps |b|^2 relative to the loss scale).
    from samplers.matrix import kernels

    rng = np.random.default_rng(d * 100 + k)
    p = d * (d + 1) // 2
    m = p + 20
    prior = {"known": {"noise_std": 0.3}, "unknown": {"noise_prior": (2.0, 1.0)}}[noise]
    problem = Sensing(rng.standard_normal((m, d, d)), rng.standard_normal(m), k, **prior)
    assert problem.normal_equations
    direct = (problem.s_packed, problem.b, np.zeros(1)) + problem.params[3:]
    xs = rng.standard_normal((n, problem.dim)) / np.sqrt(d)
    grads, lps = np.empty_like(xs), np.empty(n)
    problem.batch_logp_grad(xs, problem.params, grads, lps)
    g_direct, lp_direct = np.empty_like(xs), np.empty(n)
    kernels.sensing_logp_grad_batch(xs, direct, g_direct, lp_direct)
    scale = problem.b @ problem.b * max(1.0, np.abs(lp_direct).max())
    np.testing.assert_allclose(lps, lp_direct, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(grads, g_direct, rtol=1e-9, atol=1e-12 * np.abs(g_direct).max())
    for x, g, lp in zip(xs, grads, lps):  # one point: a batch row's bits
        grad = np.empty_like(x)
        assert problem.logp_grad(x, problem.params, grad) == lp
        np.testing.assert_array_equal(grad, g)


@pytest.mark.parametrize("p", [1, 5, 12, 13, 30, 101])
def test_symmetric_product_reads_the_upper_triangle_only(p):
    # Z Q from Q's upper triangle, for every chain count one vector holds (1 to LANES)
    # and sizes below, at and past whole passes of SYMMETRIC_ROWS rows: NaN below the
    # diagonal would reach the result if any of it were read.  Against NumPy's product
    # with the symmetric Q, to rounding (a few eps times the sum of |terms|).
    from samplers.matrix.kernels import LANES, symmetric_product

    rng = np.random.default_rng(p)
    A = rng.standard_normal((p + 3, p))
    Q = A.T @ A
    upper_only = np.where(np.tri(p, k=-1, dtype=bool), np.nan, Q)
    for n in range(1, LANES + 1):
        Z = rng.standard_normal((n, p))
        bound = 1e-14 * p * (np.abs(Z) @ np.abs(Q))
        np.testing.assert_array_less(np.abs(symmetric_product(upper_only, Z) - Z @ Q), bound + 1e-300)


def test_symmetric_product_and_dense_sensing_are_the_same_on_any_number_of_threads():
    # The triangle's parts are fixed and summed in order: the parallel product gives the
    # bits of the parts in series, on 1 and 2 threads; the one-point kernel gives a batch
    # row's bits, above and below the size from which the batch runs the parts on threads;
    # more than LANES chains go LANES at a time.
    import numba

    from samplers.matrix.kernels import (LANES, SYMMETRIC_PARALLEL_MIN_ROWS, SYMMETRIC_PARTS,
                                         _symmetric_parts_in_series, symmetric_product)

    rng = np.random.default_rng(5)
    p = 57
    A = rng.standard_normal((p + 3, p))
    Q, Z = A.T @ A, rng.standard_normal((LANES, p))
    threads = numba.get_num_threads()
    try:
        results = []
        for t in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(t)
            results.append(symmetric_product(Q, Z))
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(results[0], results[1])
    ZT = np.ascontiguousarray(Z.T)
    YTs = np.empty((SYMMETRIC_PARTS, p, LANES))
    _symmetric_parts_in_series(Q, ZT, YTs)
    np.testing.assert_array_equal(results[0], (YTs[0] + YTs[1]).T)
    for d in (6, 45):  # p = 21 and 1035: in series and on threads
        assert (d * (d + 1) // 2 >= SYMMETRIC_PARALLEL_MIN_ROWS) == (d == 45)
        problem, _ = synthetic_problem("sensing", d, 2, m=d * (d + 1) // 2 + 10, noise_std=0.1,
                                       rng=d)
        assert problem.normal_equations
        xs = rng.standard_normal((LANES + 3, 2 * d)) / np.sqrt(d)  # two groups of chains
        grads, lps = np.empty_like(xs), np.empty(len(xs))
        problem.batch_logp_grad(xs, problem.params, grads, lps)
        for x, g, lp in zip(xs, grads, lps):
            grad = np.empty_like(x)
            assert problem.logp_grad(x, problem.params, grad) == lp
            np.testing.assert_array_equal(grad, g)


@pytest.mark.parametrize("k", [1, 3, 8, 9, 17])
def test_completion_kernel_any_rank_against_the_direct_formula(k):
    # The kernel pads rows to whole vectors of 8 doubles: one vector (k <= 8, X_i and the
    # row's gradient in registers, observations in pairs plus an odd one) or several
    # (k > 8, blocks in memory); every case must give the direct formula.
    from samplers.matrix.kernels import LANES

    d = 20
    rng = np.random.default_rng(k)
    # Every diagonal entry observed (a proper posterior for any rank), 60% of the others.
    pairs = [(i, j) for i in range(d) for j in range(i, d) if i == j or rng.random() < 0.6]
    rows, cols = np.array(pairs).T
    values = rng.standard_normal(rows.size)
    problem = Completion(rows, cols, values, d, k, beta=BETA)
    assert (k <= LANES) == (-(-k // LANES) == 1)
    for X in rng.standard_normal((2, d, k)):
        Z = X @ X.T
        r = Z[rows, cols] - values
        G = np.zeros((d, k))
        for e, (i, j) in enumerate(zip(rows, cols)):
            G[i] += 2 * r[e] * X[j]
            G[j] += 2 * r[e] * X[i]
        value, grad = problem.logp_and_grad(X)
        assert value == pytest.approx(-BETA * np.sum(r ** 2), rel=1e-12)
        np.testing.assert_allclose(grad, -BETA * G.ravel(), rtol=1e-11, atol=1e-11 * np.abs(G).max())
