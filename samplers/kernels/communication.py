"""Communication between the levels of a temperature ladder.

Level ``i`` targets ``p_i(x) proportional to p(x)^beta_i`` with
``0 < beta_0 < ... < beta_{L-1} = 1``; ``lp`` is always the *untempered*
log p.  On a reference path (``pi_beta ∝ q^(1-beta) p^beta``, ``beta_0 =
0``, ``kernels.reference``) every formula below holds with ``log p``
replaced by ``log p - log q``: the level moves receive that difference, and
the swaps subtract the replicas' ``lq``.

* Simulated tempering (Ge, Lee and Risteski, arXiv 1812.00793; Marinari and
  Parisi 1992): one state ``(i, x)``; a move to ``j = i +/- 1`` is accepted
  with probability ``min(1, exp((beta_j - beta_i) lp(x) + w_j - w_i))`` where
  ``w_i`` estimates ``-log Z_i``.  Lifted (Sakai and Hukushima 2016): the
  proposal keeps a direction, flipped only on rejection, so the level walk is
  non-reversible; reversible: ``j`` is ``i - 1`` or ``i + 1`` with
  probability 1/2 each.
* Parallel tempering: one replica per level; swapping the states of levels
  ``i`` and ``i + 1`` is accepted with probability
  ``min(1, exp((beta_{i+1} - beta_i) (lp(x_i) - lp(x_{i+1}))))``.
  Deterministic even-odd (DEO, Syed et al. 2022, arXiv 1905.02939) swaps the
  even pairs at even rounds and the odd pairs at odd rounds (non-reversible);
  stochastic even-odd (SEO) picks the parity at random (reversible).

Each function updates one chain's arrays in place and adds the acceptance
probability of every attempted pair ``(i, i+1)`` to ``pair_accept[i]`` and 1
to ``pair_tries[i]``.
"""
from .._jit import jit
from .._rng import COMMUNICATE, uniform
from .acceptance import accept_probability

__all__ = ["level_move", "swap_replicas"]


@jit
def level_move(level, direction, lp, betas, log_weights, lifted, key, step,
               pair_accept, pair_tries):
    """One simulated-tempering level move; returns the new ``(level, direction)``."""
    n_levels = betas.shape[0]
    if not lifted:
        direction = 1 if uniform(key, step, COMMUNICATE, 1) < 0.5 else -1
    proposal = level + direction
    if proposal < 0 or proposal >= n_levels:
        return level, -direction
    log_ratio = (betas[proposal] - betas[level]) * lp + log_weights[proposal] - log_weights[level]
    accept = accept_probability(log_ratio)
    pair = min(level, proposal)
    pair_accept[pair] += accept
    pair_tries[pair] += 1.0
    if uniform(key, step, COMMUNICATE, 0) < accept:
        return proposal, direction
    return level, -direction


@jit
def swap_replicas(x, lp, grad, lq, grad_q, identity, betas, parity, key, step, pair_accept,
                  pair_tries):
    """Swap neighbouring replicas of one chain: pairs ``(i, i+1)`` with ``i % 2 == parity``.

    ``x``, ``lp``, ``grad``, ``lq`` and ``grad_q`` are indexed by level
    (``lq`` and ``grad_q``: a reference path's log q, 0 and empty on the
    classic path); ``identity[i]`` names the replica (walker) now at level
    ``i``, for counting round trips.
    """
    n_levels = betas.shape[0]
    for i in range(parity, n_levels - 1, 2):
        log_ratio = (betas[i + 1] - betas[i]) * ((lp[i] - lq[i]) - (lp[i + 1] - lq[i + 1]))
        accept = accept_probability(log_ratio)
        pair_accept[i] += accept
        pair_tries[i] += 1.0
        if uniform(key, step, COMMUNICATE, i) < accept:
            for j in range(x.shape[1]):
                x[i, j], x[i + 1, j] = x[i + 1, j], x[i, j]
                grad[i, j], grad[i + 1, j] = grad[i + 1, j], grad[i, j]
            for j in range(grad_q.shape[1]):
                grad_q[i, j], grad_q[i + 1, j] = grad_q[i + 1, j], grad_q[i, j]
            lp[i], lp[i + 1] = lp[i + 1], lp[i]
            lq[i], lq[i + 1] = lq[i + 1], lq[i]
            identity[i], identity[i + 1] = identity[i + 1], identity[i]
