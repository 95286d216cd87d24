"""The output format: run attributes, the tempering group and ``concat`` of a run and its continuations."""
import numpy as np
import pytest

import samplers
from samplers.inference_data import (SAMPLER_STATE, TEMPERING, WARMUP_POSTERIOR,
                                     WARMUP_SAMPLE_STATS, RunAttr, TemperingVar as V, arviz,
                                     run_attrs, swap_rejection, tempering_group)
from samplers.tempering.evidence import (check_evidence, importance_ess, log_z, log_z_reverse,
                                        stone_from_sums, stone_sums)

WEIGHTS = np.array([0.1, 0.2, 0.3, 0.4])


@pytest.fixture(scope="module")
def separated():
    """Four 2-D components 18 apart: tempering needs its ladder to move between them."""
    means = np.array([[0.0, 0.0], [18.0, 0.0], [0.0, 18.0], [18.0, 18.0]])
    return samplers.GaussianMixture(means, covs=np.array([0.5, 1.0, 0.7, 1.5]), weights=WEIGHTS)


def _stone(values, batches, level=0):
    """The driver's stepping-stone sums (C=1, L=2, B, 4) of ``values`` at ``level`` (the
    other level has none), cut into ``batches`` consecutive batches."""
    stone = np.zeros((1, 2, batches, 4))
    stone[..., 0] = -np.inf
    for b, chunk in enumerate(np.array_split(values, batches)):
        w = np.exp(chunk - chunk.max())
        stone[0, level, b] = (chunk.max(), w.sum(), chunk.size, np.sum(w ** 2))
    return stone


# ------------------------------------------------------------------ units, no sampling

def test_stone_sums_round_trip_and_pooling_does_not_depend_on_batches():
    """log Z is the log of the mean of exp(v) over every draw, however the draws are batched:
    joining two parts' sums along the batches gives the estimate of the whole."""
    v = np.random.default_rng(0).normal(-3.0, 2.0, 5000)
    whole = _stone(v, 20)
    rel, se = log_z(whole)
    expected = -(np.log(np.mean(np.exp(v))))
    assert rel[0] == pytest.approx(expected, abs=1e-12) and rel[1] == 0.0
    back, back_se = log_z(stone_from_sums(*stone_sums(whole)))
    np.testing.assert_allclose(back, rel, atol=1e-12)
    np.testing.assert_allclose(back_se, se, rtol=1e-12)
    parts = [stone_sums(_stone(v[:2000], 20)), stone_sums(_stone(v[2000:], 20))]
    joined = stone_from_sums(np.concatenate([p[0] for p in parts], axis=2),
                             np.concatenate([p[1] for p in parts], axis=2))
    pooled, pooled_se = log_z(joined)
    np.testing.assert_allclose(pooled, rel, atol=1e-12)
    # Batch means over 40 batches instead of 20: the same error, estimated within ~20%.
    assert pooled_se[0] == pytest.approx(se[0], rel=0.5)
    # The sums of squares are joined too: Kish's ESS of the weights is that of all draws.
    w = np.exp(v - v.max())
    ess = w.sum() ** 2 / np.sum(w ** 2)
    joined = stone_from_sums(*(np.concatenate([p[k] for p in parts], axis=2) for k in range(3)))
    for stone in (whole, joined, stone_from_sums(*stone_sums(whole))):
        assert importance_ess(stone[:, :1])[0] == pytest.approx(ess, rel=1e-10)
    # A batch without a finite value stays empty.
    empty = np.zeros((1, 2, 1, 4))
    empty[..., 0] = -np.inf
    log_sum, count, log_sq = stone_sums(empty)
    assert np.all(log_sum == -np.inf) and np.all(log_sq == -np.inf)
    assert np.array_equal(stone_from_sums(log_sum, count, log_sq), empty)
    assert importance_ess(empty[:, :1])[0] == 0.0


def test_reverse_stepping_stone_is_the_mean_at_the_upper_level():
    """log Z(beta_0) - log Z(1) = log E_1[exp(-(beta_1 - beta_0) lp)]: the log of the mean of
    exp(v) over the draws at level 1."""
    v = np.random.default_rng(1).normal(2.0, 1.0, 3000)
    rel, se = log_z_reverse(_stone(v, 20, level=1))
    assert rel[0] == pytest.approx(np.log(np.mean(np.exp(v))), abs=1e-12) and rel[1] == 0.0
    assert 0 < se[0] < 0.1 and se[1] == 0.0


