"""Mode discovery's pieces: the compiled ascent, the search starts, a survey on a known mixture."""
import numba
import numpy as np

import samplers
from samplers.kernels.ascent import KNOWN, STALLED
from samplers.tempering import modes as md

# Two modes 10 apart, of sds 0.5 and 2: every climb ends at one of the two means.
TARGET = samplers.GaussianMixture([[0.0, 0.0], [10.0, 0.0]], [0.25, 4.0], [0.3, 0.7])


def test_ascent_ends_at_the_modes_and_stops_in_known_ellipses():
    starts = np.random.default_rng(0).uniform(-5, 15, (200, 2))
    x, lp, status, climbed, evals = md.ascend(TARGET, starts, [], length=0.5)
    assert climbed == 200 and evals >= 200
    assert np.all(status == STALLED)
    nearest = np.min(np.linalg.norm(x[:, None] - TARGET.means, axis=2), axis=1)
    assert np.all(nearest < 1e-3), nearest.max()
    assert np.allclose(lp, TARGET.logpdf(x), atol=1e-9)
    # With both modes known every climb stops in an ellipse, in fewer evaluations.
    known = [md.Mode(m, 0.0, c, 0.0) for m, c in zip(TARGET.means, TARGET.covs)]
    _, _, status_k, _, evals_k = md.ascend(TARGET, starts, known, length=0.5)
    assert np.all(status_k == KNOWN) and evals_k < evals
    # A budget stops the batch after the climb that crosses it.
    _, _, _, climbed_b, evals_b = md.ascend(TARGET, starts, [], length=0.5, budget=100)
    assert climbed_b < 200 and evals_b >= 100


def test_search_starts_are_reproducible_and_cover_regions_and_modes():
    known = [md.Mode(np.array([100.0, 0.0]), 0.0, np.eye(2), 0.0)]
    regions = [(np.zeros(2), np.ones(2))]
    a = md.search_starts(np.random.default_rng(1), 4000, known, regions)
    b = md.search_starts(np.random.default_rng(1), 4000, known, regions)
    np.testing.assert_array_equal(a, b)
    near_mode = np.linalg.norm(a - [100.0, 0.0], axis=1) < np.linalg.norm(a, axis=1)
    # Half from each source (binomial sd 0.008 at n = 4000: 6 sd).
    assert abs(near_mode.mean() - 0.5) < 0.05
    # With a box, a third from each source; the box's draws fill it uniformly at each
    # scale.  Beyond radius 7 (where the region's draws, sd <= 2, almost never are) and
    # within 1.25 of the half-widths 10, the box's share is (1 - 49 pi / 625) / 3 times
    # the chance that a draw at a log-uniform scale s in [1.25, 4] lands within 12.5,
    # E[(1.25 / s)^2] = (1 - (1.25 / 4)^2) / (2 log(4 / 1.25)) = 0.388: 0.0975 (binomial
    # sd 0.0047 at n = 4000: 3.5 sd).
    box = md.search_box(np.array([[-10.0, -10.0], [10.0, 10.0]]), [])
    np.testing.assert_allclose(box, [[0.0, 0.0], [10.0, 10.0]])
    c = md.search_starts(np.random.default_rng(1), 4000, known, regions, box)
    lo, hi = md.BOX_SCALES
    within = (1 - (lo / hi) ** 2) / (2 * np.log(hi / lo))
    outer = (np.abs(c) <= 12.5).all(axis=1) & (np.linalg.norm(c, axis=1) > 7.0)
    assert abs(outer.mean() - (1 - 49 * np.pi / 625) / 3 * within) < 0.0165
    # Some reach 4 half-widths out, none beyond.
    assert np.abs(c[np.linalg.norm(c - [100.0, 0.0], axis=1) > 50]).max() <= 40.0 + 1e-9
    assert np.mean(np.abs(c).max(axis=1) > 30.0) > 0.01
    # The box follows the modes found.
    far = md.search_box(np.zeros((1, 2)), known)
    np.testing.assert_allclose(far, [[50.0, 0.0], [50.0, 0.0]])


