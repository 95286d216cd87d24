"""The variational reference: a Gaussian refitted to the beta = 1 states after every round."""
import numpy as np
import pytest

import samplers
from samplers.inference_data import arviz
from samplers.kernels.reference import ReferenceArrays
from samplers.tempering.variational import FULL_COVARIANCE_PER_DIM, fit_gaussian

COV = np.array([[2.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 0.5]])


def test_fit_is_moment_matching_full_or_diagonal():
    rng = np.random.default_rng(0)
    n = FULL_COVARIANCE_PER_DIM * 3
    points = rng.multivariate_normal([1.0, 2.0, 3.0], COV, n)
    ref = fit_gaussian(points)
    assert isinstance(ref, ReferenceArrays) and ref.mean.shape == (1, 3)
    np.testing.assert_allclose(ref.mean[0], points.mean(axis=0))
    from samplers.tempering.variational import SHRINKAGE
    cov = np.cov(points, rowvar=False)
    np.testing.assert_allclose(ref.chol[0] @ ref.chol[0].T,
                               (1 - SHRINKAGE) * cov + SHRINKAGE * np.diag(np.diag(cov)))
    # Fewer states than FULL_COVARIANCE_PER_DIM per coordinate: the diagonal (mean field).
    few = fit_gaussian(points[:n - 1])
    np.testing.assert_allclose(few.chol[0] @ few.chol[0].T,
                               np.diag(points[:n - 1].var(axis=0, ddof=1)))
    # A coordinate that never moved gets the floor, not a singular q; nor do states on a line.
    points[:, 2] = 5.0
    still = fit_gaussian(points)
    assert np.all(np.isfinite(still.inv_chol)) and still.chol[0, 2, 2] > 0
    line = np.outer(rng.standard_normal(n), [1.0, 2.0, -1.0])
    assert np.all(np.isfinite(fit_gaussian(line).inv_chol))


@pytest.mark.statistical
@pytest.mark.parametrize("sampler", [samplers.ParallelTempering, samplers.SimulatedTempering])
def test_variational_reference_gives_the_moments_and_the_absolute_evidence(sampler):
    """A correlated 3-D Gaussian (unnormalised: log Z = log |2 pi COV| / 2): the reference is
    fitted during warm-up from a broad start; log Z(1) within 4 reported se of the exact
    value and the means within 5 MCSE (ArviZ), over 3 seeds."""
    target = samplers.Gaussian(np.array([3.0, -2.0, 1.0]), COV)
    for seed in range(3):
        idata = sampler(reference="variational").sample(target, draws=3000, rng=seed,
                                                        progressbar=False)
        t = idata.tempering
        assert t.beta.values[0] == 0.0
        error = float(t.log_evidence) - float(target.log_z(1.0))
        assert abs(error) < 4 * float(t.log_evidence_se), (seed, error, float(t.log_evidence_se))
        mcse = arviz().mcse(idata, var_names=["x"]).x.values
        mean = idata.posterior.x.values.reshape(-1, 3).mean(axis=0)
        assert np.all(np.abs(mean - target.mean) < 5 * mcse)


def test_variational_reference_refits_during_warm_up_and_refuses_paper_weights():
    """A target far from the starts and 10-20x narrower than the first, broad q: the q the
    run ends on (saved with its state) is the target's own Gaussian, moment-matched."""
    from samplers.engine.state import saved_reference
    mean, sd = np.array([30.0, -20.0]), np.array([0.1, 0.2])
    target = samplers.Gaussian(mean, sd ** 2)
    plan = samplers.ParallelTempering(reference="variational").plan(target)
    assert plan.betas[0] == 0.0 and len(plan.rounds) > 1
    idata = samplers.ParallelTempering(reference="variational").sample(
        target, draws=200, rng=0, progressbar=False, check_convergence=False)
    saved = {name: idata.sampler_state[name].values for name in idata.sampler_state.data_vars}
    q = saved_reference(saved, 2)
    np.testing.assert_allclose(q.mean[0], mean, atol=0.05)
    # rtol 0.3: the last fit sees a few hundred correlated states (sd error ~ 1 / sqrt(2 ESS)).
    np.testing.assert_allclose(np.sqrt(np.diag(q.chol[0] @ q.chol[0].T)), sd, rtol=0.3)
    with pytest.raises(ValueError, match="'paper'"):
        samplers.SimulatedTempering(log_weights="paper", reference="variational")
