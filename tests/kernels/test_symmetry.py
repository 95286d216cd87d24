"""Haar-random orthogonal matrices: the compiled generator and moves X -> X O
(kernels.symmetry) and the NumPy generator of chains' start rotations
(matrix.invariants)."""
import numpy as np
import pytest
from scipy import stats

from samplers._rng import chain_keys
from samplers.kernels.symmetry import haar_orthogonal, orthogonal_move
from samplers.matrix import invariants


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


def numpy_haar_draws(k, n, seed=0, det=None):
    rng = np.random.default_rng(seed)
    return np.stack([invariants.haar_orthogonal(k, rng, det=det) for _ in range(n)])


def qr_without_sign_fix(k, n, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([np.linalg.qr(rng.standard_normal((k, k)))[0] for _ in range(n)])


def haar_entries_pvalue(qs):
    """The smallest KS p-value of three entries of the draws ``qs`` (n, k, k) against
    Haar.  Under Haar measure on O(k), or on either coset of SO(k) (k >= 2), each
    column Q e_j is uniform on the sphere, so an entry has the density of a
    coordinate of a uniform unit vector: (Q_ij + 1) / 2 ~ Beta((k-1)/2, (k-1)/2)."""
    k = qs.shape[1]
    a = (k - 1) / 2
    return min(stats.kstest((qs[:, i, j] + 1) / 2, stats.beta(a, a).cdf).pvalue
               for i, j in [(0, 0), (1, 2), (3, 3)])


@pytest.mark.parametrize("draws", [
    lambda k, n: haar_draws(k, n, seed=1),
    lambda k, n: numpy_haar_draws(k, n, seed=1),
    lambda k, n: numpy_haar_draws(k, n, seed=2, det=1),
    lambda k, n: numpy_haar_draws(k, n, seed=3, det=-1),
], ids=["compiled", "numpy", "numpy-det+1", "numpy-det-1"])
def test_haar_matrices_are_haar_distributed(draws):
    # Three KS tests at level 0.001 each: a false alarm about 0.3% per case.
    assert haar_entries_pvalue(draws(4, 4000)) > 0.001


def test_haar_test_has_power():
    # Plain QR without the sign fix is not Haar (LAPACK's R has a sign
    # convention that biases the diagonal of Q): the test above must fail it.
    assert haar_entries_pvalue(qr_without_sign_fix(4, 4000, seed=1)) < 1e-6


def test_numpy_haar_is_orthogonal_with_the_requested_determinant():
    for det in (None, 1, -1):
        qs = numpy_haar_draws(3, 500, seed=4, det=det)
        np.testing.assert_allclose(qs @ qs.transpose(0, 2, 1),
                                   np.broadcast_to(np.eye(3), qs.shape), atol=1e-12)
        dets = np.linalg.det(qs)
        if det is None:
            # P(det = -1) = 1/2; binomial se sqrt(0.25/500) = 0.022, tolerance 4 se.
            assert abs(np.mean(dets < 0) - 0.5) < 4 * np.sqrt(0.25 / 500)
        else:
            np.testing.assert_allclose(dets, det, atol=1e-12)


def test_chain_rotation_alternates_determinants_and_is_reproducible():
    rotations = [invariants.chain_rotation(3, 42, c) for c in range(6)]
    np.testing.assert_allclose([np.linalg.det(r) for r in rotations], [1, -1] * 3, atol=1e-12)
    assert np.array_equal(invariants.chain_rotation(3, 42, 4), rotations[4])
    assert not np.allclose(invariants.chain_rotation(3, 43, 4), rotations[4])
    assert not np.allclose(rotations[0], rotations[2])


def test_orthogonal_move_multiplies_x_and_gradient():
    d, k = 5, 3
    rng = np.random.default_rng(0)
    x = rng.normal(size=(d, k))
    g = rng.normal(size=(d, k))
    key = chain_keys(7, 1)[0]
    q = np.empty((k, k))
    haar_orthogonal(key, 11, 2, q)
    xf, gf = x.reshape(-1).copy(), g.reshape(-1).copy()
    orthogonal_move(xf, gf, k, xf.shape[0] // k, key, 11, 2, np.empty((k, k)), np.empty(k))
    np.testing.assert_allclose(xf.reshape(d, k), x @ q, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gf.reshape(d, k), g @ q, rtol=1e-13, atol=1e-14)
