"""samplers: MCMC beyond log-concavity.

Compiled Langevin kernels (ULA, MALA) behind one ``Sampler`` interface whose
results are ArviZ ``InferenceData``::

    import samplers
    target = samplers.GaussianMixture(means=[[-4, 0], [4, 0]], weights=[0.3, 0.7])
    idata = samplers.Langevin(metropolis=True).sample(target, draws=2000, rng=1)
"""
__version__ = "0.1.0"

from .inference_data import concat
from .langevin import Langevin
from .sampler import Sampler
from .targets import Gaussian, GaussianMixture, Target
from .tempering import ParallelTempering, SimulatedTempering, tempering_summary
# plots imports matplotlib only when a figure is made: importing it here keeps
# ``import samplers`` fast (tests/test_plots.py checks that matplotlib stays unloaded).
from . import ladders, matrix, mixing, plots

__all__ = ["Target", "Gaussian", "GaussianMixture", "Sampler", "Langevin", "SimulatedTempering",
           "ParallelTempering", "tempering_summary", "ladders", "matrix", "mixing", "plots", "concat",
           "__version__"]
