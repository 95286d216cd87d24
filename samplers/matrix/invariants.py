"""Rotation-invariant summaries of matrix posterior draws.

X is identifiable only up to X -> X O (O orthogonal k x k), so every
diagnostic is computed on quantities that do not see O (Moitra and Risteski
2020, section 1):

* the **loss** ||A(X X^T) - b||^2;
* the **distance to the manifold** of minimisers, by orthogonal Procrustes
  against a minimiser X0 (Schoenemann 1966): with X0^T X = U S V^T, the
  rotation R = U V^T minimises ||X0 R - X||_F over O(k), and the distance is
  ||X - X0 R||_F;
* the **component**: sign det R, +1 near E1 = {X0 R : det R = 1} and -1 near
  E2 = {X0 R : det R = -1}.  The two pieces are 2 sigma_k(X0) apart (reflect
  the direction of the smallest singular value), the yardstick for "near";
* the **singular values** of X, the square roots of the eigenvalues of X^T X;
* **M = X X^T**, summarised per entry (mean, standard deviation, equal-tailed
  credible interval) by blocked matrix products, so no d x d matrix per
  draw is ever formed (``m_summary``);
* **aligned draws** X R^T, the draws rotated onto X0, for plots of X itself.

The random rotations of X (a chain's start X0 R, ``default_initial``) come
from :func:`haar_orthogonal`, the one NumPy generator of Haar matrices; its
compiled counterpart, for moves inside the chain loop, is
``samplers.kernels.symmetry.haar_orthogonal``.

``summarize`` puts all of it into an ``InferenceData``: the scalar invariants
into ``posterior`` (so ``arviz.summary`` gives their R-hat and ESS),
the component into ``sample_stats``, and the M summaries, X0, R-hat and ESS
of the invariants into a ``matrix_summary`` group.

With an unknown noise level the sampled coordinates are (vec X, log sigma):
``posterior.X`` is then the (d, k) part and ``posterior.sigma`` the noise
level (rotation invariant, so it is one of the invariants: R-hat, ESS), with
its mean, sd and equal-tailed interval in ``matrix_summary``
(``sigma_mean``, ``sigma_sd``, ``sigma_lower``, ``sigma_upper``).
"""
import numpy as np

from ..inference_data import MATRIX_SUMMARY, arviz

__all__ = ["haar_orthogonal", "chain_rotation", "procrustes", "singular_values",
           "component_distance", "m_summary", "summarize", "MATRIX_SUMMARY"]

#: Floats held at once by the blocked products of ``m_summary``.
_BLOCK_FLOATS = 2 ** 24
#: Largest number of draws times entries of M for empirical-quantile intervals.
_QUANTILE_VALUES = 10 ** 8


def haar_orthogonal(k, rng, det=None):
    """A k x k orthogonal matrix drawn from ``rng`` (a numpy Generator).

    ``Q`` of the QR factorisation ``Z = Q R`` of a standard Gaussian k x k
    matrix, with the signs of its columns fixed so that ``diag(R) > 0``:
    exactly Haar on O(k) (Mezzadri 2007, "How to generate random matrices from
    the classical compact groups"; without the sign fix ``Q`` is not Haar).
    With ``det = +1`` or ``-1`` the last column is negated where needed to give
    that determinant; right multiplication by ``diag(1, ..., 1, -1)`` preserves
    Haar measure, so the result is Haar on SO(k) or on its coset
    {det = -1}.
    """
    q, r = np.linalg.qr(rng.standard_normal((k, k)))
    q = q * np.sign(np.diag(r))
    if det is not None and (np.linalg.det(q) < 0) != (det < 0):
        q[:, -1] = -q[:, -1]
    return q


