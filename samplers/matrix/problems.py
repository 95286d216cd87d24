"""Posteriors of low-rank matrix problems: factorization, sensing, completion.

Each problem is the density over ``X`` in R^{d x k}

    p(X) ∝ exp(-beta * L(X)),      L(X) = ||A(X X^T) - b||^2,

where ``A`` maps a symmetric d x d matrix to ``m`` numbers (Moitra & Risteski
2020, "Fast convergence for Langevin diffusion with manifold structure",
arXiv:2002.05576, section on matrix factorization and relatives).  Since
``X X^T = (X O)(X O)^T`` for every orthogonal ``O``, ``p(X) = p(X O)``: for
large ``beta`` the posterior concentrates near the two components
``{X0 O : det O = +1}`` and ``{X0 O : det O = -1}`` of the orbit of a
minimiser ``X0``.

``beta`` is given directly or through ``noise_std = sigma``: if
``b = A(X* X*^T) + n`` with ``n ~ N(0, sigma^2 I)``, the likelihood is
``exp(-||A(X X^T) - b||^2 / (2 sigma^2))``, so ``beta = 1 / (2 sigma^2)``
(posterior under a flat prior).

Every problem is a :class:`samplers.Target` of shape ``(d, k)`` and variable
name ``"X"``; the sampler passes ``X`` as its C-order flattening (``X[i, c]``
is ``x[i * k + c]``).  Sensing also has a ``batch_logp_grad(xs, params,
grad_out, lp_out)`` evaluating ``n`` points (rows of ``xs``) at once: two
matrix-matrix products for all rows instead of two matrix-vector products
per row, so the engine evaluates all chains in one call per step.

**Unknown noise.**  With neither ``beta`` nor ``noise_std`` the noise level
sigma is a parameter, sampled jointly with X: the target is then the vector
``(vec X, s)`` of ``d k + 1`` coordinates, ``s = log sigma``, with the prior
sigma^2 ~ InverseGamma(a, b0) given as ``noise_prior=(a, b0)``, density
(sigma^2)^(-a-1) exp(-b0 / sigma^2).  The default ``(0, 0)`` is its limit
p(sigma) ∝ 1 / sigma, the Jeffreys prior of a scale: it has no units to
choose and gives the classical sigma^2 | X ~ InvGamma(m/2, L(X)/2).  Why this
family: it is conjugate, so sigma | X is known exactly (the tests check the
sampler against it), any proper choice is one pair of numbers, and in s the
joint log density is simply

    log p(X, s) = -(m + 2a) s - (L(X) / 2 + b0) exp(-2 s)

(``m`` independent observations; the Jacobian of sigma^2 = exp(2 s) is
included), smooth, with curvature 2 (m + 2a) in s at its conditional mode
s*(X) = log((L(X) + 2 b0) / (m + 2a)) / 2.  The posterior is proper when the
data are not fitted exactly (L > 0 near the minimiser, i.e. noisy data and
more observations than the d k - k(k-1)/2 degrees of freedom of X X^T) or
b0 > 0.

The compiled functions (:mod:`samplers.matrix.kernels`) take ``params = (..., dk, scale)`` with
``dk = [d, k]`` (int64) and ``scale = [beta]`` (known noise) or
``[1, m + 2a, b0]`` (unknown); the loss itself (``scale = [1.0]`` and X
alone) drives :meth:`MatrixProblem.minimize` and
:meth:`MatrixProblem.hessian_max_eig` through the same code.
"""
import warnings

import numpy as np

import math
import numbers

from numba.core.registry import CPUDispatcher

from .._checks import (check_count, check_float_array, check_index_array, check_positive, plain)
from ..targets.target import Target, _as_params
from .invariants import haar_orthogonal
from .kernels import (completion_logp_grad, factorization_logp_grad, operator_kernel,
                      rank_one_logp_grad, rank_one_logp_grad_batch, sensing_gram_logp_grad,
                      sensing_gram_logp_grad_batch, sensing_logp_grad, sensing_logp_grad_batch)

__all__ = ["MatrixProblem", "Factorization", "Sensing", "Completion"]

# ---------------------------------------------------------------------------
# Construction helpers
# ---------------------------------------------------------------------------

#: The default prior of an unknown noise level: IG(0, 0), i.e. p(sigma) ∝ 1 / sigma (Jeffreys).
JEFFREYS = (0.0, 0.0)


def _resolve_noise(beta, noise_std, noise_prior):
    """``(beta, noise_std, noise_prior)``: known noise from exactly one of ``beta`` and
    ``noise_std`` (``beta = 1 / (2 noise_std^2)``, prior ``None``), or unknown noise from
    neither (``beta = noise_std = None``, the prior ``(a, b0)`` checked, default Jeffreys)."""
    if beta is not None and noise_std is not None:
        raise ValueError("give exactly one of beta and noise_std, or neither for an unknown noise "
                         f"level (got beta={plain(beta)!r}, noise_std={plain(noise_std)!r})")
    if noise_prior is not None and (beta is not None or noise_std is not None):
        given = "beta" if beta is not None else "noise_std"
        raise ValueError(f"noise_prior is the prior of an unknown noise level: give it with "
                         f"noise_std=None and beta=None, not with {given}={plain(beta if beta is not None else noise_std)!r}")
    if beta is not None:
        beta = check_positive(beta, "beta")
        return beta, float(np.sqrt(0.5 / beta)), None
    if noise_std is not None:
        noise_std = check_positive(noise_std, "noise_std")
        return 0.5 / noise_std ** 2, noise_std, None
    return None, None, _check_prior(JEFFREYS if noise_prior is None else noise_prior)


