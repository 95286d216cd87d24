"""Correct by default: the Langevin defaults, divergence detection, the support, initial points,
and the arguments a new user gets wrong."""
import warnings

import numba
import numpy as np
import pytest

import samplers

from reference import precision_logp_grad
from samplers.convergence import ConvergenceWarning
from samplers.langevin import ULA_STEP_SCALE


@numba.njit
def half_normal(x, params, grad_out):
    """log p = -|x|^2/2 on x_0 > 0, -inf outside: a support constraint."""
    if x[0] <= 0.0:
        for i in range(x.shape[0]):
            grad_out[i] = 0.0
        return -np.inf
    for i in range(x.shape[0]):
        grad_out[i] = -x[i]
    return -0.5 * (x @ x)


@numba.njit
def far_support(x, params, grad_out):
    """Support x_0 > 100: no default initial point (uniform on [-2, 2]) is inside."""
    for i in range(x.shape[0]):
        grad_out[i] = -(x[i] - 101.0)
    if x[0] <= 100.0:
        return -np.inf
    return -0.5 * ((x - 101.0) @ (x - 101.0))


def quiet(sampler, target, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return sampler.sample(target, progressbar=False, **kwargs)


def test_the_default_langevin_is_mala():
    assert samplers.Langevin().metropolis and samplers.Langevin().name == "MALA"


def test_ula_default_step_is_step_scale_over_the_largest_curvature():
    precision = np.array([[2.0, 0.5], [0.5, 1.0]])
    target = samplers.Target(precision_logp_grad, 2, params=(precision,))
    idata = quiet(samplers.Langevin(metropolis=False), target, draws=10, chains=2, rng=0)
    h = idata.sample_stats["step_size"].values
    # Finite differences of a linear gradient are exact to rounding.
    np.testing.assert_allclose(h, ULA_STEP_SCALE / np.linalg.eigvalsh(precision)[-1], rtol=1e-6)


# ULA on N(0, I) with the default step h = 0.05 has the stationary variance
# 1 / (1 - h/2) = 1.0256 exactly (Roberts and Tweedie 1996).  With 8 chains x
# 40,000 draws and an autocorrelation time of about 1 / h = 20 steps for x^2,
# the sample variance has a Monte Carlo sd of about sqrt(2 * 20 / 320,000) ~
# 0.011 per coordinate: 4 sd is 0.045, against the 2.6% bias it must show and
# the 140% bias (variance 2.4) of the former default rule at d = 10.
@pytest.mark.statistical
@pytest.mark.parametrize("dim", [1, 2, 50])
def test_ula_default_variance_is_the_exact_discrete_time_one(dim):
    target = samplers.Gaussian(np.zeros(dim), 1.0)
    idata = quiet(samplers.Langevin(metropolis=False), target, draws=40_000, chains=8, rng=dim)
    h = float(idata.sample_stats["step_size"].values[0, 0])
    assert h == pytest.approx(ULA_STEP_SCALE, rel=1e-6)
    x = idata.posterior["x"].values.reshape(-1, dim)
    variance = x.var(axis=0).mean()   # averaged over coordinates: sd 0.011 / sqrt(dim)
    assert abs(variance - 1.0 / (1.0 - h / 2.0)) < 4 * 0.011 / np.sqrt(dim) + 1e-3
    assert not idata.sample_stats["diverging"].values.any()


def test_an_absurd_ula_step_is_a_divergence_caught_at_once():
    target = samplers.Gaussian(np.zeros(2), 1.0)
    with pytest.warns(ConvergenceWarning, match="ULA chains diverged") as caught:
        idata = samplers.Langevin(1e6, metropolis=False).sample(target, draws=50, tune=0, chains=3,
                                                                rng=0, progressbar=False)
    # Frozen chains at three different points: R-hat is infinite (said so, without a
    # division-by-zero warning from NumPy on the way).
    assert any("R-hat up to inf" in str(w.message) for w in caught)
    assert not any("divide by zero" in str(w.message) for w in caught)
    x = idata.posterior["x"].values
    assert np.all(np.abs(x) <= 2.0)          # frozen at the initial points (uniform on [-2, 2])
    assert idata.sample_stats["diverging"].values.all()
    assert idata.sampler_state["frozen"].values.all()


def test_ula_blow_up_is_flagged_long_before_overflow():
    """h = 2.5 on N(0, 1): x grows by |1 - h| = 1.5 a step; the log ratio passes -1000
    while |x| is in the tens, where the old rule waited for 1e308."""
    target = samplers.Gaussian(np.zeros(1), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        idata = samplers.Langevin(2.5, metropolis=False).sample(target, draws=200, tune=0, chains=4,
                                                                rng=1, progressbar=False)
    assert idata.sample_stats["diverging"].values[:, -1].all()
    assert np.abs(idata.posterior["x"].values).max() < 1e3


def test_outside_support_is_a_rejection_not_a_divergence():
    target = samplers.Target(half_normal, 2)
    for sampler in (samplers.Langevin(0.5), samplers.Langevin(0.05, metropolis=False)):
        idata = quiet(sampler, target, draws=2000, tune=0, chains=2, rng=3,
                      initial=[[0.5, 0.0], [1.0, 1.0]])
        stats = idata.sample_stats
        assert stats["outside_support"].values.any()
        assert not stats["diverging"].values.any()
        assert np.all(idata.posterior["x"].values[..., 0] > 0)
        assert not idata.sampler_state["frozen"].values.any()


def test_default_initial_points_outside_the_support_are_drawn_again():
    # About half the default points (uniform on [-2, 2]) have x_0 <= 0.
    idata = quiet(samplers.Langevin(), samplers.Target(half_normal, 2), draws=20, tune=50,
                  chains=8, rng=4)
    assert np.all(idata.posterior["x"].values[..., 0] > 0)


def test_no_default_initial_point_inside_the_support_is_an_error():
    with pytest.raises(ValueError, match="initial: log p or its gradient was not finite at 100"):
        samplers.Langevin().sample(samplers.Target(far_support, 1), draws=5, progressbar=False)


def test_resume_refuses_another_target_of_the_same_dimension():
    sampler = samplers.Langevin(0.1)
    first = samplers.Gaussian(np.zeros(2), 1.0)
    idata = quiet(sampler, first, draws=5, tune=0, chains=2, rng=0)
    with pytest.raises(ValueError, match="target is not the target of this run"):
        sampler.resume(idata, samplers.Gaussian(np.ones(2), 1.0), 5)
    assert sampler.resume(idata, samplers.Gaussian(np.zeros(2), 1.0), 5,
                          check_convergence=False).posterior["x"].shape == (2, 5, 2)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(save_warmup="no"), TypeError, "save_warmup must be a bool"),
    (dict(progressbar="no"), TypeError, "progressbar must be a bool"),
    (dict(check_convergence=1), TypeError, "check_convergence must be a bool"),
    (dict(initial=[1.0 + 1j, 0.0]), TypeError, "initial must be real"),
])
def test_bad_arguments_name_themselves(kwargs, error, match):
    with pytest.raises(error, match=match):
        samplers.Langevin(0.1).sample(samplers.Gaussian(np.zeros(2), 1.0), draws=5, **kwargs)


