"""Gaussian targets: the exact answers every sampler is tested against.

``Gaussian(mean, cov)`` has log density ``-(x - m)^T P (x - m) / 2`` with
``P = cov^{-1}``, *without* the normalising constant, so its tempered
partition function is ``Z(beta) = (2 pi / beta)^{d/2} det(cov)^{1/2}``
(:meth:`Gaussian.log_z`).
"""
import numpy as np

from .._jit import jit
from .target import Target

__all__ = ["Gaussian", "as_covariances"]


def as_covariances(covs, n, d, name):
    """Parse ``n`` covariances of size ``d`` given full, diagonal or scalar.

    ``covs`` is ``(n, d, d)`` (full), ``(n, d)`` (diagonal variances) or
    ``(n,)`` (one variance per component).  Returns ``(full, variances)``:
    the ``(n, d, d)`` matrices, and the ``(n, d)`` diagonal variances or
    ``None`` when some matrix is not diagonal.  Raises ``ValueError`` naming
    ``name`` when a matrix is not symmetric positive definite.
    """
    covs = np.asarray(covs, dtype=np.float64)
    if not np.all(np.isfinite(covs)):
        raise ValueError(f"{name} must be finite")
    if covs.shape == (n,):
        covs = np.repeat(covs[:, None], d, axis=1)
    if covs.shape == (n, d):
        if np.any(covs <= 0):
            raise ValueError(f"{name}: variances must be positive (covariance not positive definite)")
        return covs[:, :, None] * np.eye(d), covs.copy()
    if covs.shape != (n, d, d):
        raise ValueError(
            f"{name} must have shape ({n},), ({n}, {d}) or ({n}, {d}, {d}), got {covs.shape}"
        )
    for k in range(n):
        c = covs[k]
        if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12 * np.abs(c).max()):
            raise ValueError(f"{name}[{k}] is not symmetric")
        try:
            np.linalg.cholesky(c)
        except np.linalg.LinAlgError:
            raise ValueError(f"{name}[{k}] is not positive definite") from None
    off = covs * (1.0 - np.eye(d))
    variances = np.diagonal(covs, axis1=1, axis2=2).copy() if not np.any(off) else None
    return 0.5 * (covs + covs.transpose(0, 2, 1)), variances


def as_mean(mean, name, ndim):
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != ndim or mean.size == 0:
        want = "a 1-D array" if ndim == 1 else "a 2-D array (components, dim)"
        raise ValueError(f"{name} must be {want}, got shape {mean.shape}")
    if not np.all(np.isfinite(mean)):
        raise ValueError(f"{name} must be finite")
    return mean


@jit
def gaussian_logp_grad(x, params, grad_out):
    """log p(x) = -(x - m)^T P (x - m) / 2, grad = -P (x - m)."""
    mean, precision = params
    d = x.shape[0]
    value = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc -= precision[i, j] * (x[j] - mean[j])
        grad_out[i] = acc
        value += 0.5 * acc * (x[i] - mean[i])
    return value


class Gaussian(Target):
    """Multivariate normal target N(mean, cov).

    ``cov`` may be a full ``(d, d)`` matrix, a vector of variances ``(d,)`` or
    a scalar variance.  The log density omits the normalising constant (see
    :meth:`log_z`).
    """

    def __init__(self, mean, cov=1.0, *, name="x"):
        mean = as_mean(mean, "mean", 1)
        d = mean.shape[0]
        cov = np.asarray(cov, dtype=np.float64)
        if cov.ndim == 0:
            cov = cov.reshape(1)
        if cov.ndim == 1 and cov.shape[0] in (1, d):
            cov_arg = np.broadcast_to(cov, (d,))[None]
        elif cov.ndim == 2:
            cov_arg = cov[None]
        else:
            raise ValueError(f"cov must be a scalar, ({d},) or ({d}, {d}), got shape {cov.shape}")
        full, _ = as_covariances(cov_arg, 1, d, "cov")
        self.mean = mean
        self.cov = full[0]
        self._chol = np.linalg.cholesky(self.cov)
        precision = np.linalg.inv(self.cov)
        precision = 0.5 * (precision + precision.T)
        super().__init__(gaussian_logp_grad, d, (mean, precision), name=name)

    def log_z(self, beta=1.0):
        """log of the integral of p(x)^beta: (d/2) log(2 pi / beta) + log det(cov) / 2."""
        beta = np.asarray(beta, dtype=np.float64)
        logdet = 2.0 * np.sum(np.log(np.diag(self._chol)))
        return 0.5 * self.dim * np.log(2.0 * np.pi / beta) + 0.5 * logdet

    def logpdf(self, x):
        """Normalised log density, vectorised over leading axes of ``x`` (..., d)."""
        z = np.linalg.solve(self._chol, (np.asarray(x, dtype=np.float64) - self.mean)[..., None])[..., 0]
        return -0.5 * np.sum(z * z, axis=-1) - self.log_z(1.0)

    def sample(self, n, rng=None):
        """``n`` exact draws, shape ``(n, d)``; ``rng`` as in ``numpy.random.default_rng``."""
        rng = np.random.default_rng(rng)
        return self.mean + rng.standard_normal((int(n), self.dim)) @ self._chol.T