def _check_prior(prior):
    """``(a, b0)`` of the inverse-gamma prior on sigma^2: two finite numbers >= 0."""
    if isinstance(prior, (str, bytes)) or not hasattr(prior, "__len__") or len(prior) != 2:
        raise TypeError("noise_prior must be a pair (a, b0) of the inverse-gamma prior on "
                        f"sigma^2, got {plain(prior)!r}")
    out = []
    for value, name in zip(prior, ("a", "b0")):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"noise_prior: {name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"noise_prior: {name} must be finite and >= 0 (shape and scale of "
                             f"the inverse-gamma prior on sigma^2), got {plain(value)!r}")
        out.append(float(value))
    return tuple(out)


def _symmetric_part_packed(A, d):
    """(m, d, d) -> (m, d(d+1)/2): S_ii and 2 S_ij = A_ij + A_ji (i < j), S = (A + A^T)/2.

    Then <A_l, Z> = <S_l, Z> = packed[l] . packed_upper(Z) for symmetric Z.
    """
    iu, ju = np.triu_indices(d)
    return A[:, iu, ju] + np.where(iu == ju, 0.0, A[:, ju, iu])


# ---------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------

class MatrixProblem(Target):
    """Common part of the three problems: the Target plus optimisation helpers.

    Attributes
    ----------
    d, rank : int
        ``X`` is ``d x rank``.
    beta, noise_std : float or None
        Inverse temperature and the Gaussian noise level it corresponds to,
        ``beta = 1 / (2 noise_std^2)`` (both set whichever was given; both
        ``None`` when the noise level is unknown).
    noise_prior : (a, b0) or None
        Unknown noise: the inverse-gamma prior of sigma^2 (module docstring);
        the target's coordinates are then ``(vec X, log(sigma) / tau)``,
        shape ``(d k + 1,)``, with ``tau = log_sigma_scale`` (1 unless set by
        :meth:`with_log_sigma_scale`).  ``None`` for a known noise level.
    m : int
        Number of observations (length of ``b``).
    m_independent : int
        Number of independent Gaussian observations, the power of sigma in the
        likelihood (``m``, except ``d(d+1)/2`` for factorization).
    batch_logp_grad : numba function or None
        Sensing only: ``batch_logp_grad(xs, params, grad_out, lp_out)``, the
        log density and gradient at each row of ``xs`` (n, d*k) in one BLAS
        matrix product (``Target``).  Factorization and completion have no
        shared operator to read once, so their chains run in parallel threads,
        one point each.
    """

    def __init__(self, logp_grad, batch_logp_grad, d, rank, params, noise, m, m_independent=None):
        self.d = d
        self.rank = rank
        self.beta, self.noise_std, self.noise_prior = noise
        self.m = int(m)
        self.m_independent = self.m if m_independent is None else int(m_independent)
        dk = np.array([d, rank], dtype=np.int64)
        if self.unknown_noise:
            a, b0 = self.noise_prior
            scale, shape = np.array([1.0, self.m_independent + 2.0 * a, b0]), (d * rank + 1,)
        else:
            scale, shape = np.array([self.beta]), (d, rank)
        super().__init__(logp_grad, shape, params + (dk, scale), name="X",
                         batch_logp_grad=batch_logp_grad)
        # The same kernels with scale 1 at X alone evaluate -L(X) and -grad L(X).
        self._loss_params = self.params[:-1] + (np.array([1.0]),)

    @property
    def unknown_noise(self):
        """Whether sigma is sampled (``noise_std`` and ``beta`` not given)."""
        return self.noise_prior is not None

    @property
    def log_sigma_scale(self):
        """tau: the last coordinate of an unknown-noise target is log(sigma) / tau."""
        if not self.unknown_noise:
            raise ValueError("log_sigma_scale: the noise level of this problem is known")
        return float(self.params[-1][0])

    def with_log_sigma_scale(self, tau):
        """A copy of this unknown-noise problem whose last coordinate is log(sigma) / tau.

        The density of (X, sigma) is the same; only the coordinate is
        stretched, so that Langevin's one step size suits it: its curvature is
        tau^2 times that of log sigma, 2 tau^2 (m + 2a) at the conditional mode.
        """
        import copy

        if not self.unknown_noise:
            raise ValueError("with_log_sigma_scale: the noise level of this problem is known")
        tau = check_positive(tau, "tau")
        out = copy.copy(self)
        scale = self.params[-1].copy()
        scale[0] = tau
        out.params = self.params[:-1] + (scale,)
        return out

    def sigma_of(self, u):
        """sigma from the last coordinate(s) ``u`` of unknown-noise points: exp(tau u)."""
        return np.exp(self.log_sigma_scale * np.asarray(u, dtype=np.float64))

    def log_sigma_mode(self, X):
        """s*(X) = log((L(X) + 2 b0) / (m + 2a)) / 2, the mode of log sigma given X (unknown noise).

        Raises ``ValueError`` when it is -inf: X fits b exactly and b0 = 0, so
        the posterior of sigma given X is improper.
        """
        if not self.unknown_noise:
            raise ValueError("log_sigma_mode: the noise level of this problem is known "
                             f"(noise_std={self.noise_std:.6g})")
        a, b0 = self.noise_prior
        total = float(self.loss(X)) + 2.0 * b0
        if not total > 0:
            raise ValueError("noise_std=None: X fits b exactly (loss 0), so sigma's posterior is "
                             "improper under noise_prior=(a, 0): give noise_prior=(a, b0) with "
                             "b0 > 0, or a known noise_std")
        return 0.5 * math.log(total / (self.m_independent + 2.0 * a))

    def point(self, X, log_sigma=None):
        """The flat coordinates of the target at X (d, k): vec X, followed for unknown noise by
        ``log_sigma / tau`` (default :meth:`log_sigma_mode` at X)."""
        X = self._as_points(X)
        if X.shape != (self.d, self.rank):
            raise ValueError(f"X must have shape ({self.d}, {self.rank}), got {X.shape}")
        x = X.reshape(-1)
        if not self.unknown_noise:
            if log_sigma is not None:
                raise ValueError("log_sigma is only for problems with an unknown noise level")
            return x.copy()
        s = self.log_sigma_mode(X) if log_sigma is None else float(log_sigma)
        return np.append(x, s / self.log_sigma_scale)

    # -- evaluation --------------------------------------------------------
    def loss(self, X):
        """L(X) = ||A(X X^T) - b||^2, vectorised: X (..., d, k) -> (...,)."""
        X = self._as_points(X)
        return np.sum((self.forward(X) - self.b) ** 2, axis=-1)

    def forward(self, X):
        """A(X X^T), shape (..., m), for X of shape (..., d, k)."""
        raise NotImplementedError

    def _as_points(self, X, name="X"):
        X = np.asarray(X, dtype=np.float64)
        if X.shape[-2:] != (self.d, self.rank):
            raise ValueError(f"{name} must have shape (..., {self.d}, {self.rank}), got {X.shape}")
        return X

    def _loss_grad(self, x):
        """L and grad L at a flat point, through the compiled kernel (scale 1)."""
        grad = np.empty(self.d * self.rank)
        value = self.logp_grad(np.ascontiguousarray(x, dtype=np.float64), self._loss_params, grad)
        return -value, -grad

    def default_initial(self, rng):
        """The spectral start rotated by a Haar-random orthogonal k x k matrix (either determinant).

        Chains started this way spread over both components of the orbit
        {X O}; the spectral start is computed once and kept.
        """
        if getattr(self, "_spectral", None) is None:
            self._spectral = self.spectral_init()
        return self.point(self._spectral @ haar_orthogonal(self.rank, rng))

    # -- optimisation --------------------------------------------------------
    def spectral_init(self):
        """X = V_k diag(sqrt(max(lambda_k, 0))) from the top-k eigenpairs of an estimate of M."""
        vals, vecs = self._top_eigenpairs()
        return vecs * np.sqrt(np.maximum(vals, 0.0))

    def _top_eigenpairs(self):
        vals, vecs = np.linalg.eigh(self._moment_matrix())
        return vals[::-1][: self.rank], vecs[:, ::-1][:, : self.rank]

    def minimize(self, X_init=None, *, max_iter=10_000, tol=1e-10):
        """A minimiser X0 (d, k) of the loss, by L-BFGS from ``X_init`` (spectral start by default).

        Stops when the largest entry of grad L has fallen by the factor ``tol``
        from its value at ``X_init``, or when the line search can make no more
        progress (rounding level); there is no test on the decrease of L,
        whose scale is arbitrary.  A noiseless, well-posed problem is solved
        to ~1e-10 relative.  Warns if ``max_iter`` iterations were not enough.
        """
        from scipy.optimize import minimize

        max_iter = check_count(max_iter, "max_iter")
        tol = check_positive(tol, "tol")
        X_init = self.spectral_init() if X_init is None else self._as_points(X_init, "X_init")
        if X_init.shape != (self.d, self.rank) or not np.all(np.isfinite(X_init)):
            raise ValueError(f"X_init must be a finite ({self.d}, {self.rank}) array")
        x0 = X_init.reshape(-1).copy()
        gtol = tol * np.abs(self._loss_grad(x0)[1]).max()
        res = minimize(self._loss_grad, x0, jac=True, method="L-BFGS-B",
                       options=dict(maxiter=max_iter, maxfun=2 * max_iter, ftol=0.0, gtol=gtol))
        if res.status == 1:
            warnings.warn(f"minimize: L-BFGS stopped at max_iter={max_iter} ({res.message})",
                          RuntimeWarning, stacklevel=2)
        return res.x.reshape(self.d, self.rank)

    def hessian_vector(self, X, V):
        """Hessian of the loss L at X applied to V (both (d, k)), exact up to rounding.

        The gradient of L is a cubic polynomial in X, so the central difference
        D(e) = (g(X + eV) - g(X - eV)) / 2e equals H V + e^2 C(V) exactly, and
        (4 D(e/2) - D(e)) / 3 = H V: four compiled gradient evaluations.
        """
        x = self._as_points(X).reshape(-1)
        v = np.asarray(V, dtype=np.float64).reshape(-1)
        return self._hvp(x, v).reshape(self.d, self.rank)

    def _hvp(self, x, v):
        vnorm = np.linalg.norm(v)
        if vnorm == 0:
            return np.zeros_like(v)
        xnorm = np.linalg.norm(x)
        # e |v| ~ |x| keeps all terms of the same size, so rounding stays relative.
        e = (xnorm if xnorm > 0 else 1.0) / vnorm

        def central(step):
            return (self._loss_grad(x + step * v)[1] - self._loss_grad(x - step * v)[1]) / (2 * step)

        return (4.0 * central(0.5 * e) - central(e)) / 3.0

    def hessian_max_eig(self, X, log_sigma=None):
        """Largest eigenvalue of the Hessian of -log p at X (d, k): of beta L for a known
        noise level; for an unknown one, of -log p in the target's coordinates (X, u),
        u = s / tau, at s = ``log_sigma`` (default the conditional mode
        :meth:`log_sigma_mode`), whose Hessian is

            [[beta(s) H_L,             -tau exp(-2s) grad L         ],
             [-tau exp(-2s) grad L^T,   2 tau^2 (L + 2 b0) exp(-2s) ]],   beta(s) = exp(-2s) / 2

        (2 tau^2 (m + 2a) in the corner at the conditional mode).  Dense for up to 60
        coordinates (Hessian from that many products), otherwise Lanczos
        (``scipy.sparse.linalg.eigsh``) on exact Hessian-vector products.  The default
        Langevin step size is c / this value.
        """
        X = self._as_points(X)
        if X.shape != (self.d, self.rank):
            raise ValueError(f"X must have shape ({self.d}, {self.rank}), got {np.shape(X)}")
        x = X.reshape(-1)
        if not self.unknown_noise:
            if log_sigma is not None:
                raise ValueError("log_sigma is only for problems with an unknown noise level")
            return self.beta * _top_eig(lambda v: self._hvp(x, v), x.size)
        s = self.log_sigma_mode(X) if log_sigma is None else float(log_sigma)
        e = math.exp(-2.0 * s)
        tau = self.log_sigma_scale
        loss, grad = self._loss_grad(x)
        corner = 2.0 * tau * tau * (loss + 2.0 * self.noise_prior[1]) * e

        def matvec(v):
            out = np.empty_like(v)
            out[:-1] = 0.5 * e * self._hvp(x, v[:-1]) - tau * e * grad * v[-1]
            out[-1] = -tau * e * grad @ v[:-1] + corner * v[-1]
            return out

        return _top_eig(matvec, x.size + 1)

    def loss_hessian_max_eig(self, X):
        """Largest eigenvalue of the Hessian of the loss L itself at X (d, k)."""
        X = self._as_points(X)
        if X.shape != (self.d, self.rank):
            raise ValueError(f"X must have shape ({self.d}, {self.rank}), got {np.shape(X)}")
        x = X.reshape(-1)
        return _top_eig(lambda v: self._hvp(x, v), x.size)

    def __repr__(self):
        noise = (f"noise_prior={self.noise_prior}" if self.unknown_noise
                 else f"beta={self.beta:.6g}")
        return f"{type(self).__name__}(d={self.d}, rank={self.rank}, m={self.m}, {noise})"


