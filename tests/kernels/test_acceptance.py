"""The Metropolis acceptance probability min(1, e^x) shared by the kernels (kernels.acceptance)."""
import math

import numpy as np
import pytest

from samplers.kernels.acceptance import accept_probability


@pytest.mark.parametrize("log_alpha, expected", [
    (0.0, 1.0), (2.5, 1.0), (math.inf, 1.0), (-math.inf, 0.0), (math.nan, 0.0),
    (-1e-300, math.exp(-1e-300)), (-745.2, math.exp(-745.2)),
])
def test_accept_probability(log_alpha, expected):
    assert accept_probability(log_alpha) == expected


def test_accept_probability_is_exp_below_zero_bit_for_bit():
    # The kernels' draws are hashed (test_golden): the helper must give
    # exactly the compiled exp of a negative ratio, no rewriting of the
    # formula.  Compiled code calls the C library's exp, as math.exp does
    # (NumPy's vectorised np.exp may differ in the last bit).
    x = -np.random.default_rng(0).exponential(3.0, size=1000)
    assert all(accept_probability(v) == math.exp(v) for v in x)
