import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import samplers  # noqa: E402


@pytest.fixture(scope="session")
def mixture2d():
    """A 2-D mixture with unequal weights and full, unequal covariances."""
    return samplers.GaussianMixture(
        means=[[-3.0, 0.0], [3.0, 1.0], [0.0, 4.0]],
        covs=[[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.2]], [[0.8, 0.1], [0.1, 0.8]]],
        weights=[0.2, 0.5, 0.3],
    )
