"""Inverse-temperature ladders: construction, validation, communication barrier, equalization."""
import math

import numpy as np
import pytest

from samplers.ladders import (
    CommunicationBarrier,
    check_ladder,
    communication_barrier,
    default_ladder,
    equalize,
    geometric,
)


def assert_valid_ladder(betas, n=None, beta_min=None):
    assert isinstance(betas, np.ndarray) and betas.dtype == np.float64 and betas.ndim == 1
    assert np.all(np.diff(betas) > 0) and betas[0] > 0 and betas[-1] == 1.0
    if n is not None:
        assert betas.size == n
    if beta_min is not None:
        assert betas[0] == beta_min


# ------------------------------------------------------------------ geometric


def test_geometric_exact_values():
    np.testing.assert_allclose(geometric(0.01, 3), [0.01, 0.1, 1.0], rtol=1e-15)
    np.testing.assert_allclose(geometric(0.001, 4), [0.001, 0.01, 0.1, 1.0], rtol=1e-14)
    np.testing.assert_array_equal(geometric(0.25, 2), [0.25, 1.0])
    b = geometric(0.3, 7)
    np.testing.assert_allclose(b, 0.3 ** (1 - np.arange(7) / 6), rtol=1e-15)
    np.testing.assert_allclose(np.diff(np.log(b)), np.log(1 / 0.3) / 6, rtol=1e-12)
    assert b[0] == 0.3 and b[-1] == 1.0  # endpoints exact, not rounded
    assert_valid_ladder(geometric(1e-6, 200), 200, 1e-6)


@pytest.mark.parametrize("beta_min", [0.0, -0.1, 1.0, 1.5, float("nan"), float("inf")])
def test_geometric_rejects_bad_beta_min(beta_min):
    with pytest.raises(ValueError, match="beta_min"):
        geometric(beta_min, 5)


@pytest.mark.parametrize("n, error", [(1, ValueError), (0, ValueError), (3.0, TypeError),
                                      (True, TypeError), ("5", TypeError)])
def test_geometric_rejects_bad_n(n, error):
    with pytest.raises(error, match="n"):
        geometric(0.1, n)


def test_geometric_rejects_bad_beta_min_type():
    with pytest.raises(TypeError, match="beta_min"):
        geometric("0.1", 5)


def test_geometric_too_many_levels_for_float64():
    with pytest.raises(ValueError, match="not distinct"):
        geometric(1 - 1e-15, 100)


# --------------------------------------------------------------- check_ladder


def test_check_ladder_returns_float64_copy():
    user = [0.1, 0.5, 1]
    out = check_ladder(user)
    assert out.dtype == np.float64 and out.tolist() == [0.1, 0.5, 1.0]
    arr = np.array([0.2, 1.0])
    out = check_ladder(arr)
    out[0] = 0.7
    assert arr[0] == 0.2  # never aliases the user's array
    np.testing.assert_array_equal(check_ladder(np.array([1, 2, 4]) / 4), [0.25, 0.5, 1.0])


def test_check_ladder_snaps_last_level_to_one():
    for last in (1 + 1e-13, 1 - 1e-13, 1 - 1e-12):
        out = check_ladder([0.1, 0.5, last])
        assert out[-1] == 1.0 and out[:2].tolist() == [0.1, 0.5]


@pytest.mark.parametrize("betas, message", [
    ([0.1, 0.5, 0.5, 1.0], "strictly increasing"),
    ([0.5, 0.1, 1.0], "strictly increasing"),
    ([0.1, 0.5, 0.9], "end at 1"),
    ([0.1, 0.5, 1 - 1e-9], "end at 1"),
    ([0.0, 0.5, 1.0], "> 0"),
    ([-0.1, 0.5, 1.0], "> 0"),
    ([0.1, 0.5, 1.5], "<= 1"),
    ([0.1, 1.0 + 1e-9], "<= 1"),
    ([0.1, np.nan, 1.0], "finite"),
    ([0.1, np.inf], "finite"),
    ([1.0], "at least 2"),
    ([], "at least 2"),
    ([[0.1, 1.0], [0.2, 1.0]], "1-D"),
    (np.float64(1.0), "1-D"),
])
def test_check_ladder_errors(betas, message):
    with pytest.raises(ValueError, match=message) as info:
        check_ladder(betas, name="my_betas")
    assert "my_betas" in str(info.value)


@pytest.mark.parametrize("betas", [["a", "b"], [0.1, None, 1.0], [0.5j, 1.0], "0.5,1",
                                   [True, True]])
def test_check_ladder_type_errors(betas):
    with pytest.raises(TypeError, match="betas"):
        check_ladder(betas)


# -------------------------------------------------------------- default_ladder


def test_default_ladder_properties():
    sizes = []
    for dim in (1, 2, 3, 5, 10, 30, 100, 1000, 10_000):
        b = default_ladder(dim)
        assert_valid_ladder(b, beta_min=0.01)
        np.testing.assert_allclose(b, geometric(0.01, b.size), rtol=1e-15)
        sizes.append(b.size)
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]  # grows with dim
    assert sizes[:2] == [4, 6]  # Lambda = log(100)/pi = 1.47 and log(100)/2 = 2.30
    # n ~ 1 + sqrt(2 d / pi) log(1 / beta_min) for large d
    assert abs(default_ladder(10_000).size - (1 + math.sqrt(2e4 / math.pi) * math.log(100))) < 2


