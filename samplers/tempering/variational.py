"""The variational reference: a Gaussian ``q`` fitted to the target during warm-up.

``reference="variational"`` runs the reference path ``q^(1 - beta) p^beta``
(``tempering.reference``) from the first warm-up step, and after every
warm-up round but the last refits ``q`` to the round's ``beta = 1`` states by
moment matching:

    q = N(mean, S),   mean and S the sample mean and covariance of the states,

which minimises the forward Kullback-Leibler divergence ``KL(p || q)`` over
Gaussians (Surjanovic, Syed, Bouchard-Cote, Campbell 2022, "Parallel
tempering with a variational reference", NeurIPS; Pigeons.jl's variational
reference, which refits after every round the same way).  The forward
divergence covers every mode the chains have weighed, so on a multimodal
target ``q`` is broad: a good hot end for the path.  But only those: when every
chain sits in one of two separated modes, ``q`` fits that one and the path never
sees the other (on the sharply bimodal model of the calibration test, SBC p = 6e-6;
``reference="modes"`` searches for modes instead).  ``S`` is the full sample
covariance, shrunk by ``SHRINKAGE`` towards its diagonal, when the round kept at
least ``FULL_COVARIANCE_PER_DIM`` states per coordinate, its diagonal otherwise
(the mean-field family, Pigeons' default), with a floor of ``VARIANCE_FLOOR``
times the mean variance so that a coordinate the chains did not move does not
make ``q`` singular.

The run starts from a broad diagonal Gaussian over the starts and
``adaptation.INITIAL_GUESSES`` draws of ``target.default_initial`` (sd at least 1): every
hot level is proper from the first step.  After the last warm-up round ``q``
stays fixed, so the kept draws come from one Markov chain.
"""
import numpy as np

from ..engine import Adaptation
from ..engine.state import with_reference
from .adaptation import initial_guesses, restart_weights
from .evidence import log_z
from .reference import reference_arrays

__all__ = ["VariationalReference", "fit_gaussian", "FULL_COVARIANCE_PER_DIM", "VARIANCE_FLOOR",
           "SHRINKAGE",
           "MIN_STATES", "STATES_PER_LEVEL"]

#: A round's beta = 1 states per coordinate from which ``q`` gets a full covariance.
FULL_COVARIANCE_PER_DIM = 10
#: Floor of every variance of ``q``, as a fraction of their mean.
VARIANCE_FLOOR = 1e-6
#: Weight of the diagonal in the full covariance (shrinkage towards it).
SHRINKAGE = 0.01
#: Fewest beta = 1 states a round must keep for ``q`` to be refitted.
MIN_STATES = 20
#: Positions kept per chain, level and warm-up round (``engine.RunPlan.explored_positions``
#: is this times the number of levels): about as many at beta = 1 per chain.
STATES_PER_LEVEL = 64


def fit_gaussian(points, name="reference"):
    """Moment matching: the :class:`~samplers.kernels.reference.ReferenceArrays` of
    ``N(mean, S)`` for the rows of ``points`` (n, d) (module docstring: full or diagonal
    ``S``, floored variances)."""
    points = np.asarray(points, dtype=np.float64)
    n, d = points.shape
    mean = points.mean(axis=0)
    var = points.var(axis=0, ddof=1) if n > 1 else np.ones(d)
    floor = VARIANCE_FLOOR * max(float(np.mean(var)), np.finfo(float).tiny)
    var = np.maximum(var, floor)
    if n >= FULL_COVARIANCE_PER_DIM * d:
        # Shrunk by SHRINKAGE towards its diagonal: positive definite even when the
        # states lie on a line (perfectly correlated coordinates).
        cov = (1.0 - SHRINKAGE) * np.cov(points, rowvar=False).reshape(d, d)
        cov[np.diag_indices(d)] += SHRINKAGE * var
        cov[np.diag_indices(d)] = np.maximum(np.diag(cov), floor)
    else:
        cov = np.diag(var)
    return reference_arrays(mean[None], cov[None], np.ones(1), name)


class VariationalReference(Adaptation):
    """``reference="variational"``: the reference path from a Gaussian refitted to the
    beta = 1 states after every warm-up round but the last (module docstring).
    ``inner`` is the run's other adaptation (the ladder, simulated tempering's
    weights, or ``None``).  Holds the reference fitted in its run (a plan serves one run).
    """

    def __init__(self, inner):
        self.inner = inner
        self.fits = 0

    def start(self, target, state, settings):
        # The starts and draws of the default initial distribution (from the run's own
        # stream keys: reproducible), with sd at least 1: a broad first q.
        points = np.concatenate([state.x.reshape(-1, state.x.shape[2]),
                                 initial_guesses(target, state)[0]])
        mean = points.mean(axis=0)
        sd = np.maximum(points.std(axis=0), 1.0)
        settings = with_reference(settings, reference_arrays(mean[None], np.diag(sd ** 2)[None],
                                                             np.ones(1)))
        if self.inner is not None:
            settings = self.inner.start(target, state, settings)
        return settings

    def adapt(self, target, state, settings, acc, last):
        if self.inner is not None:
            settings = self.inner.adapt(target, state, settings, acc, last)
        if last:
            return settings
        top = settings.betas.size - 1
        states = acc.explored[acc.explored_level == top]
        states = states[np.all(np.isfinite(states), axis=1)]
        if states.shape[0] < MIN_STATES:
            return settings
        settings = with_reference(settings, fit_gaussian(states))
        self.fits += 1
        # log Z(1) is the same on every path: the round's stepping-stone estimate.
        rel, _ = log_z(acc.stone)
        restart_weights(state, settings, -rel[0] if np.isfinite(rel[0]) else None)
        return settings
