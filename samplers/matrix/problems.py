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
per row, so the driver evaluates all chains in one call per step.

The compiled functions (:mod:`samplers.matrix.kernels`) take ``params = (..., dk, scale)`` with
``dk = [d, k]`` (int64) and ``scale = [beta]``; the loss itself (``scale =
[1.0]``) drives :meth:`MatrixProblem.minimize` and
:meth:`MatrixProblem.hessian_max_eig` through the same code.
"""
import warnings

import numpy as np

from .._checks import check_count, check_float_array, check_index_array, check_positive, plain
from ..targets.target import Target
from .invariants import haar_orthogonal
from .kernels import (completion_logp_grad, factorization_logp_grad, sensing_gram_logp_grad,
                      sensing_gram_logp_grad_batch, sensing_logp_grad, sensing_logp_grad_batch)

__all__ = ["MatrixProblem", "Factorization", "Sensing", "Completion"]

# ---------------------------------------------------------------------------
# Construction helpers
# ---------------------------------------------------------------------------

def _resolve_beta(beta, noise_std):
    """``(beta, noise_std)`` from exactly one of them: ``beta = 1 / (2 noise_std^2)``."""
    if (beta is None) == (noise_std is None):
        raise ValueError("give exactly one of beta and noise_std "
                         f"(got beta={plain(beta)!r}, noise_std={plain(noise_std)!r})")
    if beta is not None:
        beta = check_positive(beta, "beta")
        return beta, float(np.sqrt(0.5 / beta))
    noise_std = check_positive(noise_std, "noise_std")
    return 0.5 / noise_std ** 2, noise_std


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
    beta, noise_std : float
        Inverse temperature and the Gaussian noise level it corresponds to,
        ``beta = 1 / (2 noise_std^2)`` (both set whichever was given).
    m : int
        Number of observations (length of ``b``).
    batch_logp_grad : numba function or None
        Sensing only: ``batch_logp_grad(xs, params, grad_out, lp_out)``, the
        log density and gradient at each row of ``xs`` (n, d*k) in one BLAS
        matrix product (``Target``).  Factorization and completion have no
        shared operator to read once, so their chains run in parallel threads,
        one point each.
    """

    def __init__(self, logp_grad, batch_logp_grad, d, rank, params, beta, noise_std, m):
        self.d = d
        self.rank = rank
        self.beta = beta
        self.noise_std = noise_std
        self.m = int(m)
        dk = np.array([d, rank], dtype=np.int64)
        super().__init__(logp_grad, (d, rank), params + (dk, np.array([beta])), name="X",
                         batch_logp_grad=batch_logp_grad)
        # The same kernels with scale 1 evaluate -L(X) and -grad L(X).
        self._loss_params = self.params[:-1] + (np.array([1.0]),)

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
        grad = np.empty(self.dim)
        value = self.logp_grad(np.ascontiguousarray(x, dtype=np.float64), self._loss_params, grad)
        return -value, -grad

    def default_initial(self, rng):
        """The spectral start rotated by a Haar-random orthogonal k x k matrix (either determinant).

        Chains started this way spread over both components of the orbit
        {X O}; the spectral start is computed once and kept.
        """
        if getattr(self, "_spectral", None) is None:
            self._spectral = self.spectral_init()
        return (self._spectral @ haar_orthogonal(self.rank, rng)).reshape(-1)

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

    def hessian_max_eig(self, X):
        """Largest eigenvalue of the Hessian of -log p = beta L at X (d, k).

        Dense for d*k <= 60 (Hessian from d*k products), otherwise Lanczos
        (``scipy.sparse.linalg.eigsh``) on exact Hessian-vector products.
        The default Langevin step size is c / this value.
        """
        x = self._as_points(X).reshape(-1)
        if x.shape[0] != self.dim:
            raise ValueError(f"X must have shape ({self.d}, {self.rank}), got {np.shape(X)}")
        n = self.dim
        if n <= 60:
            H = np.stack([self._hvp(x, e) for e in np.eye(n)], axis=1)
            return float(self.beta * np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = LinearOperator((n, n), matvec=lambda v: self._hvp(x, np.ravel(v)), dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(n)
        top = eigsh(op, k=1, which="LA", v0=v0, tol=1e-10, return_eigenvectors=False)
        return float(self.beta * top[0])

    def __repr__(self):
        return f"{type(self).__name__}(d={self.d}, rank={self.rank}, m={self.m}, beta={self.beta:.6g})"


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
        Exactly one of ``beta`` and ``noise_std``; ``beta = 1 / (2 noise_std^2)``.
    """

    def __init__(self, M, rank, beta=None, *, noise_std=None):
        M = check_float_array(M, "M")
        if M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ValueError(f"M must be a square matrix, got shape {M.shape}")
        d = M.shape[0]
        rank = check_count(rank, "rank", maximum=d, maximum_name="d")
        beta, noise_std = _resolve_beta(beta, noise_std)
        # X X^T computed by BLAS can be asymmetric at rounding level: tolerate that.
        if not np.allclose(M, M.T, rtol=0.0, atol=1e-10 * max(np.abs(M).max(), 1e-300)):
            raise ValueError("M must be symmetric (the factorization posterior is over X X^T)")
        self.M = np.ascontiguousarray(0.5 * (M + M.T))
        super().__init__(factorization_logp_grad, None, d, rank,
                         (self.M,), beta, noise_std, d * d)

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
    """Matrix sensing: b_i ≈ <A_i, X X^T> = trace(A_i^T X X^T), i = 1..m.

    L(X) = sum_i (<S_i, X X^T> - b_i)^2 with S_i = (A_i + A_i^T) / 2 (only the
    symmetric part of A_i sees a symmetric matrix); grad L = 4 (sum_i r_i S_i) X
    with r = A(X X^T) - b.  S_i is stored packed over the upper triangle,
    ``p = d(d+1)/2`` columns with off-diagonal entries doubled, so that
    <S_i, Z> = packed(S_i) . packed_upper(Z) (attribute ``s_packed``, (m, p)):
    half the memory and work of the full d x d slices.  Moitra & Risteski
    (2020), arXiv:2002.05576.

    Parameters
    ----------
    A : array (m, d, d) or (m, d*d)
        Sensing matrices; a row of the 2-D form is vec(A_i) (C or Fortran
        order give the same problem, since A_i and A_i^T have the same
        symmetric part).
    b : array (m,)
    rank : int, 1 <= rank <= d
    beta, noise_std : float
        Exactly one; ``beta = 1 / (2 noise_std^2)``.

    The spectral start uses (1/m) sum_i b_i S_i, an unbiased estimate of M
    when the A_i have i.i.d. standard normal entries (E[<A, Z> S] = Z for
    symmetric Z); for other designs rescale ``A`` accordingly or pass
    ``X_init`` to :meth:`minimize`.
    """

    def __init__(self, A, b, rank, beta=None, *, noise_std=None):
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
        beta, noise_std = _resolve_beta(beta, noise_std)
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
        super().__init__(*functions, d, rank, operator, beta, noise_std, m)

    @property
    def b(self):
        return self._b

    def forward(self, X):
        X = self._as_points(X)
        iu, ju = np.triu_indices(self.d)
        z = np.einsum("...ic,...ic->...i", X[..., iu, :], X[..., ju, :])
        return z @ self.s_packed.T

    def _moment_matrix(self):
        w = self._b @ self.s_packed / self.m
        iu, ju = np.triu_indices(self.d)
        W = np.zeros((self.d, self.d))
        # Off-diagonal packed entries are 2 S_ij: halve them back.
        W[iu, ju] = np.where(iu == ju, w, 0.5 * w)
        W[ju, iu] = W[iu, ju]
        return W


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
    """

    def __init__(self, rows, cols, values, d, rank, beta=None, *, noise_std=None):
        d = check_count(d, "d")
        rank = check_count(rank, "rank", maximum=d, maximum_name="d")
        rows = check_index_array(rows, "rows", d)
        cols = check_index_array(cols, "cols", d)
        values = check_float_array(values, "values", ndim=1)
        if rows.shape != values.shape or cols.shape != values.shape:
            raise ValueError(f"rows, cols and values must have the same length, got "
                             f"{rows.shape[0]}, {cols.shape[0]} and {values.shape[0]}")
        beta, noise_std = _resolve_beta(beta, noise_std)
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
                         (indptr, self.cols.astype(np.int32), self.values), beta, noise_std,
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