def test_survey_finds_both_modes_from_one_start():
    rng = np.random.default_rng(2)
    start = np.array([[0.0, 0.0]])
    found, climbs, evals = md.survey(TARGET, rng, start, [], start, np.full(2, 4.0),
                                     (np.zeros(2), np.full(2, 16.0)), start, budget=20_000)
    assert len(found) == 2 and climbs > 100 and evals >= 20_000
    order = np.argsort([m.location[0] for m in found])
    np.testing.assert_allclose([found[i].location for i in order], TARGET.means, atol=1e-4)
    np.testing.assert_allclose(md.laplace_weights([found[i] for i in order]), [0.3, 0.7], atol=1e-3)


def test_survey_chunks_fit_the_memory_bound(monkeypatch):
    """In high dimension a chunk of starts holds at most SEARCH_BYTES of positions."""
    sizes = []
    draw = md.search_starts

    def recorded(rng, n, modes, regions, box):
        sizes.append(n)
        return draw(rng, n, modes, regions, box)

    monkeypatch.setattr(md, "search_starts", recorded)
    monkeypatch.setattr(md, "SEARCH_BYTES", 8 * 2 * 100)   # 100 starts of d = 2
    start = np.array([[0.0, 0.0]])
    md.survey(TARGET, np.random.default_rng(0), start, [], start, np.full(2, 4.0),
              (np.zeros(2), np.full(2, 16.0)), start, budget=500)
    assert sizes and max(sizes) == 100


def _known_modes(weights):
    """The two modes of ``TARGET`` with Laplace masses in the ratio of ``weights``."""
    return [md.Mode(m, 0.0, c, float(np.log(w))) for m, c, w in
            zip(TARGET.means, TARGET.covs, weights)]


def test_mode_table_occupancy_and_its_error_from_the_chains():
    """Chain 0 sits in mode 0, chain 1 in mode 1: the pooled occupancy is 1/2 each, and its
    error is the chains' spread, 0.5 / sqrt(2), not the binomial sqrt(1/4 / 2000)."""
    from samplers.inference_data import TemperingVar as V
    rng = np.random.default_rng(1)
    draws = np.stack([TARGET.means[c] + 0.1 * rng.standard_normal((1000, 2)) for c in (0, 1)])
    table = md.mode_table(_known_modes([0.3, 0.7]), draws)
    np.testing.assert_allclose(table[V.MODE_OCCUPANCY][1], [0.5, 0.5])
    np.testing.assert_allclose(table[V.MODE_OCCUPANCY_SE][1], 0.5, rtol=1e-12)
    np.testing.assert_allclose(table[V.MODE_LAPLACE_WEIGHT][1], [0.3, 0.7])
    # Chains that agree: the binomial floor, never 0 (here for a mode nobody visited).
    table = md.mode_table(_known_modes([0.3, 0.7]), draws[[1, 1]])
    np.testing.assert_allclose(table[V.MODE_OCCUPANCY][1], [0.0, 1.0])
    np.testing.assert_allclose(table[V.MODE_OCCUPANCY_SE][1], np.sqrt(1 / 2000 * (1 - 1 / 2000) / 2000))


