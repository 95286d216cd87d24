"""The examples write their figure where they are told, not into the current directory."""
import pytest

from reference import run_example


@pytest.mark.statistical  # about a minute: the example samples in earnest
def test_gaussian_mixture_example_writes_to_its_argument(tmp_path):
    run_example("gaussian_mixture.py", tmp_path)