def test_a_user_target_with_a_wrong_gradient_is_refused_before_the_run():
    @numba.njit
    def wrong(x, params, grad_out):
        for i in range(x.shape[0]):
            grad_out[i] = -2.0 * x[i]
        return -0.5 * (x @ x)

    with pytest.raises(ValueError, match="logp_grad: the gradient disagrees"):
        samplers.Langevin().sample(samplers.Target(wrong, 2), draws=5, progressbar=False)


def test_one_convergence_warning_after_a_run_that_did_not_mix():
    mixture = samplers.GaussianMixture([[-8.0], [8.0]], covs=[1.0, 1.0])
    with pytest.warns(ConvergenceWarning) as record:
        samplers.Langevin().sample(mixture, draws=500, chains=4, rng=1, progressbar=False,
                                   initial=[[-8.0], [8.0], [-8.0], [8.0]])
    assert len(record) == 1 and "R-hat" in str(record[0].message)


@numba.njit
def banana(x, params, grad_out):
    u = x[1] - 0.5 * x[0] ** 2
    grad_out[0] = -x[0] / 4.0 + u * x[0]
    grad_out[1] = -u
    return -x[0] ** 2 / 8.0 - 0.5 * u * u


@numba.njit
def funnel(x, params, grad_out):
    """Neal's funnel: v ~ N(0, 3^2), x_i | v ~ N(0, e^v)."""
    v = x[0]
    s = 0.0
    for i in range(1, x.shape[0]):
        s += x[i] * x[i]
    grad_out[0] = -v / 9.0 - 0.5 * (x.shape[0] - 1) + 0.5 * s * np.exp(-v)
    for i in range(1, x.shape[0]):
        grad_out[i] = -x[i] * np.exp(-v)
    return -v * v / 18.0 - 0.5 * (x.shape[0] - 1) * v - 0.5 * s * np.exp(-v)