def test_default_ladder_shape_and_beta_min():
    np.testing.assert_array_equal(default_ladder((5, 2)), default_ladder(10))
    b = default_ladder(10, beta_min=0.001)
    assert_valid_ladder(b, beta_min=0.001)
    assert b.size > default_ladder(10).size


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(dim=0), ValueError, "dim"),
    (dict(dim=2.0), TypeError, "dim"),
    (dict(dim=()), ValueError, "dim"),
    (dict(dim=(3, 0)), ValueError, r"dim\[1\]"),
    (dict(dim=3, beta_min=1.0), ValueError, "beta_min"),
    (dict(dim=3, beta_min=0.0), ValueError, "beta_min"),
])
def test_default_ladder_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        default_ladder(**kwargs)


@pytest.mark.parametrize("dim", [1, 10, 100])
def test_default_ladder_gaussian_swap_rejection_is_moderate_and_equal(dim):
    """For a Gaussian target, V = log p under p^beta is -Gamma(dim/2, 1)/beta; swaps
    between neighbours reject about half the time at every level, whatever dim."""
    b = default_ladder(dim)
    rng = np.random.default_rng(20240611 + dim)
    v = -rng.gamma(dim / 2, 1.0, size=(20_000, b.size)) / b
    accept = np.minimum(1.0, np.exp(np.diff(b) * (v[:, :-1] - v[:, 1:])))
    r = 1.0 - accept.mean(axis=0)
    assert np.all((r > 0.35) & (r < 0.55)), r
    assert r.max() - r.min() < 0.03, r  # geometric spacing equalizes a Gaussian's barrier
    assert abs(communication_barrier(b, r).suggested_levels() - b.size) <= max(2, 0.1 * b.size)


# ------------------------------------------------------- communication_barrier


def test_communication_barrier_known_values():
    cb = communication_barrier([0.1, 0.3, 0.6, 1.0], [0.2, 0.5, 0.1])
    assert isinstance(cb, CommunicationBarrier)
    np.testing.assert_allclose(cb.betas, [0.1, 0.3, 0.6, 1.0])
    np.testing.assert_allclose(cb.cumulative, [0.0, 0.2, 0.7, 0.8], rtol=1e-15)
    assert cb.cumulative[0] == 0.0 and cb.total == pytest.approx(0.8, rel=1e-15)
    assert cb.total == cb.cumulative[-1]
    np.testing.assert_allclose(cb([0.1, 0.2, 0.45, 0.8, 1.0]), [0.0, 0.1, 0.45, 0.75, 0.8])
    np.testing.assert_allclose(cb.inverse([0.0, 0.1, 0.45, 0.75, cb.total]),
                               [0.1, 0.2, 0.45, 0.8, 1.0], rtol=1e-14)
    assert cb.suggested_levels() == 3  # ceil(1.6) + 1
    assert not cb.cumulative.flags.writeable


def test_suggested_levels():
    def levels(r):
        return communication_barrier(np.linspace(0.1, 1, len(r) + 1), r).suggested_levels()
    assert levels([0.0, 0.0]) == 2
    assert levels([0.1]) == 2  # ceil(0.2) + 1
    assert levels([0.5, 0.5, 0.5]) == 4  # 2 Lambda = 3 exactly
    assert levels([0.1] * 15) == 4  # 2 Lambda = 3 up to rounding
    assert levels([0.9] * 10) == 19


def test_inverse_on_flat_pieces_takes_the_midpoint():
    cb = communication_barrier([0.1, 0.2, 0.4, 0.7, 1.0], [0.0, 0.5, 0.0, 0.5])
    np.testing.assert_allclose(cb.inverse([0.0, 0.25, 0.5, 0.75, 1.0]),
                               [0.15, 0.3, 0.55, 0.85, 1.0], rtol=1e-15)
    with pytest.raises(ValueError, match="values"):
        cb.inverse(1.5)
    with pytest.raises(ValueError, match="beta"):
        cb(0.05)


@pytest.mark.parametrize("rejection, error, message", [
    ([0.1, 0.2], ValueError, "length 3"),
    ([0.1, 0.2, 0.3, 0.4], ValueError, "length 3"),
    ([0.1, -0.01, 0.3], ValueError, r"\[0, 1\]"),
    ([0.1, 1.01, 0.3], ValueError, r"\[0, 1\]"),
    ([0.1, np.nan, 0.3], ValueError, "finite"),
    ([0.1, np.inf, 0.3], ValueError, "finite"),
    ([[0.1, 0.2, 0.3]], ValueError, "1-D"),
    (["a", "b", "c"], TypeError, "rejection"),
])
def test_bad_rejection_errors(rejection, error, message):
    betas = [0.1, 0.3, 0.6, 1.0]
    for fn in (communication_barrier, equalize):
        with pytest.raises(error, match=message) as info:
            fn(betas, rejection)
        assert "rejection" in str(info.value)


