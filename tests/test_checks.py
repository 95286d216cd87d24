"""Argument checks shared by the constructors (_checks): values, types and messages."""
import numpy as np
import pytest

from samplers._checks import check_count, check_float_array, check_index_array


def test_check_count_bounds_and_messages():
    assert check_count(np.int32(3), "n", 1, maximum=3) == 3
    with pytest.raises(ValueError, match=r"^rank must be <= d = 4, got 5$"):
        check_count(5, "rank", maximum=4, maximum_name="d")
    with pytest.raises(ValueError, match=r"^n must be <= 4, got 5$"):
        check_count(5, "n", maximum=4)
    with pytest.raises(ValueError, match=r"^n must be >= 2, got 1$"):
        check_count(1, "n", 2)
    with pytest.raises(TypeError, match="n must be an int"):
        check_count(True, "n")


def test_check_float_array_copies_and_converts():
    user = np.array([[1, 2], [3, 4]])
    out = check_float_array(user, "M", ndim=2)
    assert out.dtype == np.float64 and out.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    out[0, 0] = 9.0
    assert user[0, 0] == 1  # a copy, never the caller's array


@pytest.mark.parametrize("values, kwargs, error, message", [
    ("1,2", {}, TypeError, "x must be an array of numbers, got str"),
    ([True, False], {}, TypeError, "x must be an array of real numbers"),
    ([1j], {}, TypeError, "x must be real, got complex values"),
    ([1.0, None], {}, TypeError, "x must be an array of real numbers"),
    ([[1.0], [1.0, 2.0]], {}, ValueError, "x must be an array of real numbers"),
    ([[1.0]], dict(ndim=1), ValueError, r"x must be 1-D, got shape \(1, 1\)"),
    ([], {}, ValueError, "x must not be empty"),
    ([1.0], dict(min_size=2), ValueError, "x must have at least 2 entries, got 1"),
    ([1.0, np.nan], {}, ValueError, r"x must be finite, got x\[1\] = nan"),
    ([[0.0, 1.0], [-np.inf, 2.0]], {}, ValueError, r"x must be finite, got x\[1, 0\] = -inf"),
])
def test_check_float_array_errors(values, kwargs, error, message):
    with pytest.raises(error, match=message):
        check_float_array(values, "x", **kwargs)


@pytest.mark.parametrize("values, error, message", [
    ([], ValueError, "rows must not be empty"),
    ([0.0, 1.0], TypeError, "rows must be an array of integers"),
    ([[0, 1]], ValueError, "rows must be 1-D"),
    ([0, 5], ValueError, r"rows must be in \[0, 5\), got values in \[0, 5\]"),
    ([-1, 2], ValueError, r"rows must be in \[0, 5\)"),
])
def test_check_index_array_errors(values, error, message):
    with pytest.raises(error, match=message):
        check_index_array(values, "rows", 5)


def test_check_index_array_returns_int64():
    out = check_index_array(np.array([0, 4], dtype=np.uint8), "rows", 5)
    assert out.dtype == np.int64 and out.tolist() == [0, 4]
