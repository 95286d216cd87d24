"""Langevin (ULA, MALA): exact bookkeeping, reproducibility, continuation, output, errors."""
import os
import subprocess
import sys
import textwrap
import warnings

import numba
import numpy as np
import pytest
import reference

import samplers
from samplers.engine import loop, rounds
from samplers.inference_data import arviz


def run(sampler, target, **kwargs):
    kwargs.setdefault("progressbar", False)
    return sampler.sample(target, **kwargs)


@numba.njit(cache=True)
def funnel_edge(x, params, grad_out):
    """log p = -x^2/2 for |x| < 3, non-finite beyond: a target that can diverge."""
    if abs(x[0]) > params[0][0]:
        grad_out[0] = np.nan
        return np.nan
    grad_out[0] = -x[0]
    return -0.5 * x[0] * x[0]


@pytest.mark.parametrize("metropolis", [False, True])
def test_compiled_chain_matches_reference(mixture2d, metropolis):
    idata = run(samplers.Langevin(step_size=0.2, metropolis=metropolis), mixture2d,
                draws=40, tune=0, chains=2, rng=5, initial=[[0.5, 0.5], [-2.0, 1.0]])
    keys = idata.sampler_state["keys"].values
    for c, x0 in enumerate([[0.5, 0.5], [-2.0, 1.0]]):
        expected = reference.langevin_chain(mixture2d.logp_and_grad, x0, keys[c], 0.2, 40, metropolis)
        np.testing.assert_allclose(idata.posterior["x"].values[c], expected, rtol=1e-9, atol=1e-12)


def test_output_structure(mixture2d):
    idata = run(samplers.Langevin(metropolis=True), mixture2d, draws=30, tune=40, chains=3,
                rng=1, thin=2, save_warmup=True)
    assert idata.posterior["x"].dims == ("chain", "draw", "x_dim_0")
    assert idata.posterior["x"].shape == (3, 30, 2)
    assert idata.warmup_posterior["x"].shape == (3, 20, 2)
    assert set(idata.sample_stats.data_vars) == {"lp", "diverging", "outside_support", "acceptance_rate", "step_size"}
    assert idata.sample_stats["diverging"].dtype == bool
    # lp is the log density at the recorded draw.
    x = idata.posterior["x"].values[1, 7]
    assert idata.sample_stats["lp"].values[1, 7] == pytest.approx(mixture2d.logpdf(x), rel=1e-12)
    # Tuning ends on one step size per chain, kept for every draw.
    steps = idata.sample_stats["step_size"].values
    assert np.all(steps == steps[:, :1]) and np.all(steps > 0)
    attrs = idata.posterior.attrs
    assert attrs["sampler"] == "MALA" and attrs["seed"] == "1"
    assert attrs["samplers_version"] == samplers.__version__
    assert attrs["sampling_time"] > 0 and attrs["tuning_steps"] == 40
    ula = run(samplers.Langevin(step_size=0.1, metropolis=False), mixture2d, draws=5, tune=0, chains=1, rng=1)
    assert set(ula.sample_stats.data_vars) == {"lp", "diverging", "outside_support", "step_size"}
    assert ula.posterior.attrs["sampler"] == "ULA"


def test_netcdf_round_trip_and_arviz(mixture2d, tmp_path):
    az = arviz()
    idata = run(samplers.Langevin(metropolis=True), mixture2d, draws=50, tune=50, chains=2, rng=3)
    path = tmp_path / "run.nc"
    idata.to_netcdf(str(path))
    loaded = az.from_netcdf(str(path))
    np.testing.assert_array_equal(loaded.posterior["x"].values, idata.posterior["x"].values)
    np.testing.assert_array_equal(loaded.sampler_state["keys"].values, idata.sampler_state["keys"].values)
    summary = az.summary(loaded)
    assert list(summary.index) == ["x[0]", "x[1]"]
    import matplotlib

    matplotlib.use("Agg")
    axes = az.plot_trace(loaded)
    assert axes.shape == (1, 2)
    # A loaded run can be continued.
    more = samplers.Langevin(metropolis=True).resume(loaded, mixture2d, draws=5, progressbar=False)
    assert more.posterior["x"].shape == (2, 5, 2)


