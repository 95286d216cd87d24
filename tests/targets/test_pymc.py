"""``Target.from_pymc``: a PyMC model's posterior through PyTensor's numba backend.

Skipped where PyMC is not installed, except under CI (``SAMPLERS_REQUIRE_PYMC=1``,
set by ``.ci/run``), where a missing PyMC fails the module: the extra's tests
must run there, not skip.
"""
import os
import pickle
import sys

import numba
import numpy as np
import pytest

import samplers
from samplers.inference_data import flat_draws
from reference import mcse_mean

if os.environ.get("SAMPLERS_REQUIRE_PYMC"):
    import pymc as pm
else:
    pm = pytest.importorskip("pymc")

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
SCHOOLS = list("ABCDEFGH")
#: posteriordb's reference posterior of eight_schools_noncentered (Stan, 10 chains x
#: 1000 draws, thinned to be nearly independent): (mean, sd).
REFERENCE = {"mu": (4.41, 3.31), "tau": (3.60, 3.20), "theta": (6.15, 5.62)}
REFERENCE_DRAWS = 10_000
#: PyMC's functions to compare with run on PyTensor's Python backend: no C compiler.
FAST = "FAST_COMPILE"


def eight_schools():
    """Eight schools, non-centred, HalfCauchy(5) on tau, the observations as ``pm.Data``."""
    with pm.Model(coords={"school": SCHOOLS}) as model:
        y = pm.Data("y", Y, dims="school")
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_t = pm.Normal("theta_t", 0.0, 1.0, dims="school")
        theta = pm.Deterministic("theta", mu + tau * theta_t, dims="school")
        pm.Normal("obs", theta, SIGMA, observed=y, dims="school")
    return model


def transforms_model():
    """Independent priors, one per kind of transform, with exact means (no data: the
    posterior is the prior)."""
    with pm.Model(coords={"k": ["a", "b", "c"]}) as model:
        pm.HalfNormal("sigma", 1.0)                          # log
        pm.Triangular("u", lower=0.0, c=0.5, upper=2.0)      # interval
        pm.Beta("b", 2.0, 3.0)                               # logodds
        pm.Dirichlet("w", np.array([1.0, 2.0, 3.0]), dims="k")  # simplex
        pm.Normal("o", 0.0, 1.0, shape=2, transform=pm.distributions.transforms.ordered,
                  initval=np.array([-0.5, 0.5]))             # ordered
    return model


#: Exact prior means of ``transforms_model``: HalfNormal(1) sqrt(2/pi); Triangular(0, 0.5,
#: 2) (a + c + b) / 3;
#: Beta(2, 3) 2/5; Dirichlet(1, 2, 3) alpha/6; the order statistics of two standard
#: normals -+1/sqrt(pi).
EXACT_MEANS = {"sigma": [np.sqrt(2.0 / np.pi)], "u": [2.5 / 3.0], "b": [0.4],
               "w": [1 / 6, 2 / 6, 3 / 6], "o": [-1.0 / np.sqrt(np.pi), 1.0 / np.sqrt(np.pi)]}
#: And their exact second moments E[v^2]: 1; var + mean^2 with var = (a^2 + b^2 + c^2 - ab
#: - ac - bc) / 18; var + mean^2 = 1/25 + 4/25;
#: alpha_i (alpha_i + 1) / (6 * 7); 1 for each order statistic (they are x1, x2 in some
#: order, and x -> -x swaps their squares).
EXACT_SQUARES = {"sigma": [1.0], "u": [3.25 / 18 + (2.5 / 3.0) ** 2], "b": [0.2], "w": [2 / 42, 6 / 42, 12 / 42],
                 "o": [1.0, 1.0]}
TRANSFORMS = {"sigma": "log", "u": "interval", "b": "logodds", "w": "simplex", "o": "ordered"}


@pytest.fixture(scope="module")
def schools():
    return samplers.Target.from_pymc(eight_schools())


@pytest.fixture(scope="module")
def priors():
    return samplers.Target.from_pymc(transforms_model())


def as_point(target, x):
    """The PyMC point (value variable name -> array) of a flat ``x``."""
    point, start = {}, 0
    for name, shape in target.value_vars:
        size = int(np.prod(shape))
        point[name] = x[start:start + size].reshape(shape)
        start += size
    return point


@pytest.mark.parametrize("which", ["schools", "priors"])
def test_logp_and_gradient_equal_pymcs_own(which, request):
    """log p and its gradient equal PyMC's own ``model.compile_logp()`` and
    ``compile_dlogp()`` (evaluated by PyTensor's Python backend, not numba) at random
    points, to rounding."""
    target = request.getfixturevalue(which)
    model = eight_schools() if which == "schools" else transforms_model()
    logp, dlogp = model.compile_logp(mode=FAST), model.compile_dlogp(mode=FAST)
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = target.initial_point + rng.uniform(-1.5, 1.5, target.dim)
        value, grad = target.logp_and_grad(x)
        expected = logp(as_point(target, x))
        assert abs(value - expected) <= 1e-12 * max(1.0, abs(expected))
        np.testing.assert_allclose(grad, dlogp(as_point(target, x)), rtol=1e-12, atol=1e-12)


