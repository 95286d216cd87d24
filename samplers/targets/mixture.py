"""Gaussian mixtures: the multimodal targets of simulated tempering.

    p(x) = sum_k w_k N(x; m_k, S_k)

evaluated as a log-sum-exp over components, so the log density and its
gradient stay finite far from every mode (50 standard deviations and more).
The gradient is ``-sum_k r_k(x) S_k^{-1} (x - m_k)`` with responsibilities
``r_k(x) = w_k N(x; m_k, S_k) / p(x)``.
"""
import numpy as np

from .._checks import check_real_array, plain
from .._jit import REASSOCIATE, jit, scratch_vector
from .gaussian import as_covariances, as_mean
from .target import Target

__all__ = ["GaussianMixture"]

_LOG_2PI = float(np.log(2.0 * np.pi))


@jit
def _logsumexp_weights(q, weights_out):
    """Return logsumexp(q) and write softmax(q) into ``weights_out``."""
    top = -np.inf
    for k in range(q.shape[0]):
        if q[k] > top:
            top = q[k]
    total = 0.0
    for k in range(q.shape[0]):
        weights_out[k] = np.exp(q[k] - top)
        total += weights_out[k]
    for k in range(q.shape[0]):
        weights_out[k] /= total
    return top + np.log(total)


@jit(fastmath=REASSOCIATE)
def mixture_full_logp_grad(x, params, grad_out):
    """Mixture with full covariances, from the precisions ``P_k = S_k^{-1}``.

    Every component's ``g_k = P_k (x - m_k)`` comes from one stacked
    matrix-vector product over rows of length ``K d``::

        g = sum_j stacked[j] (x_j - c_j) - shift,   stacked[j, k d + i] = P_k[j, i],
                                                     shift_k = P_k (m_k - c)

    (``P_k`` is symmetric; ``c`` is the mean of the means, so that the two
    terms are of the size of the modes' spread, not of their distance from 0).
    Then ``q_k = log_coef_k - (x - m_k) . g_k / 2``, ``log p = logsumexp_k
    q_k`` and ``grad = -sum_k r_k g_k``.  Long rows and reassociated sums
    (``REASSOCIATE``) vectorise at any ``d``, without a horizontal sum per
    row: at d = 10, K = 4, 142 ns an evaluation against 206 for per-component
    row dot products (independent points; ``benchmarks/RESULTS.md``).
    """
    means, stacked, shift, centre, log_coef = params
    n, d = means.shape
    g = scratch_vector(n * d)
    q = scratch_vector(n)
    for r in range(n * d):
        g[r] = -shift[r]
    for j in range(d):
        xj = x[j] - centre[j]
        for r in range(n * d):
            g[r] += stacked[j, r] * xj
    for k in range(n):
        sq = 0.0
        for i in range(d):
            sq += (x[i] - means[k, i]) * g[k * d + i]
        q[k] = log_coef[k] - 0.5 * sq
    value = _logsumexp_weights(q, q)  # q becomes the responsibilities r_k
    for i in range(d):
        grad_out[i] = 0.0
    for k in range(n):
        for i in range(d):
            grad_out[i] -= q[k] * g[k * d + i]
    return value


@jit(inline="always")
def _component_logpdf_row(x, means, chol_prec, log_coef, out):
    """``out[k] = log_coef[k] - |U_k (x - m_k)|^2 / 2`` for one point (``U_k`` lower triangular)."""
    n_components, dim = means.shape
    for k in range(n_components):
        sq = 0.0
        for a in range(dim):
            acc = 0.0
            for b in range(a + 1):
                acc += chol_prec[k, a, b] * (x[b] - means[k, b])
            sq += acc * acc
        out[k] = log_coef[k] - 0.5 * sq


@jit
def _component_logpdf_into(x, means, chol_prec, log_coef, out):
    """:func:`_component_logpdf_row` for every row of ``x``: ``out[i, k]``."""
    for i in range(x.shape[0]):
        _component_logpdf_row(x[i], means, chol_prec, log_coef, out[i])


@jit
def _component_labels_into(x, means, chol_prec, log_coef, core, out):
    """``out[i]``: the component of largest ``q_k`` at ``x[i]`` (the first on ties), or -1
    where its responsibility ``1 / sum_k exp(q_k - q_max)`` is not above ``core``."""
    q = np.empty(means.shape[0])
    for i in range(x.shape[0]):
        _component_logpdf_row(x[i], means, chol_prec, log_coef, q)
        best = 0
        for k in range(1, q.shape[0]):
            if q[k] > q[best]:
                best = k
        total = 0.0
        for k in range(q.shape[0]):
            total += np.exp(q[k] - q[best])
        out[i] = best if 1.0 / total > core else -1


@jit
def mixture_diag_logp_grad(x, params, grad_out):
    """Mixture with diagonal covariances: ``inv_sd[k, i] = 1 / sqrt(S_k[i, i])``."""
    means, inv_sd, log_coef = params
    n, d = means.shape
    q = scratch_vector(n)
    for k in range(n):
        sq = 0.0
        for i in range(d):
            zi = (x[i] - means[k, i]) * inv_sd[k, i]
            sq += zi * zi
        q[k] = log_coef[k] - 0.5 * sq
    value = _logsumexp_weights(q, q)  # q becomes the responsibilities r_k
    for i in range(d):
        grad_out[i] = 0.0
    for k in range(n):
        for i in range(d):
            s = inv_sd[k, i]
            grad_out[i] -= q[k] * (x[i] - means[k, i]) * s * s
    return value