def _gaussian_levels(betas, dim, n, rng, batches=20):
    """Exact stepping-stone sums of 4 chains of ``n`` i.i.d. draws from p^beta for p = N(0, I_dim)
    at every level (the forward and the reverse records)."""
    betas = np.asarray(betas)
    stone, reverse = (np.zeros((4, betas.size, batches, 4)) for _ in range(2))
    stone[..., 0] = reverse[..., 0] = -np.inf
    for c in range(4):
        for i, beta in enumerate(betas):
            lp = -0.5 * np.sum(rng.standard_normal((n, dim)) ** 2, axis=1) / beta
            if i + 1 < betas.size:
                stone[c, i] = _stone((betas[i + 1] - beta) * lp, batches)[0, 0]
            if i > 0:
                reverse[c, i] = _stone(-(beta - betas[i - 1]) * lp, batches)[0, 0]
    return stone, reverse


def test_evidence_check_passes_close_levels_and_flags_distant_ones():
    """Exact draws, so only the overlap matters.  Close levels (ratio 1.5 in 10-D): Kish's ESS
    of the forward weights is ~0.58 of the draws and forward and reverse agree.  [0.1, 1] in
    10-D: the ESS fraction is (sqrt(19) / 10)^10 = 2.5e-4, ~5 of 20,000 draws (needs 400), and
    the reverse weights exp(0.45 |x|^2) at beta = 1 have infinite variance."""
    rng = np.random.default_rng(3)
    close = check_evidence(*_gaussian_levels([1 / 1.5, 1.0], 10, 5000, rng), [1 / 1.5, 1.0])
    assert close.trusted and close.overlap_ess[0] == pytest.approx(0.58 * 20000, rel=0.1)
    assert close.disagreement[0] < 4
    far = check_evidence(*_gaussian_levels([0.1, 1.0], 10, 5000, rng), [0.1, 1.0])
    assert not far.trusted and far.overlap_ess[0] < 100 and far.min_ess[0] == 400


def test_tempering_group_derives_the_diagnostics_from_the_sums():
    betas = np.array([0.1, 0.3, 0.6, 1.0])
    accepted, attempts = np.array([8.0, 2.5, 0.0]), np.array([10.0, 5.0, 0.0])
    stone = _stone(np.linspace(-2.0, 0.0, 100), 4)
    stone = np.concatenate([stone, np.repeat(stone[:, 1:], 2, axis=1)], axis=1)   # L = 4
    group = tempering_group(betas, accepted, attempts, [1.0, 1.0, 2.0, 4.0], [3, 4], [90, 110],
                            stone)
    np.testing.assert_array_equal(group[V.SWAP_ACCEPTANCE][1], [0.8, 0.5, 0.0])
    np.testing.assert_allclose(swap_rejection(accepted, attempts), [0.2, 0.5, 1.0], rtol=1e-15)
    # Lambda = sum of the rejections; a pair never tried counts as rejected.
    assert group[V.COMMUNICATION_BARRIER][1] == pytest.approx(1.7)
    np.testing.assert_array_equal(group[V.OCCUPANCY][1], [0.125, 0.125, 0.25, 0.5])
    assert group[V.STONE_LOG_SUM][0] == ("chain", "level", "batch")
    assert V.LOG_WEIGHTS not in group and V.LEVEL_TRACE not in group
    assert V.LOG_Z_TRUSTED not in group          # no reverse sums: no check
    group = tempering_group(betas, accepted, attempts, [1.0, 1.0, 2.0, 4.0], [3, 4], [90, 110],
                            stone, stone_reverse=stone[:, ::-1].copy())
    assert group[V.LOG_Z_UNTRUSTED][1].shape == (3,) and group[V.LOG_Z_TRUSTED][0] == ()


def _langevin(target, draws, chains=2, save_warmup=False):
    return samplers.Langevin(step_size=0.1, metropolis=False).sample(target, draws=draws, tune=20, chains=chains,
                                                  rng=5, save_warmup=save_warmup,
                                                  progressbar=False)