def test_layout_of_x_and_of_the_draws(schools):
    """``x`` is the value variables in order (tau on the log scale); the posterior is the
    free variables (constrained) and deterministics with the model's dims and coords, and
    the observations are in ``observed_data``, as ``pm.sample`` gives them."""
    assert schools.value_vars == [("mu", ()), ("tau_log__", ()), ("theta_t", (8,))]
    assert schools.dim == 10
    idata = samplers.Langevin().sample(schools, draws=50, tune=100, chains=2, rng=3,
                                       progressbar=False, check_convergence=False)
    post = idata.posterior
    assert list(post.data_vars) == ["mu", "tau", "theta_t", "theta"]
    assert post["theta"].dims == ("chain", "draw", "school")
    assert list(post["school"].values) == SCHOOLS
    assert post["mu"].dims == ("chain", "draw")
    flat = idata.sampler_state["x"].values[:, -1]   # the last state: the last draw
    last = post.isel(draw=-1)
    np.testing.assert_allclose(last["tau"].values, np.exp(flat[:, 1]), rtol=1e-14)
    np.testing.assert_allclose(last["theta"].values, last["mu"].values[:, None]
                               + last["tau"].values[:, None] * flat[:, 2:], rtol=1e-13)
    np.testing.assert_array_equal(idata.observed_data["obs"].values, Y)
    assert idata.observed_data["obs"].dims == ("school",)
    # The flat unconstrained draws are kept (plots and mixing tools read them back).
    x = flat_draws(idata, schools)
    assert x.shape == (2, 50, 10)
    np.testing.assert_array_equal(x[:, -1], flat)
    assert idata.unconstrained_posterior["x"].dims == ("chain", "draw", "x_dim_0")


def test_new_data_of_the_same_shape_reuses_the_compiled_code(schools):
    """``pm.set_data`` and a rebuild: the data are params, so the compiled wrapper (and
    with it the C adapter) is reused, and log p is the one of the new data."""
    model = eight_schools()
    with model:
        pm.set_data({"y": Y[::-1].copy()})
    target = samplers.Target.from_pymc(model)
    assert target.logp_grad is schools.logp_grad
    assert target.build_times["adapter"] < 0.1
    x = target.initial_point + 0.25
    assert target.logp_and_grad(x)[0] == pytest.approx(
        model.compile_logp(mode=FAST)(as_point(target, x)), rel=1e-12)
    assert target.logp_and_grad(x)[0] != schools.logp_and_grad(x)[0]
    assert target.fingerprint() != schools.fingerprint()


def test_same_draws_on_one_and_two_threads(schools):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two numba threads")
    runs = []
    for threads in (1, 2):
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            runs.append(samplers.Langevin().sample(
                schools, draws=100, tune=100, chains=4, rng=5, progressbar=False,
                check_convergence=False).posterior["theta"].values)
        finally:
            numba.set_num_threads(previous)
    np.testing.assert_array_equal(runs[0], runs[1])


def _mean_and_sd_within(values, reference_mean, reference_sd, sigmas=4.0):
    """Mean and sd of ``values`` (chain, draw) against an independent reference sample of
    ``REFERENCE_DRAWS`` draws, within ``sigmas`` combined Monte Carlo standard errors:
    ours from ArviZ's ESS (of the draws, and of the squared deviations for the sd, by the
    delta method sd = sqrt(var)), the reference's as for independent draws with our
    draws' kurtosis."""
    mean, sd = float(values.mean()), float(values.std())
    squares = (values - mean) ** 2
    se_mean = np.hypot(mcse_mean(values), reference_sd / np.sqrt(REFERENCE_DRAWS))
    se_sd = np.hypot(mcse_mean(squares) / (2 * sd),
                     float(squares.std()) / np.sqrt(REFERENCE_DRAWS) / (2 * sd))
    assert abs(mean - reference_mean) < sigmas * se_mean, (mean, reference_mean, se_mean)
    assert abs(sd - reference_sd) < sigmas * se_sd, (sd, reference_sd, se_sd)


