"""Targets: log densities with compiled gradients, and exact Gaussian references."""
from .gaussian import Gaussian
from .mixture import GaussianMixture
from .target import Target

__all__ = ["Target", "Gaussian", "GaussianMixture"]
