import numpy as np

import samplers


def test_mala_runs_on_a_mixture():
    target = samplers.GaussianMixture([[-4.0, 0.0], [4.0, 0.0]], weights=[0.3, 0.7])
    idata = samplers.Langevin(metropolis=True).sample(target, 200, tune=200, chains=2, rng=1,
                                                      progressbar=False)
    assert idata.posterior["x"].shape == (2, 200, 2)
    assert np.all(np.isfinite(idata.posterior["x"].values))
