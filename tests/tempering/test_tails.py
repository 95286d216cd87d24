"""Improper and runaway hot levels of the classic path p^beta (``tempering.tails``)."""
import warnings

import numba
import numpy as np
import pytest

import samplers
from samplers.tempering import tails
from samplers.tempering.evidence import EvidenceWarning


@numba.njit
def _cauchy(x, params, grad):
    """The d-dimensional Cauchy (multivariate t, nu = 1): log p = -(d + 1)/2 log(1 + |x|^2)."""
    d = x.shape[0]
    r2 = 0.0
    for i in range(d):
        r2 += x[i] * x[i]
    for i in range(d):
        grad[i] = -(d + 1) * x[i] / (1.0 + r2)
    return -0.5 * (d + 1) * np.log1p(r2)


@numba.njit
def _t_and_gaussian(x, params, grad):
    """0.5 Student-t (nu = 4) at 0 + 0.5 N(6 e_1, 0.25 I), up to a constant."""
    nu = 4.0
    d = x.shape[0]
    r2 = 0.0
    q = 0.0
    for i in range(d):
        r2 += x[i] * x[i]
        q += (x[i] - (6.0 if i == 0 else 0.0)) ** 2
    lt = -0.5 * (nu + d) * np.log1p(r2 / nu)
    lg = -2.0 * q + d * np.log(2.0)
    top = max(lt, lg)
    wt, wg = np.exp(lt - top), np.exp(lg - top)
    for i in range(d):
        grad[i] = (wt * (-(nu + d) * x[i] / (nu + r2))
                   + wg * (-4.0 * (x[i] - (6.0 if i == 0 else 0.0)))) / (wt + wg)
    return top + np.log(wt + wg)


@numba.njit
def _box(x, params, grad):
    """Uniform on [-1, 1]^d (-inf outside)."""
    for i in range(x.shape[0]):
        grad[i] = 0.0
        if abs(x[i]) > 1.0:
            return -np.inf
    return 0.0


def cauchy(dim=4):
    return samplers.Target(_cauchy, dim)


def test_the_tail_exponent_is_that_of_the_density():
    """p ~ |x|^-(nu + d) far out: 5 for the 4-D Cauchy, 12 for an 8-D t (nu = 4) mixture;
    Gaussian tails give a huge exponent, a bounded support an infinite one."""
    centre = np.zeros(4)
    assert tails.tail_exponent(cauchy(4), centre, 1.0) == pytest.approx(5.0, rel=1e-4)
    mixed = samplers.Target(_t_and_gaussian, 8)
    assert tails.tail_exponent(mixed, np.zeros(8), 1.0) == pytest.approx(12.0, rel=1e-4)
    gaussian = samplers.GaussianMixture([[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]], covs=[1.0, 2.0])
    assert tails.tail_exponent(gaussian, centre[:3], 1.0) > 1e9
    assert tails.tail_exponent(samplers.Target(_box, 3), centre[:3], 0.5) == np.inf
    # p^beta is normalisable for beta > d / exponent only.
    betas = samplers.ladders.geometric(0.01, 8)
    np.testing.assert_array_equal(tails.improper_levels(betas, 5.0, 4), np.flatnonzero(betas <= 0.8))
    assert tails.improper_levels(betas, 1e10, 3).size == 0
    assert tails.improper_levels([1e-30, 1.0], 1e10, 3).tolist() == [0]


def test_runaway_replicas_are_those_far_beyond_their_level_spread():
    betas = np.array([0.01, 0.1, 1.0])
    positions = np.array([[50.0, 0.0], [1e9, 0.0], [np.nan, 0.0], [3.0, 0.0]])
    levels = np.array([0, 1, 0, 2])
    # spread 1: level 0 may reach ~10, level 1 ~3; 50 is fine, 1e9 and NaN have run off.
    assert tails.runaway_levels(betas, positions, levels, np.zeros(2), 1.0).keys() == {0, 1}
    assert tails.runaway_levels(betas, positions[[0, 3]], levels[[0, 3]], np.zeros(2), 1.0) == {}


def _tails_warnings(sampler, target, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampler.sample(target, chains=4, progressbar=False, check_convergence=False, **kwargs)
    return [str(w.message) for w in caught
            if w.category is RuntimeWarning and "reference=" in str(w.message)]


def test_parallel_tempering_on_a_cauchy_target_warns_and_names_the_fix():
    """The 4-D Cauchy: p^beta is improper for beta <= 0.8; the hot replicas end at |x| ~ 1e16
    to 1e99 (measured), and log Z(0.01) - log Z(1) is printed as a finite number."""
    caught = _tails_warnings(samplers.ParallelTempering(reference=None), cauchy(4), draws=200,
                             rng=1)
    assert len(caught) == 1
    assert "not normalisable for beta <= 0.8" in caught[0] and "ran off" in caught[0]
    assert 'reference="modes" (a reference path' in caught[0]


def test_a_heavy_tailed_mixture_warns_even_when_the_walk_looks_fine():
    """The t (nu = 4) + Gaussian mixture in 8-D: improper below beta = 2/3 (d / (nu + d))."""
    caught = _tails_warnings(samplers.ParallelTempering(reference=None),
                             samplers.Target(_t_and_gaussian, 8), draws=200, rng=2)
    assert len(caught) == 1 and "beta <= 0.667" in caught[0]


@pytest.mark.parametrize("make", [samplers.ParallelTempering, samplers.SimulatedTempering],
                         ids=["pt", "st"])
def test_gaussian_mixtures_do_not_warn(make):
    target = samplers.GaussianMixture([[0.0, 0.0], [18.0, 0.0], [0.0, 18.0]],
                                      covs=[0.5, 1.0, 1.5], weights=[0.2, 0.3, 0.5])
    assert _tails_warnings(make(), target, draws=500, rng=3) == []


def _evidence_warnings(sampler, target, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idata = sampler.sample(target, chains=4, progressbar=False, check_convergence=False,
                               **kwargs)
    return idata, [str(w.message) for w in caught if issubclass(w.category, EvidenceWarning)]


def test_the_evidence_of_a_polynomial_tail_on_a_reference_path_is_not_trusted():
    """On the default (reference) path the 2-D Cauchy's evidence se is too small (the last
    increment has infinite variance: measured 2-7 se low): flagged, log_z_trusted False;
    a Gaussian mixture is not flagged."""
    idata, caught = _evidence_warnings(samplers.ParallelTempering(), cauchy(2), draws=500, rng=4)
    assert idata.tempering["log_z_trusted"].values.item() is False
    assert any("polynomial tail" in m and "log_evidence_se may be too small" in m for m in caught)
    assert "polynomial tail" in str(samplers.tempering_summary(idata))
    mixture = samplers.GaussianMixture([[0.0, 0.0], [18.0, 0.0]], covs=[0.5, 1.5],
                                       weights=[0.2, 0.8])
    idata, caught = _evidence_warnings(samplers.ParallelTempering(), mixture, draws=500, rng=4)
    assert not any("polynomial tail" in m for m in caught)
    assert "evidence_caveat" not in idata.tempering.attrs
