"""Convergence checks: R-hat, bulk and tail ESS per chain, divergences."""
import re
import warnings

import numpy as np
import pytest

from samplers.convergence import ConvergenceWarning, check_convergence, warn_convergence
from samplers.inference_data import arviz


def idata_of(x, diverging=None):
    az = arviz()
    stats = {"diverging": np.zeros(x.shape[:2], dtype=bool) if diverging is None else diverging}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.from_dict(posterior={"x": x}, sample_stats=stats)


def test_independent_chains_pass():
    # 4 x 2000 independent draws: R-hat within ~0.002 of 1 and ESS ~8000.
    x = np.random.default_rng(0).standard_normal((4, 2000, 3))
    assert check_convergence(idata_of(x)) == []


def test_chains_in_different_places_fail_rhat():
    x = np.random.default_rng(1).standard_normal((4, 2000, 2))
    x[2:, :, 1] += 1.0   # half the chains shifted by one sd
    problems = check_convergence(idata_of(x))
    assert any("R-hat" in p and "x[1]" in p for p in problems)


def test_sticky_chains_fail_ess():
    # An AR(1) chain with coefficient 0.99 has an autocorrelation time ~200:
    # 4 x 2000 draws give ESS ~40, far below 100 per chain.
    rng = np.random.default_rng(2)
    x = np.zeros((4, 2000, 1))
    for t in range(1, 2000):
        x[:, t] = 0.99 * x[:, t - 1] + np.sqrt(1 - 0.99 ** 2) * rng.standard_normal((4, 1))
    problems = check_convergence(idata_of(x))
    assert any(p.startswith("bulk effective sample size") for p in problems)
    assert any(p.startswith("tail effective sample size") for p in problems)
    # The total and its share per chain, the unit of the threshold.
    bulk = next(p for p in problems if p.startswith("bulk"))
    total, per_chain = re.search(r"down to (\d+) \(x\[0\]\), (\d+) per chain", bulk).groups()
    assert abs(int(total) / 4 - int(per_chain)) <= 1


def test_divergences_are_counted_per_chain():
    x = np.random.default_rng(3).standard_normal((2, 1000, 1))
    diverging = np.zeros((2, 1000), dtype=bool)
    diverging[1, :7] = True
    problems = check_convergence(idata_of(x, diverging))
    assert problems and problems[0].startswith("7 divergent draws (per chain: [0, 7];")


def test_one_warning_lists_every_problem():
    x = np.random.default_rng(4).standard_normal((4, 50, 1))
    x[:2] += 3.0
    with pytest.warns(ConvergenceWarning) as record:
        problems = warn_convergence(idata_of(x))
    assert len(record) == 1 and len(problems) >= 2
    assert all(p in str(record[0].message) for p in problems)


@pytest.mark.parametrize("shape, rho", [((4, 500, 3), 0.0), ((4, 501, 2), 0.9), ((1, 400, 2), 0.5),
                                        ((3, 200, 1), 0.99), ((2, 9, 2), 0.3), ((4, 300, 2), -0.6),
                                        ((2, 2000, 1), 0.999)])
def test_rhat_and_ess_equal_arviz(shape, rho):
    """The vectorised R-hat and ESS are ArviZ's, to rounding (AR(1) chains, some shifted)."""
    from samplers.convergence import ess, rhat

    az = arviz()
    rng = np.random.default_rng(7)
    x = np.zeros(shape)
    x[:, 0] = rng.standard_normal((shape[0], shape[2]))
    for t in range(1, shape[1]):
        x[:, t] = rho * x[:, t - 1] + np.sqrt(1 - rho ** 2) * rng.standard_normal((shape[0], shape[2]))
    x[0] += 0.5   # one chain shifted: R-hat well above 1
    x[..., -1] = np.round(x[..., -1], 1)   # ties in the ranks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in range(shape[2]):
            if shape[0] > 1:
                assert rhat(x)[p] == pytest.approx(float(az.rhat(x[..., p])), rel=1e-9)
            for method in ("bulk", "tail"):
                assert ess(x, method)[p] == pytest.approx(float(az.ess(x[..., p], method=method)),
                                                          rel=1e-9)