def _top_eig(matvec, n):
    """Largest eigenvalue of the symmetric operator ``matvec`` on R^n: dense up to n = 60,
    Lanczos beyond."""
    if n <= 60:
        H = np.stack([matvec(e) for e in np.eye(n)], axis=1)
        return float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    from scipy.sparse.linalg import LinearOperator, eigsh

    op = LinearOperator((n, n), matvec=lambda v: matvec(np.ravel(v)), dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(n)
    return float(eigsh(op, k=1, which="LA", v0=v0, tol=1e-10, return_eigenvectors=False)[0])


class Factorization(MatrixProblem):
    """Symmetric low-rank factorization: every entry of M observed.

    L(X) = ||X X^T - M||_F^2 (off-diagonal entries count twice, as in the
    Frobenius norm), log p = -beta L, grad log p = -4 beta (X X^T - M) X.
    ``M`` must be a finite, square and symmetric matrix (the gradient formula
    uses the symmetry).  ``m = d^2``, ``b = M.ravel()``.  Moitra & Risteski
    (2020), arXiv:2002.05576.

    Parameters
    ----------
    M : array (d, d), symmetric
    rank : int, 1 <= rank <= d
    beta : float, optional
    noise_std : float, optional
        At most one of ``beta`` and ``noise_std``; ``beta = 1 / (2 noise_std^2)``.
        Neither: the noise level is unknown and sampled (module docstring).
    noise_prior : (a, b0), optional
        Unknown noise only: sigma^2 ~ InverseGamma(a, b0); default (0, 0), the
        Jeffreys prior 1 / sigma.  The likelihood counts the d(d+1)/2
        independent entries of the symmetric noise.
    """

    def __init__(self, M, rank, beta=None, *, noise_std=None, noise_prior=None):
        M = check_float_array(M, "M")
        if M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ValueError(f"M must be a square matrix, got shape {M.shape}")
        d = M.shape[0]
        rank = check_count(rank, "rank", maximum=d, maximum_name="d")
        noise = _resolve_noise(beta, noise_std, noise_prior)
        # X X^T computed by BLAS can be asymmetric at rounding level: tolerate that.
        if not np.allclose(M, M.T, rtol=0.0, atol=1e-10 * max(np.abs(M).max(), 1e-300)):
            raise ValueError("M must be symmetric (the factorization posterior is over X X^T)")
        self.M = np.ascontiguousarray(0.5 * (M + M.T))
        super().__init__(factorization_logp_grad, None, d, rank,
                         (self.M,), noise, d * d, d * (d + 1) // 2)

    @property
    def b(self):
        return self.M.reshape(-1)

    def forward(self, X):
        X = self._as_points(X)
        Z = X @ np.swapaxes(X, -1, -2)
        return Z.reshape(Z.shape[:-2] + (self.d * self.d,))

    def _moment_matrix(self):
        return self.M


class Sensing(MatrixProblem):
    """Matrix sensing: b_i ≈ A(X X^T)_i for a linear measurement operator A, i = 1..m.

    L(X) = ||A(X X^T) - b||^2.  Four operators, built by four constructors:

    * ``Sensing(A, b, rank)``: dense, A(Z)_i = <A_i, Z> = trace(A_i^T Z) with
      A (m, d, d);
    * ``Sensing.rank_one(a, b, rank)``: symmetric rank-one (quadratic sensing,
      phase retrieval of a PSD matrix), A(Z)_i = a_i^T Z a_i with a (m, d);
    * ``Sensing.rank_one(a, b, rank, c=c)``: general rank-one,
      A(Z)_i = a_i^T Z c_i with a, c (m, d);
    * ``Sensing.from_operator(forward, adjoint, b, d, rank)``: your own,
      as two compiled functions.

    Attribute ``operator``: ``"dense"``, ``"rank_one"``, ``"rank_one_general"``
    or ``"user"``.

    **Dense.**  Only the symmetric part S_i = (A_i + A_i^T) / 2 sees a
    symmetric matrix: grad L = 4 (sum_i r_i S_i) X with r = A(X X^T) - b.
    S_i is stored packed over the upper triangle, ``p = d(d+1)/2`` columns
    with off-diagonal entries doubled, so that <S_i, Z> = packed(S_i) .
    packed_upper(Z) (attribute ``s_packed``, (m, p)): half the memory and
    work of the full d x d slices; for m > p through the normal equations
    (``normal_equations``).  Moitra & Risteski (2020), arXiv:2002.05576.

    **Rank-one.**  With Y = a X and Z = c X (m, k), A(X X^T)_i = Y_i . Z_i;
    the log density and gradient cost O(m d k) (two products of the stored
    (m, d) or (2m, d) matrix with a d x k one) and O(m d) memory: no d x d
    matrix is formed.  ``Target.batch_logp_grad`` evaluates all chains in one
    pass over the stored vectors, both products register-blocked, in two fixed
    parts on two threads (``kernels.rank_one_logp_grad_batch``).

    Parameters
    ----------
    A : array (m, d, d) or (m, d*d)
        Dense sensing matrices; a row of the 2-D form is vec(A_i) (C or
        Fortran order give the same problem, since A_i and A_i^T have the same
        symmetric part).
    b : array (m,)
    rank : int, 1 <= rank <= d
    beta, noise_std : float, optional
        At most one; ``beta = 1 / (2 noise_std^2)``.  Neither: the noise level
        is unknown and sampled with X (module docstring).
    noise_prior : (a, b0), optional
        Unknown noise only: sigma^2 ~ InverseGamma(a, b0), default (0, 0)
        (p(sigma) ∝ 1 / sigma).

    The spectral start uses an unbiased estimate of M for Gaussian designs:
    (1/m) sum_i b_i S_i when the A_i have i.i.d. standard normal entries
    (E[<A, Z> S] = Z for symmetric Z); for rank-one designs with a_i, c_i
    i.i.d. N(0, I), ((1/m) sum_i b_i a_i a_i^T - mean(b) I) / 2 (from
    E[(a^T M a) a a^T] = 2 M + tr(M) I) and the symmetric part of
    (1/m) sum_i b_i a_i c_i^T; for your operator, A*(b) / m.  For other
    designs pass ``X_init`` to :meth:`minimize` (or ``init=`` to
    ``MatrixLangevin``).
    """

    operator = "dense"
    _stride = 1

    def __init__(self, A, b, rank, beta=None, *, noise_std=None, noise_prior=None):
        A = check_float_array(A, "A")
        b = check_float_array(b, "b")
        if A.ndim == 2:
            d = int(round(np.sqrt(A.shape[1])))
            if d * d != A.shape[1]:
                raise ValueError(f"A given as (m, d*d) must have a square number of columns, got {A.shape[1]}")
            A = A.reshape(A.shape[0], d, d)
        elif A.ndim == 3:
            if A.shape[1] != A.shape[2]:
                raise ValueError(f"A must be square per slice, (m, d, d), got shape {A.shape}")
            d = A.shape[1]
        else:
            raise ValueError(f"A must have shape (m, d, d) or (m, d*d), got {A.shape}")
        if b.shape != (A.shape[0],):
            raise ValueError(f"b must have shape (m,) = ({A.shape[0]},) to match A, got {b.shape}")
        rank = check_count(rank, "rank", maximum=d, maximum_name="d")
        noise = _resolve_noise(beta, noise_std, noise_prior)
        self.s_packed = np.ascontiguousarray(_symmetric_part_packed(A, d))
        self._b = np.ascontiguousarray(b)
        m, p = self.s_packed.shape
        # More measurements than packed entries: the normal equations (p x p)
        # are smaller and cheaper than S itself (m x p), per point and per batch.
        self.normal_equations = m > p
        if self.normal_equations:
            operator = (self.s_packed.T @ self.s_packed, self.s_packed.T @ self._b,
                        np.array([self._b @ self._b]))
            functions = (sensing_gram_logp_grad, sensing_gram_logp_grad_batch)
        else:
            operator = (self.s_packed, self._b, np.zeros(1))
            functions = (sensing_logp_grad, sensing_logp_grad_batch)
        super().__init__(*functions, d, rank, operator, noise, m)

    @classmethod
    def rank_one(cls, a, b, rank, beta=None, *, c=None, noise_std=None, noise_prior=None):
        """Rank-one sensing: b_i ≈ a_i^T X X^T a_i (``c=None``) or a_i^T X X^T c_i.

        Parameters
        ----------
        a : array (m, d)
            The measurement vectors a_i, one per row.
        b : array (m,)
        rank : int, 1 <= rank <= d
        c : array (m, d), optional
            The second vectors of general rank-one measurements (the bilinear
            form a_i^T M c_i of the symmetric M = X X^T, which sees only the
            symmetric part of a_i c_i^T).
        beta, noise_std, noise_prior
            As for :class:`Sensing`.

        Stored: ``a`` (m, d), or ``a`` and ``c`` interleaved row by row (2m, d),
        as attribute ``u``; one evaluation is two products of it with X,
        O(m d k).
        """
        a = check_float_array(a, "a", ndim=2)
        b = check_float_array(b, "b", ndim=1)
        m, d = a.shape
        if b.shape != (m,):
            raise ValueError(f"b must have shape (m,) = ({m},) to match a, got {b.shape}")
        if c is not None:
            c = check_float_array(c, "c", ndim=2)
            if c.shape != a.shape:
                raise ValueError(f"c must have the shape of a, {a.shape}, got {c.shape}")
        rank = check_count(rank, "rank", maximum=d, maximum_name="d")
        noise = _resolve_noise(beta, noise_std, noise_prior)
        self = cls.__new__(cls)
        self.operator = "rank_one" if c is None else "rank_one_general"
        self._stride = 1 if c is None else 2
        self._b = np.ascontiguousarray(b)
        # General: a_i and c_i interleaved (rows 2i, 2i + 1), so that a tile of rows holds
        # whole measurements (kernels.rank_one_logp_grad_batch).
        self.u = np.ascontiguousarray(a if c is None else np.stack([a, c], axis=1).reshape(2 * m, d))
        stride = np.array([1 if c is None else 2], dtype=np.int64)
        MatrixProblem.__init__(self, rank_one_logp_grad, rank_one_logp_grad_batch, d, rank,
                               (self.u, self._b, stride), noise, m)
        return self

    @classmethod
    def from_operator(cls, forward, adjoint, b, d, rank, beta=None, *, params=(), noise_std=None,
                      noise_prior=None):
        """Sensing with your own operator A, given as two ``numba.njit`` functions.

        ``forward(X, params, out)`` writes A(X X^T), the m measurements of the
        symmetric matrix X X^T, into ``out`` (m,); ``adjoint(X, r, params, out)``
        writes A*(r) X into ``out`` (d, k) (overwriting it), where
        A*(r) = sum_i r_i S_i is the adjoint of A on symmetric matrices
        (<A(Z), r> = <Z, A*(r)> for symmetric Z, with A*(r) symmetric).  X is
        the (d, k) factor; ``params`` is the tuple of arrays you give,
        followed by the problem's own (read yours as ``params[0]``,
        ``params[1]``, ...).  Then grad L = 4 A*(r) X with r = A(X X^T) - b.
        One point per call; the chains run in parallel threads.  Before any
        sampling the functions are compiled and the gradient they make is
        checked against finite differences of the loss at a random point,
        which catches an adjoint that does not match ``forward``.

        Examples
        --------
        Symmetric rank-one measurements b_i = a_i^T X X^T a_i written by hand
        (``Sensing.rank_one`` is the same operator, batched over chains)::

            import numba, numpy as np
            from samplers.matrix import Sensing

            @numba.njit
            def forward(X, params, out):          # out_i = |X^T a_i|^2
                a = params[0]
                y = a @ X
                for i in range(a.shape[0]):
                    out[i] = y[i] @ y[i]

            @numba.njit
            def adjoint(X, r, params, out):       # (sum_i r_i a_i a_i^T) X
                a = params[0]
                y = a @ X
                for i in range(a.shape[0]):
                    y[i] *= r[i]
                out[:] = a.T @ y

            rng = np.random.default_rng(0)
            a, X = rng.standard_normal((200, 10)), rng.standard_normal((10, 2)) / 3
            b = np.sum((a @ X) ** 2, axis=1) + 0.01 * rng.standard_normal(200)
            problem = Sensing.from_operator(forward, adjoint, b, 10, 2, params=(a,),
                                            noise_std=0.01)
        """
        for name, fn in (("forward", forward), ("adjoint", adjoint)):
            if not isinstance(fn, CPUDispatcher):
                raise TypeError(f"{name} must be a numba.njit-compiled function, got "
                                f"{type(fn).__name__}")
        b = check_float_array(b, "b", ndim=1)
        d = check_count(d, "d")
        rank = check_count(rank, "rank", maximum=d, maximum_name="d")
        if not isinstance(params, tuple):
            raise TypeError(f"params must be a tuple of arrays, got {type(params).__name__}")
        user = _as_params(params)
        noise = _resolve_noise(beta, noise_std, noise_prior)
        self = cls.__new__(cls)
        self.operator = "user"
        self._b = np.ascontiguousarray(b)
        self._user = (forward, adjoint)
        try:
            MatrixProblem.__init__(self, operator_kernel(forward, adjoint), None, d, rank,
                                   user + (self._b,), noise, b.shape[0])
        except TypeError as err:
            raise TypeError("forward/adjoint could not be compiled as forward(X, params, out) and "
                            "adjoint(X, r, params, out) with X (d, k) float64, r and out float64 "
                            f"arrays: {err}") from err
        X = np.random.default_rng(0).standard_normal((d, rank)) / np.sqrt(d)
        measured = self.forward(X)
        if not np.all(np.isfinite(measured)):
            raise ValueError("forward wrote non-finite values (or did not write every one of "
                             f"the m = {b.shape[0]} entries of out)")
        x = X.reshape(-1)
        g = np.empty(x.size)
        if not np.isfinite(self.logp_grad(x, self._loss_params, g)) or not np.all(np.isfinite(g)):
            raise ValueError("adjoint wrote non-finite values (or did not write all of out, (d, k))")
        loss = Target(self.logp_grad, d * rank, self._loss_params)
        try:
            loss.check_gradient(x)
        except ValueError as err:
            raise ValueError("adjoint does not match forward: 4 adjoint(X, r) must be the "
                             "gradient of |forward(X) - b|^2 (is out = A*(r) X with A*(r) "
                             f"= sum_i r_i S_i symmetric?): {err}") from err
        return self

    @property
    def b(self):
        return self._b

    def forward(self, X):
        X = self._as_points(X)
        if self.operator == "dense":
            iu, ju = np.triu_indices(self.d)
            z = np.einsum("...ic,...ic->...i", X[..., iu, :], X[..., ju, :])
            return z @ self.s_packed.T
        if self.operator in ("rank_one", "rank_one_general"):
            Y = self.u[0::self._stride] @ X
            Z = Y if self.operator == "rank_one" else self.u[1::2] @ X
            return np.sum(Y * Z, axis=-1)
        forward = self._user[0]
        flat = X.reshape((-1, self.d, self.rank))
        out = np.empty((flat.shape[0], self.m))
        for i, Xi in enumerate(flat):
            forward(np.ascontiguousarray(Xi), self.params, out[i])
        return out.reshape(X.shape[:-2] + (self.m,))

    def _moment_matrix(self):
        m, d = self.m, self.d
        if self.operator == "dense":
            w = self._b @ self.s_packed / m
            iu, ju = np.triu_indices(d)
            W = np.zeros((d, d))
            # Off-diagonal packed entries are 2 S_ij: halve them back.
            W[iu, ju] = np.where(iu == ju, w, 0.5 * w)
            W[ju, iu] = W[iu, ju]
            return W
        if self.operator == "rank_one":
            a = self.u
            return 0.5 * ((a.T * self._b) @ a / m - np.mean(self._b) * np.eye(d))
        if self.operator == "rank_one_general":
            W = (self.u[0::2].T * self._b) @ self.u[1::2] / m
            return 0.5 * (W + W.T)
        # A*(b) / m, a block of rank columns of the identity at a time.
        adjoint = self._user[1]
        W = np.zeros((d, d))
        out = np.empty((d, self.rank))
        for start in range(0, d, self.rank):
            E = np.zeros((d, self.rank))
            cols = np.arange(start, min(d, start + self.rank))
            E[cols, cols - start] = 1.0
            adjoint(E, self._b, self.params, out)
            W[:, cols] = out[:, :cols.size] / m
        return 0.5 * (W + W.T)


class Completion(MatrixProblem):
    """Symmetric matrix completion from observed entries (rows[e], cols[e]) with values[e].

    L(X) = sum_e ((X X^T)_{i_e j_e} - v_e)^2, each observed unordered pair
    counted once: (i, j) and its mirror (j, i) are the same entry of the
    symmetric M, so giving both is a duplicate and an error.  With
    r_e = X_i . X_j - v_e, grad L adds 2 r_e X_j to row i and 2 r_e X_i to row
    j (4 r_e X_i when i == j).  O(|observed| k) per evaluation from the index
    arrays, never a dense d x d matrix.  Observations are stored with
    ``rows <= cols``, sorted by row then column (attributes ``rows``,
    ``cols``, ``values``; the kernel reads them as compressed rows).  Moitra & Risteski (2020),
    arXiv:2002.05576.

    The spectral start uses P_Omega(M) (symmetrised) / q with
    q = |Omega| / (d(d+1)/2) the fraction of observed pairs: unbiased for M
    under a uniformly random set of observed pairs.

    ``beta``, ``noise_std``, ``noise_prior``: as for :class:`Factorization`
    (neither ``beta`` nor ``noise_std``: unknown noise, sampled).
    """

    def __init__(self, rows, cols, values, d, rank, beta=None, *, noise_std=None, noise_prior=None):
        d = check_count(d, "d")
        rank = check_count(rank, "rank", maximum=d, maximum_name="d")
        rows = check_index_array(rows, "rows", d)
        cols = check_index_array(cols, "cols", d)
        values = check_float_array(values, "values", ndim=1)
        if rows.shape != values.shape or cols.shape != values.shape:
            raise ValueError(f"rows, cols and values must have the same length, got "
                             f"{rows.shape[0]}, {cols.shape[0]} and {values.shape[0]}")
        noise = _resolve_noise(beta, noise_std, noise_prior)
        lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
        order = np.lexsort((hi, lo))  # by row, then column: locality of X rows
        lo, hi, values = lo[order], hi[order], values[order]
        key = lo * d + hi
        dup = np.flatnonzero(key[1:] == key[:-1])
        if dup.size:
            i, j = lo[dup[0]], hi[dup[0]]
            raise ValueError(f"rows, cols: entry ({i}, {j}) is observed more than once "
                             "(an entry and its mirror (j, i) are the same observation)")
        # Row i of X enters the loss only through X_i . X_j for its observed pairs (i, j):
        # with no diagonal entry (which pins |X_i|) and fewer than k partners, p(X) is flat
        # along the other directions of X_i, and the posterior is improper.
        off = lo != hi
        partners = np.bincount(lo[off], minlength=d) + np.bincount(hi[off], minlength=d)
        pinned = np.zeros(d, dtype=bool)
        pinned[lo[~off]] = True
        loose = np.flatnonzero(~pinned & (partners < rank))
        if loose.size:
            never = np.flatnonzero(~pinned & (partners == 0))
            shown = loose[:20].tolist() + (["..."] if loose.size > 20 else [])
            warnings.warn(
                f"Completion: rows {', '.join(map(str, shown))} of M have fewer than "
                f"rank = {rank} observed entries and no diagonal entry"
                + (f" ({never.size} never observed at all)" if never.size else "")
                + ": the posterior is improper (flat along some directions of those rows of X), "
                "so their draws, and the entries of M in those rows, never converge.  Observe "
                "more entries in those rows (or their diagonal), or drop them.",
                UserWarning, stacklevel=2)
        self.rows = np.ascontiguousarray(lo)
        self.cols = np.ascontiguousarray(hi)
        self.values = np.ascontiguousarray(values)
        indptr = np.searchsorted(self.rows, np.arange(d + 1)).astype(np.int64)
        super().__init__(completion_logp_grad, None, d, rank,
                         (indptr, self.cols.astype(np.int32), self.values), noise,
                         values.shape[0])

    @property
    def b(self):
        return self.values

    def forward(self, X):
        X = self._as_points(X)
        return np.einsum("...ec,...ec->...e", X[..., self.rows, :], X[..., self.cols, :])

    def observed_mask(self):
        """(d, d) boolean: True at the observed entries and their mirrors."""
        mask = np.zeros((self.d, self.d), dtype=bool)
        mask[self.rows, self.cols] = True
        mask[self.cols, self.rows] = True
        return mask

    def _moment_sparse(self):
        from scipy.sparse import coo_matrix

        q = self.m / (self.d * (self.d + 1) / 2)
        off = self.rows != self.cols
        r = np.concatenate([self.rows, self.cols[off]])
        c = np.concatenate([self.cols, self.rows[off]])
        v = np.concatenate([self.values, self.values[off]]) / q
        return coo_matrix((v, (r, c)), shape=(self.d, self.d)).tocsr()

    def _moment_matrix(self):
        return self._moment_sparse().toarray()

    def _top_eigenpairs(self):
        if self.d <= 500 or self.rank >= self.d - 1:
            return super()._top_eigenpairs()
        from scipy.sparse.linalg import eigsh

        v0 = np.random.default_rng(0).standard_normal(self.d)
        vals, vecs = eigsh(self._moment_sparse(), k=self.rank, which="LA", v0=v0)
        order = np.argsort(vals)[::-1]
        return vals[order], vecs[:, order]
