"""Unit tests of the engine's Python side: run plans, start builders, records, adaptation helpers."""
import numpy as np
import pytest

import samplers
from samplers import engine
from samplers.engine import loop, state as records
from samplers.kernels import adaptation
from samplers.kernels.reference import ReferenceArrays
from samplers.engine.plan import DOUBLING_PARTS, doubling_rounds


@pytest.fixture(scope="module")
def gaussian():
    return samplers.Gaussian(np.zeros(3), 1.0)


def test_plans_of_the_samplers(gaussian):
    lang = samplers.Langevin(0.1, metropolis=True).plan(gaussian, tune=10)
    assert (lang.n_levels, lang.n_replicas, lang.communication) == (1, 1, "none")
    assert lang.rounds == (10,) and lang.explorer == engine.Explorer(True, 0.1, 0.574)
    assert samplers.Langevin().plan(gaussian, tune=0).rounds == ()
    assert samplers.Langevin().plan(gaussian).tune == 1000

    st = samplers.SimulatedTempering(reference=None)
    plan = st.plan(gaussian, tune=1500)
    n_levels = samplers.ladders.default_ladder(3).size
    assert (plan.n_levels, plan.n_replicas, plan.communication) == (n_levels, 1, "level_moves")
    assert plan.adapt_weights and plan.rounds == doubling_rounds(1500)
    assert len(plan.rounds) == len(DOUBLING_PARTS) and plan.rounds[-1] == 1500
    assert st.plan(gaussian).tune == st.default_tune(gaussian)

    pt = samplers.ParallelTempering(betas=[0.25, 0.5, 1.0], swap="seo").plan(gaussian, tune=40)
    assert (pt.n_levels, pt.n_replicas, pt.communication) == (3, 3, "swaps_seo")
    assert pt.rounds == (40,) and pt.adaptation is None  # a given ladder is not adapted

    paper = samplers.SimulatedTempering(betas=[0.25, 0.5, 1.0], log_weights="paper")
    assert paper.plan(gaussian, tune=600).rounds == (200, 400, 600)
    with pytest.raises(ValueError, match="too short for log_weights='paper'"):
        paper.plan(gaussian, tune=299)
    with pytest.raises(TypeError, match="target must be"):
        st.plan("not a target")


def test_plan_validation_and_continuation():
    explorer = engine.Explorer(False, None, 0.5)
    with pytest.raises(ValueError, match="communication must be one of"):
        engine.RunPlan(np.ones(1), explorer, 10, (10,), communication="swaps")
    with pytest.raises(ValueError, match="rounds must increase to tune=10"):
        engine.RunPlan(np.ones(1), explorer, 10, (5,))
    with pytest.raises(ValueError, match="rounds must increase"):
        engine.RunPlan(np.ones(1), explorer, 10, (6, 3, 10))
    plan = engine.RunPlan(np.array([0.5, 1.0]), explorer, 10, (10,), communication="level_moves",
                          adapt_weights=True, adaptation=engine.Adaptation())
    more = plan.continuation([0.4, 1.0])
    assert (more.tune, more.rounds, more.adapt_weights, more.adaptation) == (0, (), False, None)
    np.testing.assert_array_equal(more.betas, [0.4, 1.0])
    assert more.communication == "level_moves" and plan.tune == 10  # the original is unchanged


def test_fresh_start_needs_warm_up_to_tune(gaussian):
    plan = samplers.Langevin().plan(gaussian, tune=0)
    run = engine.RunArgs(draws=5, thin=1, save_warmup=False)
    with pytest.raises(ValueError, match="step_size=None is tuned during warm-up"):
        engine.fresh_start(gaussian, plan, np.zeros((2, 3)), np.zeros((2, 2), np.uint64), run)


def test_chains_done_is_the_compiled_test_negated():
    rng = np.random.default_rng(0)
    state = records.new_state(np.zeros((200, 1)), np.zeros((200, 2), np.uint64), 1, 1)
    state.steps[:] = rng.integers(0, 30, 200)
    state.collected[:] = rng.integers(0, 12, 200)
    settings = records.with_reference(records.Settings(
        betas=np.ones(1), metropolis=False, adapt_step=False, target_accept=0.5,
        adapt_weights=False, communication=0, lifted=True, steps_per_swap=1, max_level=0,
        n_tune=10, draws=8, thin=1, stop_step=25, round_first=0, round_len=1, symmetry_rank=0,
        symmetry_rows=0, **{f"ref_{name}": None for name in ReferenceArrays._fields}),
        records.no_reference(1))
    done = engine.chains_done(state, settings)
    assert 0 < done.sum() < done.size  # both outcomes occur
    compiled = [loop._chain_running(s, k, settings) for s, k in zip(state.steps, state.collected)]
    np.testing.assert_array_equal(done, ~np.array(compiled))


def test_chain_blocks_cover_every_chain_once():
    import numba
    from samplers.engine.rounds import chain_blocks
    previous = numba.get_num_threads()
    try:
        for threads in range(1, previous + 1):
            numba.set_num_threads(threads)
            for n_chains in (1, 2, 3, 7, 64):
                blocks = chain_blocks(n_chains)
                assert len(blocks) == min(threads, n_chains)
                covered = [c for first, stop in blocks for c in range(first, stop)]
                assert covered == list(range(n_chains))
                sizes = [stop - first for first, stop in blocks]
                assert max(sizes) - min(sizes) <= 1  # balanced
    finally:
        numba.set_num_threads(previous)