@pytest.mark.parametrize("target, seed", [(samplers.Target(banana, 2), 0), (samplers.Target(banana, 2), 1),
                                          (samplers.Target(funnel, 10), 0)],
                         ids=["banana-0", "banana-1", "funnel"])
def test_hard_geometries_are_flagged(target, seed):
    """MALA's single step size cannot sample these (README, "Convergence checks"): it must say so."""
    with pytest.warns(ConvergenceWarning) as record:
        samplers.Langevin().sample(target, draws=1000, chains=4, rng=seed, progressbar=False)
    message = str(record[0].message)
    assert "R-hat" in message and "effective sample size" in message


def test_fixed_log_weights_with_a_nan_name_the_entry():
    with pytest.raises(ValueError, match=r"log_weights must be finite, got log_weights\[1\] = nan"):
        samplers.SimulatedTempering(betas=[0.5, 1.0], log_weights=[0.0, np.nan])
    with pytest.raises(TypeError, match="log_weights must be real"):
        samplers.SimulatedTempering(betas=[0.5, 1.0], log_weights=[0.0, 1j])


def test_the_progress_bar_says_when_it_compiles_and_restarts_its_clock(monkeypatch):
    """A run whose loop this process has not loaded shows the compiling note, then a bar
    reset to the run's own start (a sane rate and ETA)."""
    import io

    from samplers.engine import compile as compile_module, rounds

    seen = []
    original = rounds.compile_for

    def spy(kernel, target, args, batched=False):
        seen.append(args)   # (the bar's postfix is set before this call)
        return original(kernel, target, args, batched)

    monkeypatch.setattr(rounds, "compile_for", spy)
    monkeypatch.setattr(compile_module, "_COMPILED", {})   # as in a fresh process
    from tqdm import tqdm

    stream = io.StringIO()
    monkeypatch.setattr("tqdm.auto.tqdm", lambda *a, **k: tqdm(*a, file=stream, mininterval=0, **k))
    samplers.Langevin(0.1).sample(samplers.Gaussian(np.zeros(2), 1.0), draws=20, tune=10, chains=2,
                                  rng=0, check_convergence=False)
    text = stream.getvalue()
    assert seen and rounds.COMPILING in text
    final = text.replace("\r", "\n").strip().splitlines()[-1]
    assert "30/30" in final and "compiling" not in final


@pytest.mark.parametrize("cls", [samplers.SimulatedTempering, samplers.ParallelTempering])
def test_tempering_with_ula_explorers_needs_a_step_size(cls):
    with pytest.raises(ValueError, match="metropolis=False .* needs a step_size"):
        cls(metropolis=False)
    assert not cls(metropolis=False, step_size=0.01).metropolis
