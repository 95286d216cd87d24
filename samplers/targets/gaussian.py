"""Gaussian targets: the exact answers every sampler is tested against.

``Gaussian(mean, cov)`` has log density ``-(x - m)^T P (x - m) / 2`` with
``P = cov^{-1}``, *without* the normalising constant, so its tempered
partition function is ``Z(beta) = (2 pi / beta)^{d/2} det(cov)^{1/2}``
(:meth:`Gaussian.log_z`).

A scalar or diagonal covariance is kept as its ``d`` variances: O(d) memory
and time for construction, the log density and its gradient, ``sample``,
``logpdf`` and ``log_z`` (``Gaussian(np.zeros(100_000), 1.0)`` takes a few
MB); only a full covariance costs a dense ``d x d`` precision.
"""
import numpy as np

from .._checks import check_real_array
from .._jit import jit
from .target import Target

__all__ = ["Gaussian", "as_covariances"]

#: A full covariance whose condition number exceeds ``1 / (d * _COND_EPS)`` is singular
#: to float64 precision: its precision matrix and log-determinant would be noise.
_COND_EPS = np.finfo(np.float64).eps


def check_variances(variances, name):
    """Finite positive variances whose inverses (the precisions) are finite in float64."""
    if not np.all(np.isfinite(variances)):
        raise ValueError(f"{name} must be finite")
    if np.any(variances <= 0):
        raise ValueError(f"{name}: variances must be positive (covariance not positive definite), "
                         f"got minimum {float(variances.min())}")
    with np.errstate(over="ignore", divide="ignore"):
        precisions = 1.0 / variances
    if not np.all(np.isfinite(precisions)):
        raise ValueError(f"{name}: variance {float(variances.min())} is too small: its inverse "
                         "overflows float64 (the covariance is singular in floating point)")
    return variances


def check_full_covariance(cov, name):
    """A symmetric positive definite ``(d, d)`` matrix, invertible in float64; returns its
    exactly symmetric part.  A diagonal matrix is checked as its variances (no
    condition-number limit: its inverse is exact to rounding whatever its condition)."""
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"{name} must be finite")
    if not np.any(cov * (1.0 - np.eye(cov.shape[0]))):
        check_variances(np.diagonal(cov), name)
        return cov
    scale = np.abs(cov).max()
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12 * scale):
        raise ValueError(f"{name} is not symmetric")
    cov = 0.5 * (cov + cov.T)
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} is not positive definite") from None
    eig = np.linalg.eigvalsh(cov)
    d = cov.shape[0]
    with np.errstate(over="ignore", divide="ignore"):
        singular = not (eig[0] > 0 and np.isfinite(1.0 / eig[0])
                        and eig[-1] / eig[0] < 1.0 / (d * _COND_EPS))
    if singular:
        raise ValueError(
            f"{name} is singular to float64 precision (eigenvalues from {float(eig[0]):.3g} "
            f"to {float(eig[-1]):.3g}): its inverse, the precision the samplers use, "
            "would be dominated by rounding")
    return cov


def as_covariances(covs, n, d, name):
    """Parse ``n`` covariances of size ``d`` given full, diagonal or scalar.

    ``covs`` is ``(n, d, d)`` (full), ``(n, d)`` (diagonal variances) or
    ``(n,)`` (one variance per component), already a float64 array (see
    :func:`~samplers._checks.check_real_array`).  Returns ``(full,
    variances)``: the ``(n, d, d)`` matrices, and the ``(n, d)`` diagonal
    variances or ``None`` when some matrix is not diagonal.  Raises
    ``ValueError`` naming ``name`` when a matrix is not symmetric positive
    definite or is singular to float64 precision.
    """
    if covs.shape == (n,):
        covs = np.repeat(covs[:, None], d, axis=1)
    if covs.shape == (n, d):
        check_variances(covs, name)
        return covs[:, :, None] * np.eye(d), covs.copy()
    if covs.shape != (n, d, d):
        raise ValueError(
            f"{name} must have shape ({n},), ({n}, {d}) or ({n}, {d}, {d}), got {covs.shape}"
        )
    covs = np.stack([check_full_covariance(covs[k], f"{name}[{k}]") for k in range(n)])
    off = covs * (1.0 - np.eye(d))
    variances = np.diagonal(covs, axis1=1, axis2=2).copy() if not np.any(off) else None
    return covs, variances