def test_run_attrs_are_typed_and_survive_netcdf(tmp_path, mixture2d):
    idata = _langevin(mixture2d, 10)
    path = tmp_path / "run.nc"
    idata.to_netcdf(str(path))
    for run in (idata, arviz().from_netcdf(str(path))):
        attrs = run_attrs(run)
        assert attrs[RunAttr.SAMPLER] == "ULA" and attrs[RunAttr.SEED] == 5
        assert attrs[RunAttr.SAMPLER_SETTINGS] == samplers.Langevin(step_size=0.1, metropolis=False).settings()
        assert attrs[RunAttr.TUNING_STEPS] == 20 and attrs[RunAttr.THIN] == 1
        assert attrs[RunAttr.CHAINS] == 2 and isinstance(attrs[RunAttr.SAMPLING_TIME], float)


def test_concat_keeps_the_warmup_of_the_first_part(mixture2d):
    sampler = samplers.Langevin(step_size=0.1, metropolis=False)
    first = _langevin(mixture2d, 10, save_warmup=True)
    rest = sampler.resume(first, mixture2d, draws=15, progressbar=False)
    joined = samplers.concat(first, rest)
    for group in (WARMUP_POSTERIOR, WARMUP_SAMPLE_STATS):
        assert group in joined.groups()
        for name in first[group].data_vars:
            np.testing.assert_array_equal(joined[group][name].values, first[group][name].values)
    assert joined.posterior.sizes["draw"] == 25
    attrs = run_attrs(joined)
    assert attrs[RunAttr.TUNING_STEPS] == 20   # the first part's warm-up, not the resume's 0
    assert attrs[RunAttr.SAMPLING_TIME] == pytest.approx(
        run_attrs(first)[RunAttr.SAMPLING_TIME] + run_attrs(rest)[RunAttr.SAMPLING_TIME])
    # The joined run can be continued, and the result joined again.
    more = sampler.resume(joined, mixture2d, draws=5, progressbar=False)
    assert samplers.concat(joined, more).posterior.sizes["draw"] == 30


def test_concat_rejects_parts_that_are_not_one_run(mixture2d, separated):
    two, three = _langevin(mixture2d, 5, chains=2), _langevin(mixture2d, 5, chains=3)
    with pytest.raises(ValueError, match=r"same number of chains.*part 0: 2, part 1: 3"):
        samplers.concat(two, three)
    with pytest.raises(TypeError, match="part 1 must be an InferenceData"):
        samplers.concat(two, two.posterior)
    pt = samplers.ParallelTempering(betas=[0.2, 1.0], step_size=0.1).sample(
        mixture2d, draws=5, tune=0, chains=2, rng=1, progressbar=False)
    with pytest.raises(ValueError, match=r"only parts \[1\] have a tempering group"):
        samplers.concat(two, pt)
    other = samplers.ParallelTempering(betas=[0.3, 1.0], step_size=0.1).sample(
        mixture2d, draws=5, tune=0, chains=2, rng=1, progressbar=False)
    with pytest.raises(ValueError, match="one ladder"):
        samplers.concat(pt, other)


# ------------------------------------------------------------------ a run and its continuation

@pytest.fixture(scope="module", params=["st", "pt"])
def split_run(request, separated):
    """One run of 300 draws, and the same seed as 120 draws + a resume of 180, joined."""
    sampler = (samplers.SimulatedTempering() if request.param == "st"
               else samplers.ParallelTempering())
    kwargs = dict(tune=400, chains=4, rng=9, progressbar=False)
    whole = sampler.sample(separated, draws=300, **kwargs)
    first = sampler.sample(separated, draws=120, **kwargs)
    rest = sampler.resume(first, separated, draws=180, progressbar=False)
    return whole, first, rest, samplers.concat(first, rest)


