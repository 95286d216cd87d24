"""Synthetic low-rank problems with a known truth, for tests and experiments.

The truth is ``M = X* X*^T`` with ``X*`` (d x k) of i.i.d. N(0, 1/d) entries:
the columns of ``X*`` have norm about 1, so the k non-zero eigenvalues of M
are O(1) (between about (1 - sqrt(k/d))^2 and (1 + sqrt(k/d))^2) and a
typical entry of M is about sqrt(k)/d.  Choose ``noise_std`` against that
scale (per entry for factorization and completion; per measurement, of
scale ~ ||M||_F ~ sqrt(k), for sensing).
"""
from typing import NamedTuple

import numpy as np

from .._checks import check_count, check_positive, plain
from .problems import Completion, Factorization, Sensing

__all__ = ["Truth", "synthetic_problem"]

KINDS = ("factorization", "sensing", "completion")
OPERATORS = ("dense", "rank_one", "rank_one_general")


class Truth(NamedTuple):
    """The planted solution of a synthetic problem."""

    #: (d, k) factor with i.i.d. N(0, 1/d) entries.
    X: np.ndarray
    #: (d, d) rank-k PSD matrix X X^T.
    M: np.ndarray


def synthetic_problem(kind, d, rank, *, m=None, n_observed=None, noise_std=0.01, beta=None,
                      noise_prior=None, operator="dense", rng=None):
    """A random problem of the given kind and its truth: ``(problem, Truth(X, M))``.

    Parameters
    ----------
    kind : {"factorization", "sensing", "completion"}
    d, rank : int
    m : int, optional
        Sensing only: number of measurements (default ``4 d rank``).
    operator : {"dense", "rank_one", "rank_one_general"}
        Sensing only: i.i.d. N(0, 1) sensing matrices A (m, d, d)
        (``Sensing(A, b, rank)``), or measurement vectors a (and c), (m, d),
        with i.i.d. N(0, 1) entries (``Sensing.rank_one``).
    n_observed : int, optional
        Completion only: number of distinct observed pairs i <= j, drawn
        uniformly from the d(d+1)/2 pairs of the upper triangle including the
        diagonal (default ``min(d(d+1)/2, 10 d rank)``).
    noise_std : float >= 0
        Standard deviation of the Gaussian noise added to the observations.
        For factorization the noise matrix is sigma (G + G^T)/2 (variance
        sigma^2 on the diagonal, sigma^2/2 off it), which is exactly the model
        whose posterior is exp(-||X X^T - M_obs||_F^2 / (2 sigma^2)).
    beta : float, optional
        Inverse temperature of the posterior; default ``1 / (2 noise_std^2)``
        (required when ``noise_std`` is 0).
    noise_prior : (a, b0), optional
        The posterior does not know ``noise_std``: sigma is sampled with this
        inverse-gamma prior on sigma^2 (``(0, 0)``: p(sigma) ∝ 1 / sigma).
        ``noise_std`` still sets the noise of the data.
    rng : seed or numpy Generator
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {plain(kind)!r}")
    d = check_count(d, "d")
    rank = check_count(rank, "rank", maximum=d, maximum_name="d")
    if m is not None and kind != "sensing":
        raise ValueError("m is only for kind='sensing'")
    if n_observed is not None and kind != "completion":
        raise ValueError("n_observed is only for kind='completion'")
    if operator not in OPERATORS:
        raise ValueError(f"operator must be one of {OPERATORS}, got {plain(operator)!r}")
    if operator != "dense" and kind != "sensing":
        raise ValueError("operator is only for kind='sensing'")
    n_pairs = d * (d + 1) // 2
    if kind == "sensing":
        m = check_count(4 * d * rank if m is None else m, "m")
    if kind == "completion":
        n_observed = check_count(min(n_pairs, 10 * d * rank) if n_observed is None else n_observed,
                                 "n_observed", maximum=n_pairs, maximum_name="d(d+1)/2")
    noise_std = 0.0 if noise_std == 0 else check_positive(noise_std, "noise_std")
    if noise_prior is not None:
        if beta is not None:
            raise ValueError("give beta or noise_prior, not both: noise_prior makes the noise "
                             "level unknown to the posterior")
        posterior = dict(noise_prior=noise_prior)
    elif beta is None and noise_std == 0:
        raise ValueError("beta is required when noise_std is 0")
    else:
        posterior = dict(beta=beta) if beta is not None else dict(noise_std=noise_std)
    rng = np.random.default_rng(rng)

    X = rng.standard_normal((d, rank)) / np.sqrt(d)
    M = X @ X.T
    M = 0.5 * (M + M.T)
    truth = Truth(X, M)
    if kind == "factorization":
        G = rng.standard_normal((d, d))
        problem = Factorization(M + noise_std * 0.5 * (G + G.T), rank, **posterior)
    elif kind == "sensing" and operator == "dense":
        A = rng.standard_normal((m, d, d))
        b = np.einsum("lij,ij->l", A, M) + noise_std * rng.standard_normal(m)
        problem = Sensing(A, b, rank, **posterior)
    elif kind == "sensing":
        a = rng.standard_normal((m, d))
        c = rng.standard_normal((m, d)) if operator == "rank_one_general" else a
        b = np.sum((a @ X) * (c @ X), axis=1) + noise_std * rng.standard_normal(m)
        problem = Sensing.rank_one(a, b, rank, c=None if operator == "rank_one" else c,
                                   **posterior)
    else:
        # Packed index t of pair (i, j), i <= j: row i starts at i d - i (i - 1) / 2.
        t = rng.choice(n_pairs, size=n_observed, replace=False)
        starts = np.arange(d) * d - np.arange(d) * (np.arange(d) - 1) // 2
        rows = np.searchsorted(starts, t, side="right") - 1
        cols = rows + (t - starts[rows])
        values = np.einsum("ec,ec->e", X[rows], X[cols]) + noise_std * rng.standard_normal(n_observed)
        problem = Completion(rows, cols, values, d, rank, **posterior)
    return problem, truth