def test_draws_do_not_depend_on_the_thread_count(gaussian):
    import numba
    previous = numba.get_num_threads()
    try:
        runs = []
        for threads in sorted({1, previous}):
            numba.set_num_threads(threads)
            idata = samplers.Langevin().sample(gaussian, draws=50, tune=50, chains=5, rng=3,
                                               progressbar=False, check_convergence=False)
            runs.append(idata.posterior.x.values)
    finally:
        numba.set_num_threads(previous)
    for x in runs[1:]:
        np.testing.assert_array_equal(x, runs[0])


def test_initial_step_search_scales_with_the_target_and_is_reproducible():
    """On N(0, s^2) in 5-D the search ends where one proposal's acceptance crosses the
    target: h / s^2 is the same range whatever s (within the factor 2 of its doubling),
    and the same chain key gives the same h."""
    from samplers.engine.start import initial_step_size
    from samplers.engine.state import no_reference

    ratios = []
    for s in (1e-3, 1.0, 1e3):
        target = samplers.Gaussian(np.zeros(5), s ** 2)
        x = np.full(5, 0.5 * s)
        lp, grad = target.logp_and_grad(x)
        hs = [initial_step_size(target, no_reference(5), x, lp, 0.0, grad, np.empty(0), 1.0,
                                0.574, np.random.Generator(np.random.Philox(key=[7, 9])))
              for _ in range(2)]
        assert hs[0] == hs[1]
        ratios.append(hs[0] / s ** 2)
    assert max(ratios) / min(ratios) <= 4.0 and 0.05 < min(ratios) < 5.0, ratios


def test_records_and_level_trace_dtype():
    assert records.level_dtype(127) == np.int8 and records.level_dtype(128) == np.int16
    acc = records.new_accumulators(2, 5, trace_len=7)
    assert acc.level_trace.dtype == np.int8 and np.all(acc.level_trace == -1)
    assert not hasattr(acc, "energy")
    rec = records.new_records(2, draws=4, n_warm=3, dim=5)
    assert rec.draws.x.shape == (2, 4, 5) and rec.draws.n_steps.shape == (2, 4)
    assert rec.draws.level.shape == (2, 0)
    assert rec.warmup.x.shape == (2, 3, 5) and rec.warmup.level.shape == (2, 3)
    assert rec.warmup.n_steps.shape == (2, 0)


def test_saved_state_round_trip():
    state = records.new_state(np.arange(6.0).reshape(2, 3), np.ones((2, 2), np.uint64), 1, 1)
    state.steps[:] = (5, 7)
    state.collected[:] = 3
    reference = samplers.tempering.reference.reference_arrays(np.ones((1, 3)), np.eye(3)[None],
                                                              np.ones(1))
    settings = records.with_reference(
        records.Settings(np.ones(1), *([0] * (len(records.Settings._fields) - 1))), reference)
    saved = records.save_state(state, settings)
    back = records.restore_state(saved)
    np.testing.assert_array_equal(back.x, state.x)
    for mine, restored in zip(reference, records.saved_reference(saved, 3)):
        np.testing.assert_array_equal(mine, restored)
    # A run saved before reference paths existed: no lq, grad_q or reference.
    old = {k: v for k, v in saved.items() if k not in ("lq", "grad_q") and "reference" not in k}
    assert records.restore_state(old).grad_q.shape == (2, 1, 0)
    assert records.saved_reference(old, 3).log_norm.size == 0
    np.testing.assert_array_equal(back.offset, [5, 7])  # the streams run on
    assert not back.steps.any() and not back.collected.any()


def test_adaptation_helpers():
    # The restart gain: gamma_n = min(1, L / n)^SA_EXPONENT is at most 0.1 from n on.
    n = adaptation.sa_restart_count(13, 0.1)
    assert n == int(np.ceil(13 * 10 ** (1 / 0.6)))
    assert (13 / n) ** adaptation.SA_EXPONENT <= 0.1 < (13 / (n - 1)) ** adaptation.SA_EXPONENT
    states = np.full((3, adaptation.DUAL_AVERAGING_SLOTS), 7.0)
    adaptation.dual_averaging_restart(states, np.array([0.1, 0.2, 0.4]))
    fresh = np.zeros(adaptation.DUAL_AVERAGING_SLOTS)
    adaptation.dual_averaging_init(fresh, 0.2)
    np.testing.assert_allclose(states[1], fresh, rtol=1e-15)
    assert not adaptation.dual_averaging_started(states[0])


def test_tempering_output_records(gaussian):
    idata = samplers.SimulatedTempering(betas=[0.3, 1.0], step_size=0.5).sample(
        gaussian, draws=20, tune=40, chains=2, rng=1, progressbar=False, save_warmup=True)
    trace = idata.tempering["level_trace"].values
    assert trace.dtype == np.int8 and set(np.unique(trace)) <= {-1, 0, 1}
    assert "level" in idata.warmup_sample_stats and "n_steps" in idata.sample_stats
    assert "level" not in idata.sample_stats
