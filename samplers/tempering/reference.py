"""Reference paths: which reference ``q`` a tempering run starts from, and its arrays.

A tempering sampler with ``reference=`` runs the path

    pi_beta(x) ∝ q(x)^(1 - beta) p(x)^beta,   0 = beta_0 < ... < beta_{L-1} = 1,

instead of the classic ``p^beta`` (Surjanovic et al. 2022, arXiv
2206.00080; Pigeons.jl's reference and variational paths).  ``q`` is a
normalised Gaussian mixture with exact draws, so:

* the level ``beta = 0`` is ``q`` itself, refreshed by an exact draw at
  every step (parallel tempering: its replica; simulated tempering: the
  state while at level 0), and every hot level is a proper distribution
  whatever the tails of ``p`` (``q^(1-beta) p^beta`` is integrable when ``q``
  is Gaussian and ``p`` is bounded; no improper ``p^beta``);
* ``Z(0) = 1``, so the stepping-stone sum gives ``log Z(1) = log integral
  of p``: the evidence, absolute, not relative to a hot level;
* the swaps and level moves use ``log p - log q`` where the classic path
  uses ``log p`` (``kernels.communication``).

``reference`` may be

* ``None``: the classic path ``p^beta`` (the seed's algorithm);
* a ``samplers.Gaussian`` or ``samplers.GaussianMixture`` (fixed; a proper
  prior, say);
* ``"modes"``: a mode-aware reference built during warm-up
  (``tempering.modes``): a Laplace approximation at every mode discovered by
  L-BFGS from the chains' states, plus a broad defensive component;
* ``"variational"``: a Gaussian refitted to the beta = 1 states after every
  warm-up round (``tempering.variational``; Surjanovic et al. 2022).
"""
import numpy as np

from ..kernels.reference import ReferenceArrays
from ..targets import Gaussian, GaussianMixture

__all__ = ["reference_arrays", "as_reference", "REFERENCE_KINDS", "MAX_REFERENCE_DIM",
           "reference_logpdf"]

#: The string values ``reference=`` accepts.
REFERENCE_KINDS = ("modes", "variational")
#: The largest dimension of a reference path: every component of ``q`` keeps its
#: Cholesky factor and its inverse, ``2 d^2`` doubles (64 MB at d = 2000), and the
#: explorer evaluates ``log q`` in O(d^2) per component and step.
MAX_REFERENCE_DIM = 2000

_LOG_2PI = float(np.log(2.0 * np.pi))


def reference_arrays(means, covs, weights, name="reference"):
    """The :class:`~samplers.kernels.reference.ReferenceArrays` of the mixture
    ``sum_k weights[k] N(means[k], covs[k])``; ``ValueError`` naming ``name`` when a
    covariance is not positive definite or a weight is not positive."""
    means = np.ascontiguousarray(means, dtype=np.float64)
    covs = np.ascontiguousarray(covs, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    n, d = means.shape
    if covs.shape != (n, d, d) or weights.shape != (n,):
        raise ValueError(f"{name}: {n} means of dimension {d} need covariances of shape "
                         f"({n}, {d}, {d}) and {n} weights, got {covs.shape} and {weights.shape}")
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(covs))):
        raise ValueError(f"{name}: means and covariances must be finite")
    if not (np.all(weights > 0) and np.all(np.isfinite(weights))):
        raise ValueError(f"{name}: weights must be positive and finite")
    weights = weights / weights.sum()
    try:
        chol = np.linalg.cholesky(0.5 * (covs + covs.transpose(0, 2, 1)))
    except np.linalg.LinAlgError:
        raise ValueError(f"{name}: a covariance is not positive definite") from None
    inv_chol = np.tril(np.linalg.inv(chol))
    log_det = np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
    if not (np.all(np.isfinite(inv_chol)) and np.all(np.isfinite(log_det))):
        raise ValueError(f"{name}: a covariance is singular in floating point")
    cum = np.cumsum(weights)
    cum[-1] = 1.0
    diagonal = np.all(covs == covs * np.eye(d)[None], axis=(1, 2))
    return ReferenceArrays(
        weights=np.ascontiguousarray(np.stack([np.log(weights) - log_det - 0.5 * d * _LOG_2PI,
                                               cum, diagonal.astype(np.float64)], axis=1)),
        factors=np.ascontiguousarray(np.concatenate([means[:, None, :], chol, inv_chol], axis=1)))


def reference_logpdf(ref, x):
    """``log q(x)`` of ``ref`` (:class:`ReferenceArrays`) at the rows of ``x`` (n, d), in NumPy."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    z = np.einsum("kab,nkb->nka", ref.inv_chol, x[:, None, :] - ref.mean[None])
    q = ref.log_norm[None] - 0.5 * np.sum(z * z, axis=2)
    top = q.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(q - top).sum(axis=1, keepdims=True)))[:, 0]


def as_reference(reference, dim):
    """Validate ``reference=``: ``None``, ``"modes"``, or the arrays of a fixed Gaussian or
    Gaussian mixture of dimension ``dim``."""
    if reference is not None and dim is not None and dim > MAX_REFERENCE_DIM:
        raise ValueError(
            f"reference paths keep dense d x d factors of q (2 d^2 doubles per component, "
            f"O(d^2) work per step): the target has dim {dim} > {MAX_REFERENCE_DIM}; use "
            "reference=None (the classic path)")
    if reference is None or (isinstance(reference, str) and reference in REFERENCE_KINDS):
        return reference
    if isinstance(reference, str):
        raise ValueError(f"reference must be 'auto' (the default), None, one of "
                         f"{list(REFERENCE_KINDS)}, a samplers.Gaussian or a "
                         f"samplers.GaussianMixture, got {reference!r}")
    if isinstance(reference, Gaussian):
        means, covs, weights = reference.mean[None], reference.cov[None], np.ones(1)
    elif isinstance(reference, GaussianMixture):
        means, covs, weights = reference.means, reference.covs, reference.weights
        keep = weights > 0
        means, covs, weights = means[keep], covs[keep], weights[keep]
    else:
        raise TypeError(
            "reference must be 'auto' (the default), None, 'modes', 'variational', a "
            "samplers.Gaussian or a "
            "samplers.GaussianMixture "
            f"(a normalised density with exact draws), got {type(reference).__name__}")
    if dim is not None and means.shape[1] != dim:
        raise ValueError(f"reference has dimension {means.shape[1]}, the target has dim {dim}")
    return reference_arrays(means, covs, weights)
