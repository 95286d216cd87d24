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
from typing import NamedTuple

import numpy as np

__all__ = ["log_ratios", "log_z", "log_z_reverse", "stone_sums", "stone_from_sums", "importance_ess",
           "check_evidence", "EvidenceCheck", "MIN_ESS_PER_BATCH", "MAX_DISAGREEMENT",
           "reverse_variance_finite",
           "untrusted_message", "EvidenceWarning"]


def stone_sums(stone):
    """The stepping-stone sums ``(C, L, B, 4)`` as ``log sum exp(v)``, the count and
    ``log sum exp(2 v)``, each ``(C, L, B)``.

    ``log sum exp(v) = m + log s`` and ``log sum exp(2 v) = 2 m + log s2``
    (``-inf`` where no finite ``v`` was seen; ``log sum exp(2 v)`` is NaN for
    sums of the older layout ``(m, s, n)`` without ``s2``): the form in which
    the output keeps them, and from which the sums of several parts are joined
    along the batches (:func:`stone_from_sums`).
    """
    stone = np.asarray(stone, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_sum = stone[..., 0] + np.log(stone[..., 1])
        if stone.shape[-1] > 3:
            log_sq = 2.0 * stone[..., 0] + np.log(stone[..., 3])
        else:
            log_sq = np.full(log_sum.shape, np.nan)
    unseen = ~np.isfinite(log_sum)
    log_sum[unseen] = -np.inf
    log_sq[unseen] = -np.inf
    return log_sum, stone[..., 2].copy(), log_sq


def stone_from_sums(log_sum, count, log_sum_sq=None):
    """The inverse of :func:`stone_sums`: ``(m, s, n, s2) = (log_sum, 1, count,
    exp(log_sum_sq - 2 log_sum))`` (``(-inf, 0, n, 0)`` where no finite value was seen;
    ``s2`` NaN without ``log_sum_sq``), the layout :func:`log_z` reads."""
    log_sum = np.asarray(log_sum, dtype=np.float64)
    seen = np.isfinite(log_sum)
    if log_sum_sq is None:
        s2 = np.where(seen, np.nan, 0.0)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            s2 = np.where(seen, np.exp(np.asarray(log_sum_sq, dtype=np.float64)
                                       - 2.0 * np.where(seen, log_sum, 0.0)), 0.0)
    return np.stack([np.where(seen, log_sum, -np.inf), seen.astype(np.float64),
                     np.asarray(count, dtype=np.float64), s2], axis=-1)


def _batch_terms(stone):
    """Pooled ``log R_j`` and the batch terms ``n_jb (R_jb - R_j) / (N_j R_j)``.

    ``stone`` is (C, L, B, >= 3): running maximum, scaled sum and count.
    Returns ``(log_r, terms)`` of shapes (L-1,) and (L-1, C*B) from levels
    ``0 .. L-2`` (:func:`_mean_terms`).
    """
    return _mean_terms(stone[:, :-1])


def _mean_terms(records):
    """Per level ``j`` of ``records`` (C, P, B, >= 3): ``log R_j``, the log of the pooled
    mean of ``exp(v)``, and the batch terms ``n_jb (R_jb - R_j) / (N_j R_j)`` (P, C*B),
    whose sum over ``b`` is to first order the error of ``log R_j``; NaN where a level
    has no draws."""
    stone = records
    n_pairs = stone.shape[1]
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


def log_z_reverse(stone_reverse):
    """The reverse stepping-stone estimate of ``log Z(beta_i) - log Z(1)``, with standard errors.

    ``stone_reverse`` holds at level ``i >= 1`` the sums of ``v = -(beta_i - beta_{i-1}) lp``,
    so that ``Z_{i-1} / Z_i = E_{p_i}[exp(v)]`` and ``log Z(beta_i) - log Z(1) = sum_{j > i}
    log(Z_{j-1} / Z_j)``; the errors as for :func:`log_z`.
    """
    log_m, terms = _mean_terms(stone_reverse[:, 1:])
    rel = np.append(np.cumsum(log_m[::-1])[::-1], 0.0)
    se = np.append(np.sqrt(np.sum(np.cumsum(terms[::-1], axis=0)[::-1] ** 2, axis=1)), 0.0)
    return rel, se


def importance_ess(records):
    """Per level of ``records`` (C, P, B, 4), Kish's effective sample size
    ``(sum w)^2 / sum w^2`` of the weights ``w = exp(v)``, pooled over chains and
    batches (NaN where ``sum w^2`` was not kept, 0 where no finite ``v`` was seen).

    For the forward sums, ``w = exp((beta_{i+1} - beta_i) lp)`` at level ``i``
    reweights its draws to level ``i + 1``: a small ESS means that the draws
    that carry the estimate of ``Z_{i+1} / Z_i`` are few (poor overlap of
    neighbouring levels), whatever their number.
    """
    log_sum, _, log_sq = stone_sums(records)
    flat = (records.shape[1], -1)
    with np.errstate(invalid="ignore", over="ignore"):
        total = _log_sum_exp(np.moveaxis(log_sum, 1, 0).reshape(flat))
        total_sq = _log_sum_exp(np.moveaxis(log_sq, 1, 0).reshape(flat))
        ess = np.exp(2.0 * total - total_sq)
    ess[total == -np.inf] = 0.0
    return ess


def _log_sum_exp(a):
    """``log sum exp`` over the last axis; ``-inf`` for all ``-inf``, NaN where a NaN is."""
    top = np.max(a, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return top[..., 0] + np.log(np.sum(np.exp(a - top), axis=-1))


class EvidenceWarning(RuntimeWarning):
    """The log Z standard errors of a tempering run cannot be trusted (:func:`check_evidence`)."""


#: A pair's forward stepping-stone estimate needs at least this many effective draws (Kish's
#: ESS of its importance weights, :func:`importance_ess`) per batch of the batch means for its
#: standard error to be trusted: with fewer, a handful of draws carries each batch's mean.
#: (10-D Gaussian, 4 chains x 20 batches: the default ladder gives an ESS of 1,700-2,200 with
#: 1,000 draws; [0.1, 1] gives 4-120 with 1,000 to 20,000 draws, and errors 1.3-5x its se.)
MIN_ESS_PER_BATCH = 5.0
#: Forward and reverse estimates of a pair further apart than this many standard errors of
#: their difference (batch means) disagree.
MAX_DISAGREEMENT = 5.0


class EvidenceCheck(NamedTuple):
    """Whether the stepping-stone standard errors can be trusted, per neighbouring pair
    ``(i, i+1)`` (arrays of length ``L - 1``; see :func:`check_evidence`)."""
    log_ratio: np.ndarray          # forward estimate of log(Z_{i+1} / Z_i)
    log_ratio_reverse: np.ndarray  # reverse estimate of the same
    disagreement: np.ndarray       # |forward - reverse| / se of the difference
    overlap_ess: np.ndarray        # Kish ESS of the forward weights at level i
    min_ess: np.ndarray            # the ESS it needs: MIN_ESS_PER_BATCH per batch (chains x batches)
    untrusted: np.ndarray          # bool: a non-finite estimate, small ESS or disagreement

    @property
    def trusted(self):
        """Whether every pair passed."""
        return not bool(self.untrusted.any())


def reverse_variance_finite(betas):
    """Per neighbouring pair ``(i, i+1)``: whether the reverse stepping-stone weights can
    have a finite variance, ``beta_{i+1} <= 2 beta_i``.

    At level ``i+1`` the reverse weights are ``w = (q / p)^(beta_{i+1} - beta_i)`` (``q = 1``
    on the classic path), so ``E[w^2] = E_{i+1}[(q/p)^(2 (beta_{i+1} - beta_i))]``: the
    integrand carries ``p^(2 beta_i - beta_{i+1})``, a negative power of ``p`` once
    ``beta_{i+1} > 2 beta_i``, which diverges wherever ``p`` has lighter tails than ``q``
    (on the classic path: always).  Such a reverse estimate is biased upwards by the large
    weights it has not yet drawn, and its batch-means error is meaningless (measured on
    the README's reference path, pair 0.087 -> 1: forward overlap ESS 7,300 of 8,000, the
    reverse 0.05 nats off with an se of 0.008).
    """
    betas = np.asarray(betas, dtype=np.float64)
    return betas[1:] <= 2.0 * betas[:-1]


def check_evidence(stone, stone_reverse, betas):
    """Check the stepping-stone estimate pair by pair (Xie et al. 2011; Pigeons.jl reports both
    directions): a pair ``(i, i+1)`` of the ladder ``betas`` is *untrusted* when

    * its forward or reverse estimate, or their standard errors, are not finite;
    * the forward weights ``exp((beta_{i+1} - beta_i) lp)`` at level ``i`` have an
      effective sample size below ``MIN_ESS_PER_BATCH`` per batch (chains x
      batches): the batch means then see a handful of draws carrying
      the whole estimate, and their standard error is too small (on ``[0.1, 1]`` in
      10-D by a factor 1.3-8);
    * the forward estimate ``log E_i[exp((beta_{i+1} - beta_i) lp)]`` and the reverse
      one ``-log E_{i+1}[exp(-(beta_{i+1} - beta_i) lp)]`` differ by more than
      ``MAX_DISAGREEMENT`` standard errors of their difference.  Both estimate
      ``log Z_{i+1} / Z_i``; with poor overlap Jensen's inequality biases the first
      down and the second up, and the reverse weights have infinite variance once
      ``beta_{i+1} > 2 beta_i`` (for Gaussian tails).  The difference's error comes
      from the same batches as the forward one (its terms summed per batch, so the
      correlation of the two is kept).  Judged only where the reverse weights can have a
      finite variance (:func:`reverse_variance_finite`): elsewhere the disagreement is
      reported but says nothing about the forward estimate.
    """
    log_f, terms_f = _batch_terms(stone)
    log_m, terms_r = _mean_terms(stone_reverse[:, 1:])
    with np.errstate(invalid="ignore"):
        difference = log_f + log_m                  # log(Z_{i+1}/Z_i) + log(Z_i/Z_{i+1})
        se_f = np.sqrt(np.sum(terms_f ** 2, axis=1))
        se_r = np.sqrt(np.sum(terms_r ** 2, axis=1))
        se_d = np.sqrt(np.sum((terms_f + terms_r) ** 2, axis=1))
        disagreement = np.abs(difference) / se_d
    disagreement[(difference == 0.0) & (se_d == 0.0)] = 0.0
    ess = importance_ess(stone[:, :-1])
    # Per batch of the batch means, visited or not: a level seen in few batches has a
    # standard error from few batches.
    min_ess = np.full(ess.shape, MIN_ESS_PER_BATCH * stone.shape[0] * stone.shape[2])
    finite = np.isfinite(log_f) & np.isfinite(log_m) & np.isfinite(se_f) & np.isfinite(se_r)
    disagree = reverse_variance_finite(betas) & ~(disagreement <= MAX_DISAGREEMENT)
    untrusted = ~finite | (ess < min_ess) | disagree
    return EvidenceCheck(log_f, -log_m, disagreement, ess, min_ess, untrusted)


#: The ``tempering`` group's attribute holding a reason, beyond the pairs, why its log Z
#: standard errors cannot be trusted (``tempering.tails.heavy_tail_evidence_message``).
CAVEAT = "evidence_caveat"


def untrusted_message(group):
    """The warning for a ``tempering`` group whose ``log_z_trusted`` is False (else ``None``):
    the pairs that failed :func:`check_evidence`, why, and the fix."""
    from ..inference_data import TemperingVar as V

    if V.LOG_Z_TRUSTED not in group or bool(group[V.LOG_Z_TRUSTED]):
        return None
    pairs = np.flatnonzero(group[V.LOG_Z_UNTRUSTED].values)
    caveat = group.attrs.get(CAVEAT)
    if pairs.size == 0 and caveat:
        return caveat
    betas = group[V.BETA].values
    ess = group[V.OVERLAP_ESS].values
    min_ess = group[V.OVERLAP_MIN_ESS].values
    disagreement = group[V.STONE_DISAGREEMENT].values
    log_z_values = group[V.LOG_Z].values
    judged = reverse_variance_finite(betas)
    shown = []
    for i in pairs[:4]:
        why = []
        if not np.isfinite(log_z_values[i]) or not np.isfinite(group[V.LOG_Z_SE].values[i]):
            why.append("a non-finite estimate")
        if ess[i] < min_ess[i]:
            why.append(f"ESS of the importance weights {ess[i]:.3g}, needs {min_ess[i]:.0f}")
        if not disagreement[i] <= MAX_DISAGREEMENT and judged[i]:
            why.append(f"forward and reverse estimates {disagreement[i]:.3g} se apart")
        shown.append(f"beta {betas[i]:.3g} -> {betas[i + 1]:.3g} ({', '.join(why) or 'failed'})")
    more = f" and {pairs.size - len(shown)} more pair(s)" if pairs.size > len(shown) else ""
    nan = "" if np.all(np.isfinite(log_z_values)) else " log_z is not finite."
    return ("the log Z standard errors (tempering.log_z_se) cannot be trusted; neighbouring levels "
            f"overlap too little: {'; '.join(shown)}{more}.{nan} Put more levels between them "
            "(a longer ladder, e.g. betas=samplers.ladders.geometric(beta_min, n) with a larger n, "
            "or adapt_ladder=True) or run longer; tempering.log_z_reverse is the reverse estimate"
            + (f". Also: {caveat}" if caveat else ""))
