"""Gradient ascent on log p from many starts at once, compiled: the cheap part of mode discovery.

From every start ``x_0`` (a row of ``starts``) the ascent takes steps::

    y = x + h grad log p(x)

accepting ``y`` when ``log p(y) > log p(x)`` (then ``h <- 2 h``) and otherwise
keeping ``x`` (``h <- h / 4``): gradient ascent with a step that grows while it
succeeds (the "bold driver"), so a climb from far out in a flat heavy tail and
one inside a narrow mode both take few evaluations.  The first step moves
``length`` along the gradient (``h = length / |grad|``).

A climb stops with a status (``ascend``'s ``status`` row):

* ``KNOWN``: ``x`` is inside the ellipse ``|U_k (x - m_k)|^2 <= bound`` of a
  known mode ``k`` (``U_k`` the inverse Cholesky factor of its Laplace
  covariance; ``which`` records ``k``): the climb would end at that mode,
  so it is not continued (most climbs end so, after a few steps);
* ``STALLED``: the step ``h |grad|`` fell below ``tol * max(1, max_i |x_i|)``:
  ``x`` is near a stationary point (a candidate mode, to be polished by
  L-BFGS and checked by its Hessian, ``tempering.modes``);
* ``UNFINISHED``: ``max_evals`` evaluations spent;
* ``FAILED``: ``log p`` or its gradient is not finite at the start.

Each climb is deterministic given its start, so the results do not depend
on the number of threads.
"""
import numpy as np

from .._jit import jit

__all__ = ["ascend", "KNOWN", "STALLED", "UNFINISHED", "FAILED"]

#: Climb statuses (see the module docstring).
KNOWN, STALLED, UNFINISHED, FAILED = 0, 1, 2, 3


@jit(inline="always")
def _known_mode(x, factors, bound):
    """The first known mode ``k`` with ``|U_k (x - m_k)|^2 <= bound``, or -1.  ``factors[k]``:
    the mean (row 0) and ``U_k`` (rows ``d + 1 .. 2 d``, lower triangular), the layout of
    ``kernels.reference.ReferenceArrays``."""
    dim = x.shape[0]
    inv = dim + 1
    for k in range(factors.shape[0]):
        sq = 0.0
        for a in range(dim):
            acc = 0.0
            for b in range(a + 1):
                acc += factors[k, inv + a, b] * (x[b] - factors[k, 0, b])
            sq += acc * acc
            if sq > bound:
                break
        if sq <= bound:
            return k
    return -1


@jit(inline="always")
def _norm(v):
    acc = 0.0
    for i in range(v.shape[0]):
        acc += v[i] * v[i]
    return np.sqrt(acc)


@jit
def ascend(f, handle, starts, factors, bound, length, max_evals, tol, budget, x_out, lp_out,
           status, which):
    """Climb from the rows of ``starts`` (n, d) in turn (module docstring) until all are
    climbed or ``budget`` target evaluations are spent; write the end points into
    ``x_out`` (n, d), their log p into ``lp_out``, the statuses into ``status`` and the
    known mode reached (or -1) into ``which``.  ``f(x, handle, grad_out)`` is the target
    (``targets.interface``).  Returns ``(starts climbed, target evaluations)``."""
    n, dim = starts.shape
    grad = np.empty(dim)
    y = np.empty(dim)
    grad_y = np.empty(dim)
    evals = 0
    for i in range(n):
        if evals >= budget:
            return i, evals
        x = x_out[i]
        for a in range(dim):
            x[a] = starts[i, a]
        lp = f(x, handle, grad)
        evals += 1
        g = _norm(grad)
        lp_out[i] = lp
        which[i] = -1
        if not (np.isfinite(lp) and np.isfinite(g)):
            status[i] = FAILED
            continue
        h = length / g if g > 0.0 else 0.0
        status[i] = UNFINISHED
        moved = True
        for _ in range(max_evals - 1):
            if moved:
                k = _known_mode(x, factors, bound)
                if k >= 0:
                    status[i], which[i] = KNOWN, k
                    break
            top = 1.0
            for a in range(dim):
                top = max(top, abs(x[a]))
            if h * g < tol * top:
                status[i] = STALLED
                break
            for a in range(dim):
                y[a] = x[a] + h * grad[a]
            lp_y = f(y, handle, grad_y)
            evals += 1
            g_y = _norm(grad_y)
            moved = np.isfinite(lp_y) and np.isfinite(g_y) and lp_y > lp
            if moved:
                for a in range(dim):
                    x[a] = y[a]
                    grad[a] = grad_y[a]
                lp, g = lp_y, g_y
                h *= 2.0
            else:
                h *= 0.25
        lp_out[i] = lp
    return n, evals
