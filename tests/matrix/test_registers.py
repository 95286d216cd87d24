"""The kernels written as LLVM IR size their register groups for the CPU numba compiles for
(``kernels._vector_registers``): here compiled for an AVX2 CPU (16 vector registers, a vector
of LANES doubles in two), in a fresh process with its own numba cache, against NumPy."""
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = textwrap.dedent("""
    import numpy as np
    from reference import rank_one_loss_grad
    from samplers.matrix import Sensing, kernels

    assert kernels._vector_registers() == 16
    assert (kernels.RANK_ONE_VECTORS, kernels.SYMMETRIC_ROWS) == (2, 4)
    rng = np.random.default_rng(3)
    # Rank-one: several column blocks (n k = 45 > 2 vectors of 8), tiles, parts, leftovers.
    d, k, m, n, beta = 67, 5, 301, 9, 0.7
    a, c, b = rng.standard_normal((m, d)), rng.standard_normal((m, d)), rng.standard_normal(m)
    for general in (False, True):
        problem = Sensing.rank_one(a, b, k, c=c if general else None, beta=beta)
        cc = c if general else a
        xs = rng.standard_normal((n, d * k)) / np.sqrt(d)
        grads, lps = np.empty_like(xs), np.empty(n)
        problem.batch_logp_grad(xs, problem.params, grads, lps)
        for x, g, lp in zip(xs, grads, lps):
            loss, grad_loss = rank_one_loss_grad(a, cc, b, x.reshape(d, k))
            grad = -beta * grad_loss
            assert abs(lp + beta * loss) <= 1e-12 * beta * loss
            assert np.max(np.abs(g - grad.ravel())) <= 1e-10 * np.max(np.abs(grad))
    # The dense kernel's symmetric product, every chain count it serves.
    p = 23
    Q = rng.standard_normal((p, p))
    Q = Q + Q.T
    for chains in range(1, kernels.LANES + 1):
        Z = rng.standard_normal((chains, p))
        assert np.allclose(kernels.symmetric_product(Q, Z), Z @ Q, rtol=1e-12, atol=1e-12)
    # Dense sensing's lane kernels (vectors of 4 and of 8) against the direct form.
    d, k, m = 6, 2, 40
    problem = Sensing(rng.standard_normal((m, d, d)), rng.standard_normal(m), k, noise_std=0.5)
    assert problem.normal_equations
    direct = (problem.s_packed, problem.b, np.zeros(1)) + problem.params[3:]
    for n in (3, 8):
        xs = rng.standard_normal((n, d * k))
        grads, lps, g_direct, lp_direct = np.empty_like(xs), np.empty(n), np.empty_like(xs), np.empty(n)
        problem.batch_logp_grad(xs, problem.params, grads, lps)
        kernels.sensing_logp_grad_batch(xs, direct, g_direct, lp_direct)
        assert np.allclose(lps, lp_direct, rtol=1e-10, atol=0)
        assert np.allclose(grads, g_direct, rtol=1e-9, atol=1e-12 * np.abs(g_direct).max())
    print("ok")
""")


@pytest.mark.slow
def test_ir_kernels_compiled_for_16_vector_registers(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "tests")]),
               NUMBA_CPU_NAME="haswell",
               NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    result = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                            text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