@pytest.mark.parametrize("metropolis", [False, True])
def test_continuation_is_bit_identical(mixture2d, metropolis):
    sampler = samplers.Langevin(metropolis=metropolis, step_size=None if metropolis else 0.1)
    whole = run(sampler, mixture2d, draws=60, tune=50, chains=2, rng=11, thin=2)
    first = run(sampler, mixture2d, draws=25, tune=50, chains=2, rng=11, thin=2)
    rest = sampler.resume(first, mixture2d, draws=35, thin=2, progressbar=False)
    joined = samplers.concat(first, rest)
    np.testing.assert_array_equal(joined.sampler_state["offset"].values + joined.sampler_state["steps"].values,
                                  whole.sampler_state["offset"].values + whole.sampler_state["steps"].values)
    np.testing.assert_array_equal(joined.posterior["x"].values, whole.posterior["x"].values)
    np.testing.assert_array_equal(joined.sample_stats["lp"].values, whole.sample_stats["lp"].values)


def test_chunking_and_progressbar_do_not_change_draws(mixture2d, monkeypatch):
    sampler = samplers.Langevin(metropolis=True)
    a = run(sampler, mixture2d, draws=300, tune=200, chains=2, rng=4)
    monkeypatch.setattr(rounds, "CHUNK_SECONDS", 1e-6)  # chunks of a step or two
    b = run(sampler, mixture2d, draws=300, tune=200, chains=2, rng=4, progressbar=True)
    np.testing.assert_array_equal(a.posterior["x"].values, b.posterior["x"].values)
    np.testing.assert_array_equal(a.sample_stats["step_size"].values, b.sample_stats["step_size"].values)
    c = run(sampler, mixture2d, draws=300, tune=200, chains=2, rng=np.random.default_rng(4))
    assert not np.array_equal(a.posterior["x"].values, c.posterior["x"].values)


def test_chains_do_not_depend_on_the_number_of_chains(mixture2d):
    sampler = samplers.Langevin(metropolis=True)
    two = run(sampler, mixture2d, draws=50, tune=50, chains=2, rng=8)
    three = run(sampler, mixture2d, draws=50, tune=50, chains=3, rng=8)
    np.testing.assert_array_equal(two.posterior["x"].values, three.posterior["x"].values[:2])