def test_occupancy_far_from_the_laplace_weights_is_warned_about():
    import xarray as xr
    from samplers.inference_data import TemperingVar as V

    def group(occupancy, se, weights):
        return xr.Dataset({V.MODE_OCCUPANCY: ("mode", occupancy), V.MODE_OCCUPANCY_SE: ("mode", se),
                           V.MODE_LAPLACE_WEIGHT: ("mode", weights),
                           V.MODE_LOG_P: ("mode", [-1.0, -2.0, -3.0])})

    # A Student-t mode's Laplace weight 8x too small (measured): within the margin.
    assert md.occupancy_message(group([0.2, 0.4, 0.4], [0.01] * 3, [0.025, 0.49, 0.485])) is None
    # A mode with Laplace weight 0.3 the chains never visit: warned, naming it.
    message = md.occupancy_message(group([0.0, 0.5, 0.5], [0.0005, 0.01, 0.01], [0.3, 0.35, 0.35]))
    assert message is not None and "mode 0 (log p -1)" in message and "mode 1" not in message
    # The same with an occupancy error as large as the difference: Monte Carlo noise.
    assert md.occupancy_message(group([0.0, 0.5, 0.5], [0.1, 0.1, 0.1], [0.3, 0.35, 0.35])) is None


def test_a_mode_found_in_the_last_discovery_is_warned_about():
    """Discovery that still finds modes in its last round has not levelled off."""
    import xarray as xr
    from samplers.inference_data import TemperingVar as V

    def group(found_at, last):
        return xr.Dataset({V.MODE_FOUND_AT: ("mode", np.array(found_at)),
                           V.LAST_DISCOVERY: ((), last)})

    message = md.discovery_message(group([0, 0, 3000], 3000))
    assert message is not None and "mode(s) [2] of 3" in message and "larger tune" in message
    assert md.discovery_message(group([0, 1000], 3000)) is None
    assert md.discovery_message(group([0, 0], 0)) is None     # one discovery, at the start
    assert md.discovery_message(xr.Dataset()) is None         # not a mode-aware run
    none = md.discovery_message(xr.Dataset({V.LAST_DISCOVERY: ((), 3000)}))
    assert none is not None and "found no mode" in none
    assert md.mode_table([], np.zeros((2, 5, 2)), [], 3000) == {V.LAST_DISCOVERY: ((), 3000)}


@numba.njit
def _ring(x, params, grad):
    """Mass near the circle of radius 3 (sd 0.1 across it): a ridge, no peak."""
    r = np.sqrt(x[0] * x[0] + x[1] * x[1])
    grad[0] = -(r - 3.0) / 0.01 * x[0] / r
    grad[1] = -(r - 3.0) / 0.01 * x[1] / r
    return -(r - 3.0) ** 2 / 0.02


def test_laplace_accepts_peaks_and_rejects_points_on_a_curved_ridge():
    """On the ring the Hessian along the tangent is ~0 (the sd there ~1e3, measured 4,600):
    one sd along it log p falls by far more than LAPLACE_DROP, so no mode; a Gaussian's
    peak, a Student-t's and a banana's are modes."""
    ring = samplers.Target(_ring, 2)
    point = np.array([3.0, 0.0])
    assert md.laplace(ring, point, ring.logp_and_grad(point)[0]) is None
    gaussian = samplers.Gaussian([1.0, 2.0], [[1.0, 0.5], [0.5, 2.0]])
    mode = md.laplace(gaussian, gaussian.mean, gaussian.logp_and_grad(gaussian.mean)[0])
    np.testing.assert_allclose(mode.cov, gaussian.cov, rtol=1e-5)
    t4 = samplers.Target(_student4, 3)
    assert md.laplace(t4, np.zeros(3), t4.logp_and_grad(np.zeros(3))[0]) is not None
    banana = samplers.Target(_banana, 2)
    assert md.laplace(banana, np.zeros(2), banana.logp_and_grad(np.zeros(2))[0]) is not None


@numba.njit
def _student4(x, params, grad):
    s = np.sum(x * x)
    for i in range(x.size):
        grad[i] = -(4.0 + x.size) / (4.0 + s) * x[i]
    return -0.5 * (4.0 + x.size) * np.log1p(s / 4.0)


@numba.njit
def _banana(x, params, grad):
    u = x[1] - 0.5 * x[0] * x[0]
    grad[0] = -x[0] / 4.0 + u * x[0]
    grad[1] = -u
    return -x[0] * x[0] / 8.0 - 0.5 * u * u
