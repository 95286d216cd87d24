"""Slow, obviously correct reference implementations in plain Python/NumPy.

The compiled kernels must match these under the same random stream.
"""
import numpy as np

MASK64 = (1 << 64) - 1
M0, M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157
W0, W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B
NOISE, ACCEPT = 0, 1


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


def normals(key, step, purpose, n):
    out = []
    for block in range((n + 3) // 4):
        r = philox4x64((step, purpose, block, 0), (int(key[0]), int(key[1])))
        u = [unit(v) for v in r]
        for ua, ub in ((u[0], u[1]), (u[2], u[3])):
            radius = np.sqrt(-2.0 * np.log(1.0 - ua))
            out += [radius * np.cos(2 * np.pi * ub), radius * np.sin(2 * np.pi * ub)]
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
