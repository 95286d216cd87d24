"""``SimulatedTempering``: Langevin on a ladder with moves between levels.

The state is ``(i, x)``.  Within a level, Langevin at ``p^beta_i``: drift
``h_i beta_i grad log p``, the same noise ``sqrt(2 h_i) xi`` (ULA, or MALA
whose correction uses the tempered drift of the level).  Every
``steps_per_swap`` steps a move to ``j = i +/- 1`` is accepted with
probability

    min(1, exp((beta_j - beta_i) log p(x) + w_j - w_i)),

where ``w_i`` estimates ``-log Z_i``, ``Z_i = integral of p^beta_i``; with
exact weights every level is visited equally often.  Ge, Lee and Risteski
(arXiv 1710.02736, 1812.00793) prove that this chain mixes in polynomial
time for mixtures of shifted log-concave components, where Langevin alone
takes time exponential in the barrier.

Weights (``log_weights``):

* ``"adaptive"`` (default): from the Laplace guess ``w_i = -beta_i log p(m)
  + (d/2) log beta_i`` at the mode ``m`` that L-BFGS climbs to from the
  chain's start, stochastic approximation during warm-up
  (``kernels.adaptation.log_weight_update``, one update per level move)
  drives the occupancy to uniform, so every level is sampled; at the end of
  warm-up the weights are frozen at the stepping-stone estimate of
  ``-log Z_i`` from the last warm-up round, pooled over chains
  (``evidence``), so the kept chain is a fixed Markov chain.
* ``"paper"``: the progressive scheme of the paper: warm-up in ``L``
  rounds; round ``r < L - 1`` runs on levels ``0..r`` (starting at the
  hottest) and estimates ``Z_{r+1} / Z_r = E_{p_r}[exp((beta_{r+1} - beta_r)
  log p)]`` from the steps at level ``r``, which sets ``w_{r+1}`` and opens
  level ``r + 1``; the last round tunes step sizes on the whole ladder.
* an array of ``L`` numbers: fixed weights.

``lifted=True`` keeps a direction along the ladder, reversed only when a move
is rejected (Sakai and Hukushima 2016): a non-reversible walk with a higher
round-trip rate.  ``lifted=False`` proposes ``i - 1`` or ``i + 1`` at random,
the reversible chain of the paper.
"""
import numpy as np

from .._checks import check_bool, check_real_array, plain
from .adaptation import (PAPER_STEPS_PER_LEVEL, AdaptiveWeights, FixedWeights,
                         ProgressiveWeights, progressive_rounds)
from .base import TemperingSampler

__all__ = ["SimulatedTempering"]

#: Level moves per level in the default warm-up (``default_tune``).
WARMUP_MOVES_PER_LEVEL = 100
#: Steps per level in the default warm-up (``default_tune``).
WARMUP_STEPS_PER_LEVEL = 1000


