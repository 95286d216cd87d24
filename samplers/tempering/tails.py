"""Proper hot levels: is ``p^beta`` a distribution, and did the hot replicas stay put?

On the classic path the levels are ``p^beta``.  A target whose density decays
like ``|x|^(-a)`` far out (Student-t with ``nu`` degrees of freedom: ``a = nu +
d``; Cauchy: ``a = 1 + d``) makes ``p^beta`` integrable only for ``beta a > d``:
below ``beta = d / a`` a level is no distribution at all, its replicas drift off
without bound, its log Z is infinite (the stepping stone still prints a finite
number), and the walk can carry nothing between modes through it.  Two checks:

* **the tail** (:func:`tail_exponent`): log p along ``N_DIRECTIONS`` fixed random
  rays from the centre of the beta = 1 draws, at radii ``10^k`` times their
  spread; the decay exponent ``a = -d log p / d log r`` between the two
  outermost radii where log p is finite (``inf`` where it is ``-inf``: outside
  the support, proper) is a property of the target.  The median over rays is
  compared with ``d / beta``.  A Gaussian tail gives ``a ~ r^2``, enormous at
  ``10^6`` spreads, so only a ``beta`` far below any sensible ladder (1e-30,
  whose mass lies ~1e15 spreads out) fails: improper in practice.
* **runaway replicas** (:func:`runaway_levels`): the final positions of the
  replicas at each level against the beta = 1 draws; a Gaussian-like level at
  ``beta`` spreads ``1 / sqrt(beta)`` times as wide, and a replica
  ``RUNAWAY_FACTOR`` times further than that has run off (on a 4-D Cauchy the
  hot replicas of parallel tempering ended at ``|x|`` ~ 1e16 to 1e99).

The fix is a path whose hot end is proper: ``q^(1 - beta) p^beta`` with a
normalised reference ``q`` (``reference=``).
"""
import numpy as np

__all__ = ["tail_exponent", "improper_levels", "runaway_levels", "hot_level_message",
           "heavy_tail_evidence_message",
           "N_DIRECTIONS", "RADII", "RUNAWAY_FACTOR"]

#: Rays of the tail probe, and the radii along them in units of the beta = 1 spread.
N_DIRECTIONS = 16
RADII = 10.0 ** np.arange(1, 7)
#: A replica this many times further from the beta = 1 draws than a Gaussian-like level at its
#: beta would spread has run off.
RUNAWAY_FACTOR = 1e6
#: A tail exponent below this is a polynomial decay (a Gaussian's is ~r^2: enormous at the
#: probe's radii).
POLYNOMIAL = 1e3
#: The fix named in the warning.
FIX = 'use reference="modes" (a reference path: q^(1 - beta) p^beta with a proper reference q)'


def _centre_and_spread(draws):
    """Coordinate-wise median of the ``(n, d)`` beta = 1 draws and their median distance
    to it (1 where that is 0 or not finite): robust to heavy tails."""
    centre = np.median(draws, axis=0)
    spread = float(np.median(np.linalg.norm(draws - centre, axis=1)))
    return centre, spread if np.isfinite(spread) and spread > 0 else 1.0