@pytest.mark.slow
def test_bit_identical_across_thread_counts():
    script = textwrap.dedent("""
        import hashlib, numpy as np, samplers
        t = samplers.GaussianMixture([[-3.0, 0.0], [3.0, 1.0]], covs=[0.5, 1.5], weights=[0.4, 0.6])
        h = hashlib.sha256()
        for sampler in (samplers.Langevin(metropolis=True), samplers.SimulatedTempering(),
                        samplers.ParallelTempering()):
            idata = sampler.sample(t, 200, tune=100, chains=4, rng=21, progressbar=False)
            h.update(idata.posterior["x"].values.tobytes())
        # Matrix targets: completion (chains in threads) and sensing (all chains in
        # one BLAS product per step, whose thread count changes with the run).
        from samplers.matrix import MatrixLangevin, synthetic_problem
        for kind, size in (("completion", dict(n_observed=30)), ("sensing", dict(m=60))):
            problem, _ = synthetic_problem(kind, 8, 2, noise_std=0.01, rng=3, **size)
            idata = MatrixLangevin(symmetry_moves=True).sample(problem, 100, tune=20, chains=4,
                                                               rng=4, progressbar=False)
            h.update(idata.posterior["X"].values.tobytes())
        print(h.hexdigest())
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digests = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                   PYTHONPATH=root)
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True)
        digests.append(out.stdout.strip().splitlines()[-1])
    assert digests[0] == digests[1]


def test_compiled_once_per_params_type(mixture2d):
    other = samplers.GaussianMixture([[0.0, 0.0], [1.0, 2.0], [3.0, 3.0]],
                                     covs=np.array([np.eye(2)] * 3) * [[[1.0]], [[2.0]], [[1.5]]] +
                                     np.array([[[0.0, 0.1], [0.1, 0.0]]] * 3))
    sampler = samplers.Langevin(metropolis=True)
    run(sampler, mixture2d, draws=5, tune=5, chains=1, rng=0)
    n = len(loop.run_chunk.signatures)
    run(sampler, other, draws=5, tune=5, chains=1, rng=0)
    run(samplers.Langevin(step_size=0.1, metropolis=False), other, draws=5, tune=0, chains=2, rng=0)
    assert len(loop.run_chunk.signatures) == n


@numba.njit
def _scaled_normal(x, params, grad_out):
    """log p = -sum(k x^2)/2 with an int32 k: a params type no other test uses."""
    (k,) = params
    lp = 0.0
    for i in range(x.shape[0]):
        grad_out[i] = -k[i] * x[i]
        lp -= 0.5 * k[i] * x[i] * x[i]
    return lp


def test_loop_compiled_once_for_every_params_type(mixture2d):
    # The fixed C interface (targets.interface): a target whose params type the
    # loop has never seen must not add a signature to it.
    sampler = samplers.Langevin(metropolis=True)
    run(sampler, mixture2d, draws=5, tune=5, chains=1, rng=0)
    n = len(loop.run_chunk.signatures)
    target = samplers.Target(_scaled_normal, 3, params=(np.array([1, 2, 4], dtype=np.int32),))
    idata = run(sampler, target, draws=5, tune=5, chains=1, rng=0)
    assert len(loop.run_chunk.signatures) == n
    assert np.all(np.isfinite(idata.posterior["x"].values))


@numba.njit
def _raises_beyond_two(x, params, grad_out):
    """A standard normal that raises (inside compiled code) for |x| > 2."""
    if abs(x[0]) > 2.0:
        raise ValueError("outside")
    grad_out[0] = -x[0]
    return -0.5 * x[0] * x[0]


def test_an_exception_in_the_target_is_a_divergence_not_a_crash():
    # Exceptions cannot cross the C interface: the adapter turns one into log p = NaN,
    # a rejected proposal recorded as diverging.  A step of 3 from near 0 proposes
    # beyond 2 often, so some of 200 draws must diverge; none may leave [-2, 2].
    target = samplers.Target(_raises_beyond_two, 1)
    idata = run(samplers.Langevin(step_size=3.0, metropolis=True), target, draws=200, tune=0,
                chains=2, rng=0, initial=[[0.0], [0.5]])
    x = idata.posterior["x"].values
    assert np.all(np.abs(x) <= 2.0)
    assert idata.sample_stats["diverging"].values.any()


def test_from_python_target_samples_like_the_compiled_one():
    python_target = samplers.Target.from_python(lambda x: -0.5 * x @ x, lambda x: -x, 2)
    numba_target = samplers.Gaussian(np.zeros(2), 1.0)
    kwargs = dict(draws=50, tune=20, chains=2, rng=2)
    a = run(samplers.Langevin(metropolis=True), python_target, **kwargs)
    b = run(samplers.Langevin(metropolis=True), numba_target, **kwargs)
    np.testing.assert_allclose(a.posterior["x"].values, b.posterior["x"].values, rtol=1e-10, atol=1e-12)


def test_ula_freezes_a_chain_that_meets_a_non_finite_value():
    target = samplers.Target(funnel_edge, 1, params=(np.array([3.0]),))
    with pytest.warns(RuntimeWarning, match="ULA chains diverged"):
        idata = run(samplers.Langevin(step_size=1.5, metropolis=False), target, draws=200, tune=0, chains=3, rng=0,
                    initial=[[0.0], [2.9], [0.0]])
    x = idata.posterior["x"].values[..., 0]
    div = idata.sample_stats["diverging"].values
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 3.0)
    assert div.any()
    for c in range(3):
        if div[c].any():
            first = np.argmax(div[c])
            assert np.all(div[c, first:])           # frozen: every later draw is marked
            assert np.all(x[c, first:] == x[c, first])
    assert idata.sampler_state["frozen"].values.sum() == div[:, -1].sum()


def test_mala_rejects_non_finite_proposals():
    target = samplers.Target(funnel_edge, 1, params=(np.array([3.0]),))
    with pytest.warns(RuntimeWarning, match="non-finite log density"):
        idata = run(samplers.Langevin(step_size=1.5, metropolis=True), target, draws=300, tune=0,
                    chains=2, rng=0)
    x = idata.posterior["x"].values
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 3.0)
    div = idata.sample_stats["diverging"].values
    assert div.any() and not div.all()   # rejected, then the chain moves on
    assert np.all(idata.sample_stats["acceptance_rate"].values[div] == 0.0)


def test_no_warning_when_nothing_diverges(mixture2d):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        # (R-hat and ESS of so short a run would fail: only divergences are checked)
        run(samplers.Langevin(metropolis=True), mixture2d, draws=50, tune=50, chains=2, rng=0,
            check_convergence=False)


@pytest.mark.parametrize(
    "sampler_kwargs, error, match",
    [
        (dict(step_size=0.0), ValueError, "step_size must be finite and > 0"),
        (dict(step_size=-1.0), ValueError, "step_size"),
        (dict(step_size=np.inf), ValueError, "step_size"),
        (dict(step_size="big"), TypeError, "step_size must be a number"),
        (dict(metropolis="yes"), TypeError, "metropolis must be a bool"),
        (dict(target_accept=1.0), ValueError, "target_accept"),
    ],
)
def test_bad_sampler_settings(sampler_kwargs, error, match):
    with pytest.raises(error, match=match):
        samplers.Langevin(**sampler_kwargs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(draws=0), ValueError, "draws must be >= 1"),
        (dict(draws=2.5), TypeError, "draws must be an int"),
        (dict(chains=0), ValueError, "chains must be >= 1"),
        (dict(thin=0), ValueError, "thin must be >= 1"),
        (dict(tune=-1), ValueError, "tune must be >= 0"),
        (dict(initial=np.zeros(3)), ValueError, "initial must have shape"),
        (dict(initial=np.zeros((3, 2))), ValueError, "initial must have shape"),
        (dict(initial=[np.nan, 0.0]), ValueError, "initial must be finite"),
        (dict(initial=[1e3, 0.0], step_size=None, tune=0), ValueError, "tune > 0"),
        (dict(rng="seed"), TypeError, "rng must be"),
    ],
)
def test_bad_sample_arguments(mixture2d, kwargs, error, match):
    sampler = samplers.Langevin(step_size=kwargs.pop("step_size", 0.1))
    with pytest.raises(error, match=match):
        sampler.sample(mixture2d, **{"chains": 2, "progressbar": False, **kwargs})


def test_non_finite_initial_log_density():
    target = samplers.Target(funnel_edge, 1, params=(np.array([3.0]),))
    with pytest.raises(ValueError, match="initial: the log density or its gradient is not finite"):
        run(samplers.Langevin(step_size=0.1, metropolis=False), target, draws=5, chains=2, initial=[[0.0], [5.0]])


def test_bad_target_and_resume(mixture2d):
    with pytest.raises(TypeError, match="target must be a samplers.Target"):
        samplers.Langevin(step_size=0.1, metropolis=False).sample(lambda x: x, 10)
    idata = run(samplers.Langevin(step_size=0.1, metropolis=False), mixture2d, draws=5, tune=0, chains=1, rng=0)
    with pytest.raises(ValueError, match="resume it with the same sampler and settings"):
        samplers.Langevin(step_size=0.2, metropolis=False).resume(idata, mixture2d, 5)
    with pytest.raises(ValueError, match="dim"):
        samplers.Langevin(step_size=0.1, metropolis=False).resume(idata, samplers.Gaussian(np.zeros(3)), 5)


def test_exceptions_of_python_targets_are_raised():
    wrong = samplers.Target.from_python(lambda x: -0.5 * x @ x, lambda x: -x[:1], 2)
    with pytest.raises(RuntimeError, match="grad returned 1 values, expected dim=2"):
        run(samplers.Langevin(step_size=0.1, metropolis=False), wrong, draws=10)

    def grad(x):
        if x[0] > 1.0:
            raise ZeroDivisionError("boom")
        return -x

    fragile = samplers.Target.from_python(lambda x: -0.5 * x @ x, grad, 2)
    with pytest.raises(RuntimeError, match="raised ZeroDivisionError: boom"):
        run(samplers.Langevin(step_size=0.5, metropolis=False), fragile, draws=200, initial=[0.0, 0.0])


def test_matrix_shaped_target_keeps_its_shape():
    target = samplers.Target(quadratic_matrix, (2, 3), params=(np.ones(1),),
                             name="X")
    idata = run(samplers.Langevin(step_size=0.1, metropolis=False), target, draws=7, tune=0, chains=2, rng=0,
                initial=np.arange(6.0).reshape(2, 3) / 10)
    assert idata.posterior["X"].dims == ("chain", "draw", "X_dim_0", "X_dim_1")
    assert idata.posterior["X"].shape == (2, 7, 2, 3)
    np.testing.assert_array_equal(idata.sampler_state["x"].values.reshape(2, 2, 3),
                                  idata.posterior["X"].values[:, -1])


@numba.njit(cache=True)
def quadratic_matrix(x, params, grad_out):
    grad_out[:] = -x
    return -0.5 * np.sum(x * x)


@numba.njit(cache=True)
def quadratic_batch(xs, params, grad_out, lp_out):
    for i in range(xs.shape[0]):
        lp_out[i] = quadratic_matrix(xs[i], params, grad_out[i])


@pytest.mark.slow
@pytest.mark.parametrize("sampler", [
    samplers.Langevin(metropolis=True),
    samplers.Langevin(step_size=0.3, metropolis=False),
    samplers.ParallelTempering(betas=[0.25, 0.5, 1.0], step_size=0.3),
    samplers.SimulatedTempering(betas=[0.25, 0.5, 1.0], step_size=0.3, log_weights=[0.0, 0.0, 0.0]),
], ids=["MALA", "ULA", "PT", "ST"])
def test_batched_targets_give_the_draws_of_single_point_targets(sampler):
    # The step-major loop (run_chunk_batched) runs the same pieces of a step
    # on the same random numbers, so the draws are bit-identical.
    single = samplers.Target(quadratic_matrix, 3, params=(np.ones(1),))
    batched = samplers.Target(quadratic_matrix, 3, params=(np.ones(1),),
                              batch_logp_grad=quadratic_batch)
    kwargs = dict(draws=40, tune=30, chains=3, rng=5, save_warmup=True)
    a = run(sampler, single, **kwargs)
    b = run(sampler, batched, **kwargs)
    for group in ("posterior", "warmup_posterior", "sample_stats"):
        for name in a[group].data_vars:
            np.testing.assert_array_equal(a[group][name].values, b[group][name].values)


def test_bad_batch_logp_grad():
    with pytest.raises(TypeError, match="batch_logp_grad must be a numba.njit"):
        samplers.Target(quadratic_matrix, 3, params=(np.ones(1),), batch_logp_grad=len)
    with pytest.raises(TypeError, match="batch_logp_grad could not be compiled"):
        samplers.Target(quadratic_matrix, 3, params=(np.ones(1),), batch_logp_grad=quadratic_matrix)
