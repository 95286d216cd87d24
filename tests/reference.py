"""Slow, obviously correct reference implementations in plain Python/NumPy.

The compiled kernels must match these under the same random stream.
"""
import numpy as np

MASK64 = (1 << 64) - 1
M0, M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157
W0, W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B
NOISE, ACCEPT = 0, 1


def finite_difference_grad(target, x, eps=1e-6):
    """Central differences of ``target.logp_and_grad(x)[0]``: the gradient to check against."""
    grad = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        grad[i] = (target.logp_and_grad(x + e)[0] - target.logp_and_grad(x - e)[0]) / (2 * eps)
    return grad


def philox4x64(counter, key):
    """Philox4x64-10 with Python integers (Salmon et al. 2011)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = ((p1 >> 64) ^ c1 ^ k0, p1 & MASK64, (p0 >> 64) ^ c3 ^ k1, p0 & MASK64)
        k0, k1 = (k0 + W0) & MASK64, (k1 + W1) & MASK64
    return c0, c1, c2, c3


def unit(u):
    return (u >> 11) * 2.0 ** -53


def _ziggurat_layers(r=3.6541528853610088, layers=256):
    """Right edges x_i of 256 equal-area layers under exp(-x^2/2) (Marsaglia-Tsang)."""
    import math

    f = lambda t: math.exp(-t * t / 2)  # noqa: E731
    area = r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))
    edges = [area / f(r), r]
    while len(edges) < layers:
        edges.append(math.sqrt(-2 * math.log(area / edges[-1] + f(edges[-1]))))
    return edges + [0.0], r


def ziggurat(word, key, step, purpose, lane, j):
    """Normal ``j`` of a step from its 64-bit word, as ``samplers._rng`` documents:
    bits 0-7 layer, bit 8 sign, bits 11-63 uniform; rejected words continue
    with blocks (step, purpose, 2^63 | j << 20 | attempt, lane)."""
    edges, r = _ziggurat_layers()
    f = lambda t: np.exp(-t * t / 2)  # noqa: E731
    key = (int(key[0]), int(key[1]))
    attempt = 0

    def extra():
        nonlocal attempt
        block = philox4x64((step, purpose, (1 << 63) | (j << 20) | attempt, lane), key)
        attempt += 1
        return block

    while True:
        layer, sign = word & 255, -1.0 if (word >> 8) & 1 else 1.0
        x = unit(word) * edges[layer]
        if x < edges[layer + 1]:
            return sign * x
        block = extra()
        if layer == 0:
            while True:  # the tail beyond r
                e1, e2 = -np.log(1 - unit(block[0])) / r, -np.log(1 - unit(block[1]))
                if 2 * e2 > e1 * e1:
                    return sign * (r + e1)
                block = extra()
        lo, hi = f(edges[layer]), f(edges[layer + 1])
        if lo + unit(block[0]) * (hi - lo) < f(x):
            return sign * x
        word = block[2]


def normals(key, step, purpose, n, lane=0):
    out = []
    for block in range((n + 3) // 4):
        words = philox4x64((step, purpose, block, lane), (int(key[0]), int(key[1])))
        out += [ziggurat(w, key, step, purpose, lane, 4 * block + i) for i, w in enumerate(words)]
    return np.array(out[:n])


def uniform(key, step, purpose, index):
    return unit(philox4x64((step, purpose, index, 0), (int(key[0]), int(key[1])))[0])


def langevin_chain(logp_grad, x, key, h, n_steps, metropolis, step0=0):
    """ULA/MALA for one chain at fixed step size ``h``: the positions after each step."""
    x = np.array(x, dtype=float)
    lp, grad = logp_grad(x)
    out = []
    for t in range(step0, step0 + n_steps):
        y = x + h * grad + np.sqrt(2 * h) * normals(key, t, NOISE, x.size)
        lp_y, grad_y = logp_grad(y)
        forward = np.sum((y - x - h * grad) ** 2)
        backward = np.sum((x - y - h * grad_y) ** 2)
        log_alpha = lp_y - lp + (forward - backward) / (4 * h)
        if not metropolis or uniform(key, t, ACCEPT, 0) < min(1.0, np.exp(log_alpha)):
            x, lp, grad = y, lp_y, grad_y
        out.append(x.copy())
    return np.array(out)


def mcse_mean(values):
    """MCSE of the mean of ``values`` (chain, draw) from ArviZ's bulk ESS."""
    from samplers.inference_data import arviz

    return float(np.asarray(arviz().mcse(np.asarray(values), method="mean")).reshape(()))


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def run_example(name, tmp_path, timeout=900):
    """Run ``examples/<name>`` with an output path under ``tmp_path`` from an empty working
    directory; check that it succeeded, wrote its figure and nothing else.  Returns the
    completed process (``stdout`` for the figures it prints)."""
    import os
    import subprocess
    import sys

    cwd, out = tmp_path / "cwd", tmp_path / "figures" / "out.png"
    cwd.mkdir()
    out.parent.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), str(out)], cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.stat().st_size > 0 and list(cwd.iterdir()) == []
    return result


import numba  # noqa: E402  (the reference kernels above are NumPy only)


@numba.njit(cache=True)
def precision_logp_grad(x, params, grad_out):
    """A user's numba target, the README Quickstart's: log p = -x' P x / 2, ``params = (P,)``."""
    (precision,) = params
    grad_out[:] = -precision @ x
    return 0.5 * x @ grad_out


def rank_one_loss_grad(a, c, b, X):
    """Rank-one sensing in NumPy: L = sum_i (a_i^T X X^T c_i - b_i)^2 and its gradient
    (c = a for the symmetric form)."""
    Y, Z = a @ X, c @ X
    r = np.sum(Y * Z, axis=1) - b
    return r @ r, 2 * (a.T @ (r[:, None] * Z) + c.T @ (r[:, None] * Y))
