"""The examples write their figure where they are told, not into the current directory."""
import pytest

from reference import run_example


@pytest.mark.statistical  # about a minute: the example samples in earnest
def test_gaussian_mixture_example_writes_to_its_argument(tmp_path):
    run_example("gaussian_mixture.py", tmp_path)


@pytest.mark.statistical  # about half a minute: builds a PyMC model, runs NUTS and ours
def test_pymc_multimodal_example_finds_both_modes(tmp_path):
    """Parallel tempering's weight of the positive mode is the quadrature's to 0.05 (its
    four chains agree to about 0.015, an MCSE near 0.01), and NUTS (or MALA standing in)
    keeps every chain in one mode."""
    import os
    import re

    if not os.environ.get("SAMPLERS_REQUIRE_PYMC"):
        pytest.importorskip("pymc")
    out = run_example("pymc_multimodal.py", tmp_path).stdout
    exact = float(re.search(r"exact P\(theta > 0\) = ([\d.]+)", out).group(1))
    tempering = float(re.search(r"ParallelTempering: P\(theta > 0\) = ([\d.]+)", out).group(1))
    assert abs(tempering - exact) < 0.05, out
    single = re.search(r"(?:PyMC NUTS|MALA): P\(theta > 0\) = [\d.]+; per chain \[([^\]]+)\]", out)
    assert {float(v) for v in single.group(1).split(",")} <= {0.0, 1.0}, out