def test_concat_of_a_continuation_has_the_diagnostics_of_one_run(split_run):
    whole, first, rest, joined = split_run
    np.testing.assert_array_equal(joined.posterior["x"].values, whole.posterior["x"].values)
    one, two = whole[TEMPERING], joined[TEMPERING]
    # Counts add up exactly: the round-trip phase is part of the saved state, so a trip
    # cut by the resume is completed in the continuation.
    for name in (V.BETA, V.STEPS, V.ROUND_TRIPS, V.SWAP_ATTEMPTS, V.SUGGESTED_LEVELS):
        np.testing.assert_array_equal(two[name].values, one[name].values)
    # Ratios of sums added in another order: equal to rounding.
    for name in (V.OCCUPANCY, V.SWAP_ACCEPTANCE, V.COMMUNICATION_BARRIER):
        np.testing.assert_allclose(two[name].values, one[name].values, rtol=1e-12, atol=1e-15)
    assert run_attrs(joined)[RunAttr.TUNING_STEPS] == 400
    if "n_steps" in whole.sample_stats:   # simulated tempering
        np.testing.assert_array_equal(joined.sample_stats["n_steps"].values,
                                      whole.sample_stats["n_steps"].values)
        np.testing.assert_array_equal(two[V.LOG_WEIGHTS].values, rest[TEMPERING][V.LOG_WEIGHTS].values)
        # The level trace: each part's entries in order; where neither part ran past the
        # length of its trace (draws x L entries), that is the trace of the one run.
        full = [(t[TEMPERING][V.LEVEL_TRACE].values[:, -1] >= 0) for t in (first, rest)]
        for c in np.flatnonzero(~full[0] & ~full[1]):
            np.testing.assert_array_equal(two[V.LEVEL_TRACE].values[c], one[V.LEVEL_TRACE].values[c])
    # The joined group can be summarised, and the joined run continued.
    assert "round trips" in str(samplers.tempering_summary(joined))
    assert SAMPLER_STATE in joined.groups()


def test_concat_pools_log_z_over_the_parts(split_run):
    """log Z of the joined parts is the estimate of the one run (the same draws) to rounding;
    its standard error comes from twice as many batches, so it agrees within the ~20%
    error of a batch-means estimate (measured 0.93-1.02 times the one run's)."""
    whole, _, _, joined = split_run
    assert V.STONE_LOG_SUM in whole[TEMPERING]
    one, two = whole[TEMPERING], joined[TEMPERING]
    np.testing.assert_allclose(two[V.LOG_Z].values, one[V.LOG_Z].values, rtol=1e-12, atol=1e-12)
    inner = slice(0, -1)   # the top level is 0 with se 0
    np.testing.assert_allclose(two[V.LOG_Z_SE].values[inner], one[V.LOG_Z_SE].values[inner],
                               rtol=0.5)
    assert two[V.LOG_Z_SE].values[-1] == 0.0
    # The reverse estimate and the overlap ESS are those of the one run too (the sums of
    # squares are pooled); the check's verdict per pair may move only with the se.
    np.testing.assert_allclose(two[V.LOG_Z_REVERSE].values, one[V.LOG_Z_REVERSE].values,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(two[V.OVERLAP_ESS].values, one[V.OVERLAP_ESS].values, rtol=1e-10)
    # The ESS needed grows with the batches (each part has its own): twice as many.
    np.testing.assert_array_equal(two[V.OVERLAP_MIN_ESS].values, 2 * one[V.OVERLAP_MIN_ESS].values)


def test_concat_without_stepping_stone_sums_pools_by_inverse_variance(split_run):
    """Parts written without the sums: log Z by inverse-variance weights over the parts, its
    se 1 / sqrt(sum 1 / se_k^2); both within the one run's se of its estimate (the same
    draws: measured within 0.4 se)."""
    whole, first, rest, _ = split_run
    parts = [part.copy() for part in (first, rest)]
    for part in parts:
        part[TEMPERING] = part[TEMPERING].drop_vars([V.STONE_LOG_SUM, V.STONE_COUNT],
                                                    errors="ignore")
    first, rest = parts
    joined = samplers.concat(first, rest)
    assert V.STONE_LOG_SUM not in joined[TEMPERING]
    se = [p[TEMPERING][V.LOG_Z_SE].values[:-1] for p in (first, rest)]
    np.testing.assert_allclose(joined[TEMPERING][V.LOG_Z_SE].values[:-1],
                               1 / np.sqrt(1 / se[0] ** 2 + 1 / se[1] ** 2), rtol=1e-12)
    one = whole[TEMPERING]
    assert np.all(np.abs(joined[TEMPERING][V.LOG_Z].values - one[V.LOG_Z].values)
                  <= one[V.LOG_Z_SE].values)