class SimulatedTempering(TemperingSampler):
    """Simulated tempering with Langevin exploration.

    Parameters
    ----------
    betas : array, optional
        Inverse temperatures, strictly increasing in (0, 1] (from 0 on a
        reference path), ending at 1.  Default ``ladders.default_ladder(dim)``,
        adapted during warm-up.
    step_size : float, optional
        One step size for every level; default: tuned per level by dual
        averaging to ``target_accept``.
    steps_per_swap : int
        Langevin steps between level moves (default 1: at equal gradient evaluations the
        mode weights came out best with a move after every step; measured in
        ``benchmarks/bench_steps_per_swap.py``, ``benchmarks/RESULTS_tempering.md``).
    log_weights : "adaptive", "paper" or array
        Estimates of ``-log Z_i`` (see the module docstring).
    lifted : bool
        Non-reversible (lifted) level walk.
    metropolis : bool
        MALA instead of ULA within a level.
    adapt_ladder : bool, optional
        Equalise the level-move rejection between neighbours during warm-up;
        default: when ``betas`` is not given (not with ``"paper"`` weights).
    reference : "auto", None, "modes", "variational", Gaussian or GaussianMixture
        The path (``tempering.reference``): ``None``, the classic ``p^beta``;
        else ``q^(1-beta) p^beta`` from a normalised reference ``q``: at level
        ``beta = 0`` every step is an exact draw from ``q``.
        ``"modes"``: ``q`` built from the modes discovered during warm-up
        (``tempering.modes``).  ``"auto"`` (default): ``"modes"``, or the classic
        path where a reference path cannot run or would cost too much (given
        ``betas`` above 0, a batched target, ``dim > 100``; ``path``).

    The posterior holds ``draws`` draws per chain at beta = 1: the chain runs
    until it has spent ``draws * thin`` steps at the top level.
    ``sample_stats.n_steps`` counts the steps since the previous draw;
    ``idata.tempering`` holds the ladder, the weights, ``log_z`` with
    ``log_z_se``, occupancy, level-move acceptance, round trips, the
    communication barrier and the level trace.
    """

    name = "SimulatedTempering"

    def __init__(self, betas=None, *, step_size=None, steps_per_swap=1, log_weights="adaptive",
                 lifted=True, metropolis=True, target_accept=0.574, adapt_ladder=None,
                 reference="auto"):
        if isinstance(log_weights, str):
            if log_weights not in ("adaptive", "paper"):
                raise ValueError(f"log_weights must be 'adaptive', 'paper' or an array, got {plain(log_weights)!r}")
            if log_weights == "paper" and adapt_ladder:
                raise ValueError("adapt_ladder=True cannot be combined with log_weights='paper' "
                                 "(its warm-up rounds open one level at a time)")
            if log_weights == "paper" and reference in ("modes", "variational"):
                raise ValueError(f"reference={reference!r} cannot be combined with log_weights="
                                 "'paper' (the reference changes between the rounds that set the "
                                 "weights)")
            if log_weights == "paper":
                adapt_ladder = False
            self.fixed_weights = None
        else:
            if betas is None:
                raise ValueError("log_weights given as an array needs the ladder it refers to: give betas")
            n = np.asarray(betas).size
            weights = check_real_array(log_weights, "log_weights")
            if weights.shape != (n,):
                raise ValueError(f"log_weights must have one value per level of betas: shape ({n},), "
                                 f"got {weights.shape}")
            bad = np.flatnonzero(~np.isfinite(weights))
            if bad.size:
                raise ValueError(f"log_weights must be finite, got log_weights[{bad[0]}] = "
                                 f"{float(weights[bad[0]])}")
            if adapt_ladder:
                raise ValueError("adapt_ladder=True cannot be combined with fixed log_weights")
            adapt_ladder = False
            self.fixed_weights = weights
            log_weights = "fixed"
        super().__init__(betas, step_size=step_size, steps_per_swap=steps_per_swap,
                         metropolis=metropolis, target_accept=target_accept,
                         adapt_ladder=adapt_ladder, reference=reference)
        self.log_weights = log_weights
        self.lifted = check_bool(lifted, "lifted")

    def settings(self):
        weights = self.fixed_weights.tolist() if self.fixed_weights is not None else self.log_weights
        return {**super().settings(), "log_weights": weights, "lifted": self.lifted}

    def default_tune(self, target):
        """Warm-up of at least ``WARMUP_MOVES_PER_LEVEL`` level moves and
        ``WARMUP_STEPS_PER_LEVEL`` steps per level (at least 1000 steps).

        The weights are frozen at the end of warm-up at estimates made from
        where the level walk went: a warm-up too short for the walk to cross
        the ladder many times leaves weights that keep it away from the top
        level; and every level's step size is tuned by dual averaging on the
        steps spent there.  With the default ``steps_per_swap=1``, 100 L steps
        (100 moves per level) left a PyMC model's walk so far from the top that
        simulated tempering ran out of budget for its draws; ``1000 L`` steps
        (13,000 on the 13-level default ladder of a 10-D target) is the warm-up
        of the former default (100 moves per level at ``steps_per_swap=10``).
        """
        n_levels = self.ladder(target).size
        moves = WARMUP_MOVES_PER_LEVEL * n_levels
        if self.log_weights == "paper":
            moves = max(moves, 2 * PAPER_STEPS_PER_LEVEL * n_levels // self.steps_per_swap)
        return max(super().default_tune(target), moves * self.steps_per_swap,
                   WARMUP_STEPS_PER_LEVEL * n_levels)

    def plan(self, target, tune=None, initial=None):
        """One replica, ``"level_moves"``; the weights adapted (stochastic approximation within
        rounds, ``tempering.adaptation.AdaptiveWeights`` between them, with the ladder when
        ``adapt_ladder``), progressive (one round per level) or fixed."""
        if self.log_weights == "paper":
            self._check_target(target)
            tune = self._tune(target, tune)
            return self._plan(target, tune, rounds=progressive_rounds(tune, self.ladder(target).size),
                              **self._moves(), adaptation=ProgressiveWeights())
        if self.log_weights == "fixed":
            return self._plan(target, tune, **self._moves(),
                              adaptation=FixedWeights(self.fixed_weights))
        return self._plan(target, tune, **self._moves(), adapt_weights=True,
                          adaptation=AdaptiveWeights(self.adapt_ladder))

    def _moves(self):
        return dict(communication="level_moves", lifted=self.lifted)
