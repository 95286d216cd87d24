"""``ParallelTempering``: replica exchange with non-reversible (DEO) swaps.

Every chain holds one replica per level; each explores ``p^beta_i`` with
Langevin steps (drift ``h beta_i grad log p``, per-level step size ``h_i``).
Every ``steps_per_swap`` steps, neighbouring replicas exchange states with
probability ``min(1, exp((beta_{i+1} - beta_i)(log p(x_i) - log p(x_{i+1}))))``.
``swap="deo"`` (default) alternates even and odd pairs deterministically,
which makes the index process non-reversible and its round-trip rate
independent of the number of levels once there are enough of them (Syed,
Bouchard-Côté, Deligiannidis and Doucet, JRSS-B 2022, arXiv 1905.02939);
``swap="seo"`` picks the parity at random (the reversible scheme).
"""
from .adaptation import LadderAdaptation
from .base import TemperingSampler

__all__ = ["ParallelTempering"]


class ParallelTempering(TemperingSampler):
    """Parallel tempering with Langevin exploration.

    Parameters
    ----------
    betas : array, optional
        Inverse temperatures, strictly increasing in (0, 1] (from 0 on a
        reference path), ending at 1 (``ladders.check_ladder``).  Default ``ladders.default_ladder(dim)``,
        adapted during warm-up.
    step_size : float, optional
        One step size for every level; default: tuned per level by dual
        averaging to ``target_accept``.
    steps_per_swap : int
        Langevin steps of every replica between swap rounds (default 1).
    swap : {"deo", "seo"}
        Deterministic (non-reversible) or stochastic (reversible) even-odd swaps.
    metropolis : bool
        MALA instead of ULA for the exploration.
    adapt_ladder : bool, optional
        Equalise the swap rejection between neighbours during warm-up;
        default: when ``betas`` is not given.
    reference : "auto", None, "modes", "variational", Gaussian or GaussianMixture
        The path (``tempering.reference``): ``None``, the classic ``p^beta``;
        else ``q^(1-beta) p^beta`` from a normalised reference ``q``, whose
        level ``beta = 0`` is refreshed by an exact draw at every step, and
        whose stepping-stone sum is the absolute evidence ``log integral p``.
        ``"modes"``: ``q`` built from the modes discovered during warm-up
        (``tempering.modes``).  ``"auto"`` (default): ``"modes"``, or the classic
        path where a reference path cannot run or would cost too much (given
        ``betas`` above 0, a batched target, ``dim > 100``; ``path``).

    The posterior holds the replica at beta = 1; ``idata.tempering`` holds
    the ladder, ``log_z`` (stepping stone) with ``log_z_se``, swap
    acceptance per pair, round trips per chain and the communication
    barrier (see ``samplers.tempering_summary``).
    """

    def __init__(self, betas=None, *, step_size=None, steps_per_swap=1, swap="deo",
                 metropolis=True, target_accept=0.574, adapt_ladder=None, reference="auto"):
        super().__init__(betas, step_size=step_size, steps_per_swap=steps_per_swap,
                         metropolis=metropolis, target_accept=target_accept,
                         adapt_ladder=adapt_ladder, reference=reference)
        if swap not in ("deo", "seo"):
            raise ValueError(f"swap must be 'deo' or 'seo', got {swap!r}")
        self.swap = swap

    name = "ParallelTempering"

    def settings(self):
        return {**super().settings(), "swap": self.swap}

    def plan(self, target, tune=None, initial=None):
        """One replica per level, ``"swaps_deo"`` or ``"swaps_seo"``, the ladder adapted
        between rounds when ``adapt_ladder``."""
        return self._plan(target, tune, communication="swaps_" + self.swap,
                          replica_per_level=True,
                          adaptation=LadderAdaptation() if self.adapt_ladder else None)