def as_mean(mean, name, ndim):
    mean = check_real_array(mean, name)
    if mean.ndim != ndim or mean.size == 0:
        want = "a 1-D array" if ndim == 1 else "a 2-D array (components, dim)"
        raise ValueError(f"{name} must be {want}, got shape {mean.shape}")
    if not np.all(np.isfinite(mean)):
        raise ValueError(f"{name} must be finite")
    return mean


@jit
def gaussian_logp_grad(x, params, grad_out):
    """log p(x) = -(x - m)^T P (x - m) / 2, grad = -P (x - m).

    ``params = (m, P, p)``: a full covariance gives the ``(d, d)`` precision
    ``P`` and an empty ``p``; a diagonal one an empty ``(0, 0)`` ``P`` and the
    ``d`` precisions ``p = 1 / variances`` (O(d) per call).  One layout for
    both, so every Gaussian shares one compiled engine loop.
    """
    mean, precision, diag_precision = params
    d = x.shape[0]
    value = 0.0
    if precision.shape[0] == 0:
        for i in range(d):
            r = x[i] - mean[i]
            g = -diag_precision[i] * r
            grad_out[i] = g
            value += 0.5 * g * r
        return value
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
    a scalar variance.  A scalar, a vector or a full matrix that is diagonal
    is kept as the ``d`` variances (attribute ``variances``) and costs O(d);
    otherwise the covariance's Cholesky factor and precision are kept
    (O(d^2) memory).  The log density omits the normalising constant (see
    :meth:`log_z`).

    Attributes
    ----------
    mean : array (d,)
    variances : array (d,)
        The diagonal of ``cov``.
    is_diagonal : bool
        Whether ``cov`` is diagonal (the O(d) form).
    cov : array (d, d)
        The covariance matrix; for a diagonal covariance built when read
        (O(d^2) memory: prefer ``variances``).
    """

    def __init__(self, mean, cov=1.0, *, name="x"):
        mean = as_mean(mean, "mean", 1)
        d = mean.shape[0]
        cov = check_real_array(cov, "cov")
        full = None  # the (d, d) covariance when it is not diagonal
        if cov.ndim == 0 or cov.shape == (1,):
            variances = check_variances(np.full(d, cov.reshape(())), "cov")
        elif cov.shape == (d,):
            variances = check_variances(cov.copy(), "cov")
        elif cov.shape == (d, d):
            cov = check_full_covariance(cov, "cov")
            variances = np.diagonal(cov).copy()
            if np.any(cov * (1.0 - np.eye(d))):
                full = cov
        else:
            raise ValueError(f"cov must be a scalar variance, {d} variances ({d},) or a "
                             f"({d}, {d}) matrix for a mean of length {d}, got shape {cov.shape}")
        self.mean = mean
        self.variances = variances
        self.is_diagonal = full is None
        self._full = full
        if self.is_diagonal:
            self._sd = np.sqrt(variances)
            params = (mean, np.zeros((0, 0)), 1.0 / variances)
        else:
            self._chol = np.linalg.cholesky(full)
            precision = np.linalg.inv(full)
            precision = 0.5 * (precision + precision.T)
            params = (mean, precision, np.zeros(0))
        super().__init__(gaussian_logp_grad, d, params, name=name)

    @property
    def cov(self):
        """The ``(d, d)`` covariance (built when read for a diagonal one)."""
        return np.diag(self.variances) if self.is_diagonal else self._full

    def log_z(self, beta=1.0):
        """log of the integral of p(x)^beta: (d/2) log(2 pi / beta) + log det(cov) / 2."""
        beta = np.asarray(beta, dtype=np.float64)
        if self.is_diagonal:
            logdet = np.sum(np.log(self.variances))
        else:
            logdet = 2.0 * np.sum(np.log(np.diag(self._chol)))
        return 0.5 * self.dim * np.log(2.0 * np.pi / beta) + 0.5 * logdet

    def logpdf(self, x):
        """Normalised log density, vectorised over leading axes of ``x`` (..., d)."""
        r = np.asarray(x, dtype=np.float64) - self.mean
        if self.is_diagonal:
            z = r / self._sd
        else:
            z = np.linalg.solve(self._chol, r[..., None])[..., 0]
        return -0.5 * np.sum(z * z, axis=-1) - self.log_z(1.0)

    def sample(self, n, rng=None):
        """``n`` exact draws, shape ``(n, d)``; ``rng`` as in ``numpy.random.default_rng``."""
        rng = np.random.default_rng(rng)
        noise = rng.standard_normal((int(n), self.dim))
        if self.is_diagonal:
            return self.mean + noise * self._sd
        return self.mean + noise @ self._chol.T