class GaussianMixture(Target):
    """Mixture of Gaussians ``sum_k w_k N(m_k, S_k)``.

    Parameters
    ----------
    means : array (K, d)
    covs : array, optional
        ``(K, d, d)`` full, ``(K, d)`` diagonal variances or ``(K,)`` one
        variance per component; identity when omitted.  When there are as
        many components as dimensions (``K == d``) a 2-D ``covs`` could be
        ``K`` diagonals or one ``(d, d)`` matrix, so it is refused: give the
        full ``(K, d, d)`` form (``variances[:, :, None] * np.eye(d)`` for
        diagonals, which are detected and cost no more than variances, or
        ``np.stack([C] * K)`` for one shared matrix).
    weights : array (K,), optional
        Non-negative, summing to 1; equal when omitted.
    """

    def __init__(self, means, covs=None, weights=None, *, name="x"):
        means = as_mean(means, "means", 2)
        n, d = means.shape
        covs = np.ones(n) if covs is None else check_real_array(covs, "covs")
        if n == d and covs.shape == (n, d):
            raise ValueError(
                f"covs of shape {covs.shape} is ambiguous with K = d = {d} (as many components "
                f"as dimensions): {d} rows of diagonal variances, or one ({d}, {d}) covariance "
                f"matrix?  Give the full ({n}, {d}, {d}) form: variances[:, :, None] * np.eye({d}) "
                f"for diagonal covariances (detected, no slower than variances), or "
                f"np.stack([C] * {n}) for one matrix C shared by every component")
        full, variances = as_covariances(covs, n, d, "covs")
        weights = np.full(n, 1.0 / n) if weights is None else check_real_array(weights, "weights")
        if weights.shape != (n,):
            raise ValueError(f"weights must have shape ({n},) to match means, got {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights must be finite and non-negative")
        if abs(weights.sum() - 1.0) > 1e-8:
            raise ValueError(f"weights must sum to 1, got sum {float(weights.sum())!r}")
        self.means = means
        self.covs = full
        self.weights = weights
        self._chol = np.linalg.cholesky(full)
        # Precision Cholesky factor U = L^{-1} (lower triangular): S^{-1} = U^T U.
        self._chol_prec = np.linalg.inv(self._chol)
        self._chol_prec = np.tril(self._chol_prec)
        log_det_u = np.sum(np.log(np.diagonal(self._chol_prec, axis1=1, axis2=2)), axis=1)
        with np.errstate(divide="ignore"):
            self._log_coef = np.log(weights) - 0.5 * d * _LOG_2PI + log_det_u
        if variances is not None:
            params = (means, 1.0 / np.sqrt(variances), self._log_coef)
            super().__init__(mixture_diag_logp_grad, d, params, name=name)
        else:
            precisions = np.einsum("kji,kjl->kil", self._chol_prec, self._chol_prec)
            precisions = 0.5 * (precisions + precisions.transpose(0, 2, 1))  # exactly symmetric
            centre = means.mean(axis=0)
            stacked = np.ascontiguousarray(precisions.transpose(1, 0, 2).reshape(d, n * d))
            shift = np.einsum("kij,kj->ki", precisions, means - centre).reshape(n * d)
            params = (means, stacked, shift, centre, self._log_coef)
            super().__init__(mixture_full_logp_grad, d, params, name=name)

    @property
    def n_components(self):
        return self.means.shape[0]

    def component_logpdf(self, x):
        """log(w_k N(x; m_k, S_k)) for every component, shape (..., K).

        |U_k (x - m_k)|^2 with U_k the (lower) Cholesky factor of the
        precision, as in the compiled log density.
        """
        points = self._points(x)
        q = np.empty((points.shape[0], self.n_components))
        _component_logpdf_into(points, self.means, self._chol_prec, self._log_coef, q)
        return q.reshape(np.shape(x)[:-1] + (self.n_components,))

    def _points(self, x):
        """``x`` (..., d) as a C-contiguous (n, d) float64 array."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have last axis of length {self.dim}, got shape {x.shape}")
        return np.ascontiguousarray(x.reshape(-1, self.dim))

    def sample_component(self, k, n, rng=None):
        """``n`` exact draws from component ``k`` alone, shape ``(n, d)``."""
        rng = np.random.default_rng(rng)
        return self.means[k] + rng.standard_normal((int(n), self.dim)) @ self._chol[k].T

    def logpdf(self, x):
        """Normalised log density, vectorised over the leading axes of ``x`` (..., d)."""
        q = self.component_logpdf(x)
        top = np.max(q, axis=-1, keepdims=True)
        return (top + np.log(np.sum(np.exp(q - top), axis=-1, keepdims=True)))[..., 0]

    def component_of(self, x, core=None):
        """Index of the most responsible component for each point of ``x`` (..., d).

        With ``core`` in [0, 1), -1 where that component's responsibility
        ``w_k N(x; m_k, S_k) / p(x)`` is not above ``core`` (the point lies
        between modes).
        """
        if core is not None and (isinstance(core, bool) or not 0 <= core < 1):
            raise ValueError(f"core must be in [0, 1), got {plain(core)!r}")
        points = self._points(x)
        labels = np.empty(points.shape[0], dtype=np.int64)
        # Compiled: mode labels of whole runs (mixing tools) are millions of points.
        _component_labels_into(points, self.means, self._chol_prec, self._log_coef,
                               -1.0 if core is None else float(core), labels)
        return labels.reshape(np.shape(x)[:-1])

    def sample(self, n, rng=None):
        """``n`` exact draws, shape ``(n, d)``; ``rng`` as in ``numpy.random.default_rng``."""
        rng = np.random.default_rng(rng)
        comp = rng.choice(self.n_components, size=int(n), p=self.weights)
        noise = rng.standard_normal((int(n), self.dim))
        return self.means[comp] + np.einsum("nij,nj->ni", self._chol[comp], noise)
