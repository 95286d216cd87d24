"""Random orthogonal moves X -> X O (kernels.symmetry)."""
import numpy as np
from scipy import stats

from samplers._rng import chain_keys
from samplers.kernels.symmetry import haar_orthogonal, orthogonal_move


def haar_draws(k, n, seed=0):
    key = chain_keys(seed, 1)[0]
    out = np.empty((n, k, k))
    for step in range(n):
        haar_orthogonal(key, step, 0, out[step])
    return out


def test_haar_matrices_are_orthogonal_with_both_determinants():
    qs = haar_draws(3, 2000)
    np.testing.assert_allclose(qs @ qs.transpose(0, 2, 1), np.broadcast_to(np.eye(3), qs.shape),
                               atol=1e-12)
    dets = np.linalg.det(qs)
    np.testing.assert_allclose(np.abs(dets), 1.0, atol=1e-12)
    # P(det = -1) = 1/2 under Haar: binomial standard error sqrt(0.25/2000) = 0.011,
    # tolerance 4 standard errors.
    assert abs(np.mean(dets < 0) - 0.5) < 4 * np.sqrt(0.25 / 2000)


def test_haar_matrices_are_haar_distributed():
    # Under Haar measure on O(k), Q e1 is uniform on the sphere, so the first
    # entry Q[0, 0] has the density of a coordinate of a uniform unit vector:
    # (Q00 + 1) / 2 ~ Beta((k-1)/2, (k-1)/2).  A biased generator (for
    # example plain QR without the sign fix) fails this KS test.
    k = 4
    qs = haar_draws(k, 4000, seed=1)
    a = (k - 1) / 2
    for i, j in [(0, 0), (1, 2), (3, 3)]:
        assert stats.kstest((qs[:, i, j] + 1) / 2, stats.beta(a, a).cdf).pvalue > 0.001


def test_orthogonal_move_multiplies_x_and_gradient():
    d, k = 5, 3
    rng = np.random.default_rng(0)
    x = rng.normal(size=(d, k))
    g = rng.normal(size=(d, k))
    key = chain_keys(7, 1)[0]
    q = np.empty((k, k))
    haar_orthogonal(key, 11, 2, q)
    xf, gf = x.reshape(-1).copy(), g.reshape(-1).copy()
    orthogonal_move(xf, gf, k, key, 11, 2, np.empty((k, k)), np.empty(k))
    np.testing.assert_allclose(xf.reshape(d, k), x @ q, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gf.reshape(d, k), g @ q, rtol=1e-13, atol=1e-14)