def _finite_rows(points, dim):
    """The rows of ``points`` (any shape ending in ``dim``) with every entry finite."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, dim)
    return points[np.all(np.isfinite(points), axis=1)]


def tail_exponent(target, centre, spread, seed=0):
    """Median over ``N_DIRECTIONS`` rays of the decay exponent of ``p`` far out (module
    docstring): ``-(log p(r2) - log p(r1)) / log(r2 / r1)`` at the two outermost radii of
    ``spread * RADII`` where log p is finite, ``inf`` along a ray where it becomes -inf."""
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((N_DIRECTIONS, target.dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    radii = spread * RADII
    exponents = []
    for u in directions:
        with np.errstate(all="ignore"):
            lp = np.array([target.logp_and_grad(centre + r * u)[0] for r in radii])
        if np.any(np.isneginf(lp)):
            exponents.append(np.inf)          # outside the support far out: proper
            continue
        finite = np.flatnonzero(np.isfinite(lp))
        if finite.size < 2:
            continue                          # NaN: no information along this ray
        i, j = finite[-2], finite[-1]
        exponents.append(-(lp[j] - lp[i]) / np.log(radii[j] / radii[i]))
    return float(np.median(exponents)) if exponents else np.inf


def improper_levels(betas, exponent, dim):
    """Levels whose ``p^beta`` decays no faster than ``|x|^(-d)``: ``beta * exponent <= d``."""
    return np.flatnonzero(np.asarray(betas) * exponent <= dim)


def runaway_levels(betas, positions, levels, centre, spread):
    """Levels holding a replica ``RUNAWAY_FACTOR`` times further from ``centre`` than
    ``spread / sqrt(beta)``, and the largest distance seen at each of them.

    ``positions`` (n, d) and ``levels`` (n,): the final replicas and their levels.
    """
    betas = np.asarray(betas)
    with np.errstate(all="ignore"):
        distance = np.linalg.norm(positions - centre, axis=1)
        scaled = distance * np.sqrt(betas[levels]) / spread
    far = ~(scaled <= RUNAWAY_FACTOR)              # NaN and inf positions count as run off
    out = {}
    for lev in np.unique(levels[far]):
        out[int(lev)] = float(np.max(distance[far & (levels == lev)]))
    return out


def hot_level_message(target, betas, draws, positions, levels):
    """The warning of a classic-path run with improper or runaway levels, else ``None``.

    ``draws`` (n, d): the beta = 1 draws; ``positions``/``levels``: the final replicas.
    Without finite draws the tail is probed from the final replicas, and runaways are
    not judged.
    """
    betas = np.asarray(betas, dtype=np.float64)
    draws = _finite_rows(draws, target.dim)
    runaway = {}
    if draws.shape[0] > 0:
        centre, spread = _centre_and_spread(draws)
        runaway = runaway_levels(betas, positions, levels, centre, spread)
    else:
        finite = _finite_rows(positions, target.dim)
        if finite.shape[0] == 0:
            return None
        centre, spread = _centre_and_spread(finite)
    exponent = tail_exponent(target, centre, spread)
    improper = improper_levels(betas, exponent, target.dim)
    if improper.size == 0 and not runaway:
        return None
    parts = []
    if improper.size:
        levels_text = f"the levels beta = {_betas(betas[improper])}"
        if np.isfinite(exponent) and exponent < POLYNOMIAL:
            parts.append(f"{levels_text} are not distributions: log p decays like -{exponent:.3g} "
                         f"log |x| far out, so p^beta is not normalisable for beta <= "
                         f"{target.dim / exponent:.3g} (d / {exponent:.3g})")
        else:
            parts.append(f"{levels_text} are improper in practice: p^beta has most of its mass "
                         f"beyond {RADII[-1]:.0e} times the spread of the beta = 1 draws "
                         f"({spread:.3g})")
    if runaway:
        worst = max(runaway.values())
        parts.append(f"the replicas at beta = {_betas(betas[sorted(runaway)])} ran off (|x| up to "
                     f"{worst:.3g} from the beta = 1 draws, whose spread is {spread:.3g})")
    return ("; ".join(parts) + ". Their draws and log Z mean nothing and they carry no mass "
            f"between modes: raise the smallest beta, or {FIX}")


def heavy_tail_evidence_message(target, draws):
    """On a reference path with a Gaussian (mixture) reference ``q``: a warning (else
    ``None``) when ``p`` decays polynomially, like ``|x|^(-a)`` (:func:`tail_exponent`
    from the beta = 1 ``draws``).

    The stepping stone's last increment averages ``(p / q)^(1 - beta)`` under
    ``pi_beta``; its variance is the integral of ``q^(1 - beta') p^beta'`` with
    ``beta' = 2 - beta > 1``, which diverges when ``p``'s tails are heavier than a
    Gaussian's (``q^(-)`` grows like ``exp(|x|^2)``): the standard error of the
    evidence comes from a sample of an infinite-variance average, too small (a Cauchy's
    evidence came out 2 to 7 se low).  A normalisable ``p`` needs ``a > d``; below it
    the evidence is infinite.
    """
    draws = _finite_rows(draws, target.dim)
    if draws.shape[0] == 0:
        return None
    centre, spread = _centre_and_spread(draws)
    exponent = tail_exponent(target, centre, spread)
    if not (np.isfinite(exponent) and exponent < POLYNOMIAL):
        return None
    if exponent <= target.dim:
        return (f"log p decays like -{exponent:.3g} log |x| far out, no faster than |x|^-d "
                f"(d = {target.dim}): p is not normalisable, its evidence is infinite and the "
                "draws are not of a distribution")
    return (f"log p decays like -{exponent:.3g} log |x| far out (a polynomial tail), faster than "
            f"|x|^-d (d = {target.dim}) but slower than the Gaussian reference q: the last "
            "stepping-stone increment (p / q)^(1 - beta) has infinite variance, so "
            "log_evidence_se may be too small (a Cauchy's evidence came out 2 to 7 se low; "
            "the estimate itself is consistent): compare independent runs instead")


def _betas(values):
    shown = ", ".join(f"{b:.3g}" for b in values[:6])
    return shown + (f" and {values.size - 6} more" if values.size > 6 else "")
