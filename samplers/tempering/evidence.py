"""Evidence: log partition functions of the ladder from the draws at every level.

Stepping stone (Xie et al. 2011): for neighbouring levels ``i`` and ``i+1``,

    R_i = Z_{i+1} / Z_i = E_{p_i}[ exp((beta_{i+1} - beta_i) log p(X)) ],

estimated by the mean over the draws at level ``i`` (parallel tempering: the
replica at level ``i``; simulated tempering: the steps spent at level ``i``),
and ``log Z(beta_i) - log Z(1) = -sum_{j >= i} log R_j``.

The engine accumulates, per chain and per batch of the run, a running
log-sum-exp of ``(beta_{i+1} - beta_i) lp`` and a count.  Standard errors come
from batch means (N_BATCHES consecutive batches per chain, nearly
independent when much longer than the autocorrelation time) and the delta
method.  With ``n_jb`` draws and mean ``R_jb`` at level ``j`` in batch
``b``, ``N_j = sum_b n_jb`` and ``R_j`` the pooled mean, the error of
``log Z(beta_i) - log Z(1)`` is to first order ``-sum_b e_ib`` with

    e_ib = sum_{j >= i} n_jb (R_jb - R_j) / (N_j R_j),

so its variance is estimated by ``sum_b e_ib^2``.  Summing over levels inside
a batch before squaring keeps the correlation between levels (strong in
parallel tempering, where swaps carry states from level to level).
"""
import numpy as np

__all__ = ["log_ratios", "log_z", "stone_sums", "stone_from_sums"]


def stone_sums(stone):
    """The stepping-stone sums ``(C, L, B, 3)`` as ``log sum exp(v)`` and the count, each ``(C, L, B)``.

    ``log sum exp(v) = m + log s`` (``-inf`` where no finite ``v`` was
    seen): the form in which the output keeps them, and from which the sums
    of several parts are joined along the batches (:func:`stone_from_sums`).
    """
    stone = np.asarray(stone, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_sum = stone[..., 0] + np.log(stone[..., 1])
    log_sum[~np.isfinite(log_sum)] = -np.inf
    return log_sum, stone[..., 2].copy()


def stone_from_sums(log_sum, count):
    """The inverse of :func:`stone_sums`: ``(m, s, n) = (log_sum, 1, count)`` (``(-inf, 0, n)``
    where no finite value was seen), the layout :func:`log_z` reads."""
    log_sum = np.asarray(log_sum, dtype=np.float64)
    seen = np.isfinite(log_sum)
    return np.stack([np.where(seen, log_sum, -np.inf), seen.astype(np.float64),
                     np.asarray(count, dtype=np.float64)], axis=-1)


def _batch_terms(stone):
    """Pooled ``log R_j`` and the batch terms ``n_jb (R_jb - R_j) / (N_j R_j)``.

    ``stone`` is (C, L, B, 3): running maximum, scaled sum and count.
    Returns ``(log_r, terms)`` of shapes (L-1,) and (L-1, C*B); NaN where a
    level has no draws.
    """
    n_pairs = stone.shape[1] - 1
    log_r = np.full(n_pairs, np.nan)
    terms = np.zeros((n_pairs, stone.shape[0] * stone.shape[2]))
    for j in range(n_pairs):
        m = stone[:, j, :, 0].ravel()
        s = stone[:, j, :, 1].ravel()
        n = stone[:, j, :, 2].ravel()
        used = (n > 0) & (s > 0) & np.isfinite(m)
        if not used.any():
            terms[j] = np.nan
            continue
        top = m[used].max()
        ratio = np.zeros_like(n)
        ratio[used] = np.exp(m[used] - top) * s[used] / n[used]   # batch means / exp(top)
        total = n[used].sum()
        mean = np.sum(n * ratio) / total
        log_r[j] = top + np.log(mean)
        terms[j] = np.where(used, n * (ratio - mean) / (total * mean), 0.0)
    return log_r, terms


def log_ratios(stone):
    """``log(Z_{i+1} / Z_i)`` for every neighbouring pair, and standard errors."""
    log_r, terms = _batch_terms(stone)
    return log_r, np.sqrt(np.sum(terms ** 2, axis=1))


def log_z(stone):
    """``log Z(beta_i) - log Z(1)`` for every level, with standard errors (0 at the top)."""
    log_r, terms = _batch_terms(stone)
    rel = np.append(-np.cumsum(log_r[::-1])[::-1], 0.0)
    cumulative = np.cumsum(terms[::-1], axis=0)[::-1]       # e_ib for i = 0 .. L-2
    se = np.append(np.sqrt(np.sum(cumulative ** 2, axis=1)), 0.0)
    return rel, se
