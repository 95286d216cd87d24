"""Mode discovery's pieces: the compiled ascent, the search starts, a survey on a known mixture."""
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


def test_survey_finds_both_modes_from_one_start():
    rng = np.random.default_rng(2)
    start = np.array([[0.0, 0.0]])
    found, climbs, evals = md.survey(TARGET, rng, start, [], start, np.full(2, 4.0),
                                     (np.zeros(2), np.full(2, 16.0)), budget=20_000)
    assert len(found) == 2 and climbs > 100 and evals >= 20_000
    order = np.argsort([m.location[0] for m in found])
    np.testing.assert_allclose([found[i].location for i in order], TARGET.means, atol=1e-4)
    np.testing.assert_allclose(md.laplace_weights([found[i] for i in order]), [0.3, 0.7], atol=1e-3)