@pytest.mark.statistical
@pytest.mark.parametrize("sampler, kwargs", [
    (samplers.Langevin(), dict(draws=10_000, thin=5, tune=2000)),
    (samplers.ParallelTempering(), dict(draws=4000, thin=2)),
], ids=["MALA", "ParallelTempering"])
def test_eight_schools_matches_posteriordb(schools, sampler, kwargs):
    """mu, tau and theta[A] against posteriordb's Stan reference, within 4 combined MCSE
    (fixed seed; 4 chains, about 1 s of sampling each)."""
    idata = sampler.sample(schools, chains=4, rng=11, progressbar=False, **kwargs)
    post = idata.posterior
    _mean_and_sd_within(post["mu"].values, *REFERENCE["mu"])
    _mean_and_sd_within(post["tau"].values, *REFERENCE["tau"])
    _mean_and_sd_within(post["theta"].sel(school="A").values, *REFERENCE["theta"])


@pytest.fixture(scope="module")
def prior_draws(priors):
    return samplers.Langevin().sample(priors, draws=4000, chains=4, rng=7, progressbar=False)


@pytest.mark.statistical
@pytest.mark.parametrize("name", list(TRANSFORMS), ids=list(TRANSFORMS.values()))
def test_each_transform_has_its_jacobian(prior_draws, name):
    """Each variable's draws stay in its support and their first two moments match the
    exact prior's within 4 MCSE.  Power: with the log Jacobians left out
    (``model.logp(jacobian=False)``) every variable fails, by 5 to 375 MCSE."""
    draws = prior_draws.posterior[name].values.reshape(4, 4000, -1)
    support = {"sigma": draws > 0, "u": (draws > 0) & (draws < 2), "b": (draws > 0) & (draws < 1),
               "w": (draws > 0) & np.isclose(draws.sum(-1, keepdims=True), 1.0),
               "o": np.diff(draws, axis=-1) > 0}[name]
    assert support.all()
    for i, (mean, square) in enumerate(zip(EXACT_MEANS[name], EXACT_SQUARES[name])):
        v = draws[..., i]
        assert abs(v.mean() - mean) < 4 * mcse_mean(v), (name, i, v.mean(), mean)
        assert abs((v ** 2).mean() - square) < 4 * mcse_mean(v ** 2), (name, i)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", [samplers.SimulatedTempering(), samplers.ParallelTempering()],
                         ids=["SimulatedTempering", "ParallelTempering"])
def test_tempering_samplers_run_on_a_model(priors, sampler):
    idata = sampler.sample(priors, draws=200, chains=2, rng=1, progressbar=False,
                           check_convergence=False)
    assert idata.posterior["w"].shape == (2, 200, 3)
    assert np.all(np.diff(idata.posterior["o"].values, axis=-1) > 0)
    assert "tempering" in idata.groups()


def test_discrete_free_variables_are_refused():
    with pm.Model() as model:
        pm.Poisson("k", 3.0)
        pm.Normal("x", 0.0, 1.0)
    with pytest.raises(ValueError, match=r"discrete free variables \['k'\]"):
        samplers.Target.from_pymc(model)


def test_a_model_without_free_variables_is_refused():
    with pm.Model() as model:
        pm.Normal("y", 0.0, 1.0, observed=np.zeros(3))
    with pytest.raises(ValueError, match="no free variables"):
        samplers.Target.from_pymc(model)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="model must be a pymc.Model"):
        samplers.Target.from_pymc("model")
    with pytest.raises(ValueError, match="jitter"):
        samplers.Target.from_pymc(eight_schools(), jitter=-1.0)


def test_without_pymc_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymc", None)   # import pymc now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "samplers\[pymc\]"'):
        samplers.Target.from_pymc(object())


def test_a_model_target_is_not_pickled_silently(schools):
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(schools)


def test_default_initial_points_are_jittered_around_the_model_initial_point(schools):
    rng = np.random.default_rng(0)
    points = np.array([schools.default_initial(rng) for _ in range(200)])
    offsets = points - schools.initial_point
    assert np.all(np.abs(offsets) <= 1.0) and offsets.std() > 0.5


BUILD = """
import sys
sys.path[:0] = [{root!r}, {tests!r}, {tests!r} + "/targets"]
import numpy as np
import samplers
from test_pymc import eight_schools
target = samplers.Target.from_pymc(eight_schools())
adapter = target._handles[False][0]
print(target.logp_grad.stats.cache_hits.total(), adapter.cache_hits,
      repr(target.logp_and_grad(target.initial_point + 0.5)[0]))
"""


@pytest.mark.slow
def test_a_later_process_loads_the_wrapper_and_adapter_from_disk(schools, tmp_path):
    """The njit wrapper and its C adapter are cached on disk under PyTensor's key: a later
    process loads both (no compilation: a warm build well under a second) and computes
    the same log p (the cached code holds no address of the process that wrote it)."""
    import subprocess
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    code = BUILD.format(root=str(tests.parent), tests=str(tests))
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    wrapper_hits, adapter_hits, value = runs[1]
    assert int(wrapper_hits) >= 1 and int(adapter_hits) == 1, runs
    assert float(value) == schools.logp_and_grad(schools.initial_point + 0.5)[0]