def chain_rotation(k, seed, chain):
    """The rotation R_c of ``MatrixLangevin``'s default start X0 R_c for chain ``chain``.

    Haar with det +1 for even ``chain`` and det -1 for odd ones, so both pieces
    of the orbit carry chains; drawn from the stream
    ``SeedSequence(seed, spawn_key=(chain, 1))``, so a seed gives the same
    starts to the sampler and to anyone (a benchmark) who rebuilds them.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chain, 1)))
    return haar_orthogonal(k, rng, det=-1 if chain % 2 == 1 else 1)


def procrustes(X, X0):
    """Orthogonal Procrustes of draws ``X`` (..., d, k) against ``X0`` (d, k).

    Returns ``(R, distance, component)``: R (..., k, k) minimising
    ||X0 R - X||_F over orthogonal R, the distance ||X - X0 R||_F, and
    sign det R (+1 or -1).
    """
    X = np.asarray(X, dtype=np.float64)
    u, _, vt = np.linalg.svd(np.swapaxes(X0, -1, -2) @ X)
    R = u @ vt
    distance = np.linalg.norm(X - X0 @ R, axis=(-2, -1))
    component = np.where(np.linalg.det(R) < 0, -1, 1).astype(np.int8)
    return R, distance, component


def singular_values(X):
    """Singular values of each X (..., d, k), largest first, from the k x k Gram matrix."""
    X = np.asarray(X, dtype=np.float64)
    eig = np.linalg.eigvalsh(np.swapaxes(X, -1, -2) @ X)
    return np.sqrt(np.clip(eig[..., ::-1], 0.0, None))


def component_distance(X0):
    """Distance between the two pieces of the orbit of ``X0``: 2 sigma_k(X0)."""
    return 2.0 * float(singular_values(X0)[-1])


def m_summary(X, ci_prob=0.9):
    """Mean, standard deviation and ``ci_prob`` credible interval of every entry of
    M = X X^T over the draws ``X`` (n, d, k), without forming M per draw.

    The moments come from two matrix products over blocks of draws:
    sum_n X_n X_n^T = Y Y^T with Y = [X_1 ... X_n] (d x nk), and
    sum_n (X_n X_n^T)_ij^2 = (Z Z^T)_ij with Z_i = (w_ab X_nia X_nib) over n and
    a <= b, w_aa = 1 and w_ab = sqrt(2): O(n d^2 k^2) work, O(d^2) memory.
    The interval is equal-tailed from the empirical quantiles when the n d^2
    values fit ``_QUANTILE_VALUES`` (M formed for a few rows at a time), and
    mean -/+ z sd otherwise (the posterior of M near the orbit is nearly
    Gaussian for large beta: the Laplace approximation).  Returns four (d, d)
    arrays and the interval method, ``"quantiles"`` or ``"normal"``.
    """
    n, d, k = X.shape
    a, b = np.triu_indices(k)
    weight = np.where(a == b, 1.0, np.sqrt(2.0))
    first = np.zeros((d, d))
    second = np.zeros((d, d))
    draws_per_block = max(1, _BLOCK_FLOATS // max(d * a.size, 1))
    for start in range(0, n, draws_per_block):
        block = X[start:start + draws_per_block]                    # (nb, d, k)
        Y = np.moveaxis(block, 1, 0).reshape(d, -1)
        first += Y @ Y.T
        Z = np.moveaxis(block[:, :, a] * block[:, :, b] * weight, 1, 0).reshape(d, -1)
        second += Z @ Z.T
    mean = first / n
    var = (second - n * mean * mean) / max(n - 1, 1)
    sd = np.sqrt(np.clip(var, 0.0, None))
    if n * d * d <= _QUANTILE_VALUES:
        lower, upper = np.empty((d, d)), np.empty((d, d))
        rows = max(1, _BLOCK_FLOATS // max(n * d, 1))
        Xt = np.swapaxes(X, 1, 2)
        for start in range(0, d, rows):
            stop = min(d, start + rows)
            lower[start:stop], upper[start:stop] = np.quantile(
                X[:, start:stop] @ Xt, [(1.0 - ci_prob) / 2.0, (1.0 + ci_prob) / 2.0], axis=0)
        return mean, sd, lower, upper, "quantiles"
    from scipy.stats import norm

    z = norm.ppf((1.0 + ci_prob) / 2.0)
    return mean, sd, mean - z * sd, mean + z * sd, "normal"


def summarize(idata, problem, X0, ci_prob=0.9):
    """Add the invariants of the draws of ``problem`` in ``idata`` (see the module docstring).

    ``X0`` is the reference minimiser.  Modifies and returns ``idata``.  Call
    it again after ``samplers.concat`` of a run and its continuation to
    summarise the joined draws.
    """
    import xarray as xr

    az = arviz()
    X0 = np.asarray(X0, dtype=np.float64).reshape(problem.d, problem.rank)
    unknown = problem.unknown_noise
    if unknown:
        for group in ("posterior", "warmup_posterior"):
            if group in idata.groups():
                setattr(idata, group, _split_noise(getattr(idata, group), problem))
    post = idata.posterior
    draws = post[problem.name].values                        # (chain, draw, d, k)
    chains, n_draws = draws.shape[:2]
    R, distance, component = procrustes(draws, X0)
    sv = singular_values(draws)
    # The loss of every draw is already known from the recorded log density:
    # log p = -beta * loss, or -(m + 2a) s - (loss / 2 + b0) exp(-2 s) with s = log sigma.
    lp = idata.sample_stats["lp"].values
    if unknown:
        log_sigma = np.log(post["sigma"].values)
        m2a, b0 = problem.params[-1][1:]
        loss = 2.0 * ((-lp - m2a * log_sigma) * np.exp(2.0 * log_sigma) - b0)
    else:
        loss = -lp / problem.beta
    aligned = draws @ np.swapaxes(R, -1, -2)
    dims = ("chain", "draw")
    idata.posterior = post.assign(
        loss=(dims, loss), distance=(dims, distance),
        singular_values=(dims + ("singular_value",), sv),
        **{f"{problem.name}_aligned": (dims + post[problem.name].dims[2:], aligned)})
    idata.sample_stats = idata.sample_stats.assign(component=(dims, component))

    invariants = ["loss", "distance", "singular_values"] + (["sigma"] if unknown else [])
    table = az.summary(idata, var_names=invariants, kind="diagnostics")
    mean, sd, lower, upper, method = m_summary(
        draws.reshape(chains * n_draws, problem.d, problem.rank), ci_prob)
    m_dims = ("M_dim_0", "M_dim_1")
    data = {
        "M_mean": (m_dims, mean), "M_sd": (m_dims, sd), "M_lower": (m_dims, lower),
        "M_upper": (m_dims, upper), "M_hat": (m_dims, X0 @ X0.T),
        "X0": (("X0_dim_0", "X0_dim_1"), X0),
        "r_hat": (("invariant",), table["r_hat"].to_numpy()),
        "ess_bulk": (("invariant",), table["ess_bulk"].to_numpy()),
        "ess_tail": (("invariant",), table["ess_tail"].to_numpy()),
    }
    if hasattr(problem, "observed_mask"):
        data["observed"] = (m_dims, problem.observed_mask())
    if unknown:
        sigma = post["sigma"].values.reshape(-1)
        lower, upper = np.quantile(sigma, [(1.0 - ci_prob) / 2.0, (1.0 + ci_prob) / 2.0])
        data.update(sigma_mean=((), sigma.mean()), sigma_sd=((), sigma.std(ddof=1)),
                    sigma_lower=((), lower), sigma_upper=((), upper))
    attrs = dict(idata.posterior.attrs)
    if unknown:
        # After concat the draws are already split and the scale is the run's, not problem's.
        previous = idata[MATRIX_SUMMARY].attrs if MATRIX_SUMMARY in idata.groups() else {}
        attrs.update(log_sigma_scale=previous.get("log_sigma_scale", problem.log_sigma_scale))
    attrs.update(ci_prob=float(ci_prob), interval_method=method,
                 component_distance=component_distance(X0),
                 n_summary_draws=int(chains * n_draws))
    group = xr.Dataset(data, coords={"invariant": list(table.index)}, attrs=attrs)
    if MATRIX_SUMMARY in idata.groups():
        idata[MATRIX_SUMMARY] = group
    else:
        idata.add_groups({MATRIX_SUMMARY: group})
    return idata


def _split_noise(dataset, problem):
    """A posterior of flat draws (vec X, log sigma) as ``X`` (d, k) and ``sigma``;
    unchanged when already split (``summarize`` after ``concat``)."""
    name = problem.name
    values = dataset[name].values
    if values.shape[2:] == (problem.d, problem.rank):
        return dataset
    flat_dims = dataset[name].dims[2:]
    chains, n_draws = values.shape[:2]
    X = values[..., :-1].reshape(chains, n_draws, problem.d, problem.rank)
    out = dataset.drop_vars([name] + [dim for dim in flat_dims if dim in dataset.coords])
    dims = ("chain", "draw")
    return out.assign({name: (dims + (f"{name}_dim_0", f"{name}_dim_1"), X),
                       "sigma": (dims, problem.sigma_of(values[..., -1]))})