def test_bad_ladder_errors_through_barrier_and_equalize():
    for fn in (communication_barrier, equalize):
        with pytest.raises(ValueError, match="betas"):
            fn([0.3, 0.1, 1.0], [0.1, 0.1])


# -------------------------------------------------------------------- equalize


@pytest.mark.parametrize("betas", [geometric(0.01, 12), np.linspace(0.05, 1, 9),
                                   [0.02, 0.03, 0.5, 0.51, 0.9, 1.0]])
@pytest.mark.parametrize("r", [0.0, 1e-6, 0.3, 1.0])
def test_equalize_constant_rejection_is_a_fixed_point(betas, r):
    betas = np.asarray(betas, dtype=float)
    out = equalize(betas, np.full(betas.size - 1, r))
    np.testing.assert_allclose(out, betas, rtol=0, atol=1e-12)
    assert_valid_ladder(out, betas.size, betas[0])


@pytest.mark.parametrize("beta_min, n, scale", [(0.01, 100, 1.0), (0.01, 16, 0.4), (0.1, 10, 1.0)])
def test_equalize_iterates_to_the_ladder_that_equalizes_the_barrier(beta_min, n, scale):
    """Local barrier lambda(beta) = scale / beta, so Lambda(beta) = scale log(beta / beta_min):
    rejection between neighbours is the integral of lambda over the gap.  Equal spacing in
    Lambda is equal spacing in log beta, so equalize must converge to the geometric ladder."""
    def rejection(b):
        return scale * np.diff(np.log(b))

    betas = np.linspace(beta_min, 1.0, n)
    assert np.all(rejection(betas) <= 1.0)
    target = geometric(beta_min, n)
    errors = []
    for _ in range(5):
        betas = equalize(betas, rejection(betas))
        assert_valid_ladder(betas, n, beta_min)
        errors.append(np.max(np.abs(betas / target - 1.0)))
    assert errors[-1] < 1e-3, errors
    assert all(e1 < e0 for e0, e1 in zip(errors, errors[1:])), errors  # converging


def test_equalize_places_levels_where_the_barrier_is():
    betas = np.linspace(0.1, 1.0, 10)
    r = np.zeros(9)
    r[4] = 0.9  # all the barrier between 0.5 and 0.6
    out = equalize(betas, r, n=5)
    np.testing.assert_allclose(out, [0.1, 0.525, 0.55, 0.575, 1.0], rtol=1e-14)


@pytest.mark.parametrize("rejection", [
    [0.0, 0.5, 0.0, 0.3, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.7],
    [0.7, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [1e-300, 0.0, 1e-300, 0.0, 1e-300],
    [1.0, 1.0, 0.0, 1.0, 1.0],
])
@pytest.mark.parametrize("n", [None, 2, 3, 4, 6, 11, 40])
def test_equalize_strictly_increasing_with_fixed_endpoints(rejection, n):
    betas = np.array([0.05, 0.1, 0.2, 0.4, 0.8, 1.0])
    before = betas.copy()
    out = equalize(betas, rejection, n=n)
    assert_valid_ladder(out, betas.size if n is None else n, 0.05)
    np.testing.assert_array_equal(betas, before)  # input untouched
    cb = communication_barrier(betas, rejection)
    if cb.total > 0 and n is not None and n > 2:
        # even spacing in Lambda, wherever Lambda is strictly increasing at the new level
        np.testing.assert_allclose(np.diff(cb(out)), cb.total / (n - 1), rtol=1e-9, atol=1e-300)


def test_equalize_nudges_float64_ties_apart():
    tiny = np.nextafter(0.5, 1.0)  # a gap of one ulp holds the whole barrier
    betas = np.array([0.5, tiny, 1.0])
    out = equalize(betas, [1.0, 0.0], n=6)
    assert_valid_ladder(out, 6, 0.5)
    ulp = tiny - 0.5
    np.testing.assert_array_equal(out[:5], 0.5 + ulp * np.arange(5))
    with pytest.raises(ValueError, match="do not fit"):
        equalize([np.nextafter(1.0, 0.0), 1.0], [0.5], n=3)


@pytest.mark.parametrize("n, error", [(1, ValueError), (2.5, TypeError), (np.True_, TypeError)])
def test_equalize_bad_n(n, error):
    with pytest.raises(error, match="n"):
        equalize([0.1, 0.5, 1.0], [0.2, 0.2], n=n)


def test_check_ladder_from_zero_none_takes_either_ladder_by_its_first_level():
    np.testing.assert_array_equal(check_ladder([0.0, 0.5, 1.0], from_zero=None),
                                  [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(check_ladder([0.1, 0.5, 1.0], from_zero=None),
                                  [0.1, 0.5, 1.0])
    with pytest.raises(ValueError, match="must be > 0"):
        check_ladder([0.0, 0.0, 1.0], from_zero=None)
    with pytest.raises(ValueError, match="must be > 0"):
        check_ladder([-0.1, 0.5, 1.0], from_zero=None)
