"""A user's target is checked before the long work: dim, written gradient, gradient values."""
import numba
import numpy as np
import pytest

import samplers

from reference import precision_logp_grad


@numba.njit
def gaussian_mean(x, params, grad_out):
    mean, _ = params
    lp = 0.0
    for i in range(x.shape[0]):
        grad_out[i] = -(x[i] - mean[i])
        lp -= 0.5 * (x[i] - mean[i]) ** 2
    return lp


@numba.njit
def writes_past_the_end(x, params, grad_out):
    for i in range(x.shape[0] + 1):
        grad_out[i] = -x[min(i, x.shape[0] - 1)]
    return -0.5 * (x @ x)


@numba.njit
def never_writes(x, params, grad_out):
    return -0.5 * (x @ x)


@numba.njit
def half_gradient(x, params, grad_out):
    for i in range(x.shape[0]):
        grad_out[i] = -0.5 * x[i]
    return -0.5 * (x @ x)


@numba.njit
def scaled(x, params, grad_out):
    (scale,) = params
    s2 = scale[0] * scale[0]
    for i in range(x.shape[0]):
        grad_out[i] = -x[i] / s2
    return -0.5 * (x @ x) / s2


def test_dim_that_does_not_match_params_names_dim():
    with pytest.raises(ValueError, match="dim"):
        samplers.Target(precision_logp_grad, 3, params=(np.eye(2),))


def test_params_shorter_than_dim_is_caught_by_the_bounds_check():
    with pytest.raises(ValueError, match="IndexError.*dim=5"):
        samplers.Target(gaussian_mean, 5, params=(np.zeros(2), np.eye(2)))


def test_writing_past_grad_out_is_caught():
    with pytest.raises(ValueError, match="IndexError"):
        samplers.Target(writes_past_the_end, 2)


def test_a_gradient_never_written_is_caught():
    with pytest.raises(ValueError, match="did not write grad_out at \\[0, 1\\]"):
        samplers.Target(never_writes, 2)


def test_check_gradient_accepts_a_correct_gradient_at_any_scale():
    for scale in (1e-6, 1.0, 1e5):
        target = samplers.Target(scaled, 3, params=(np.array([scale]),))
        for x in (np.zeros(3), scale * np.array([0.3, -1.2, 2.0])):
            check = target.check_gradient(x)
            assert check.ok and check.max_relative_error < 1e-6


def test_check_gradient_rejects_a_wrong_gradient():
    target = samplers.Target(half_gradient, 2)
    with pytest.raises(ValueError, match="logp_grad.*finite differences"):
        target.check_gradient([0.3, -0.4])


def test_check_gradient_on_builtins():
    mixture = samplers.GaussianMixture([[0.0, 0.0], [6.0, 1.0]], covs=[0.5, 1.5], weights=[0.3, 0.7])
    assert mixture.check_gradient([3.0, 0.5]).ok
    assert samplers.Gaussian([1.0, 2.0], [[2.0, 0.3], [0.3, 1.0]]).check_gradient([0.0, 0.0]).ok


def test_check_gradient_argument_errors():
    target = samplers.Target(scaled, 3, params=(np.array([1.0]),))
    with pytest.raises(ValueError, match="dim=3"):
        target.check_gradient([0.0, 1.0])


@numba.njit
def always_raises(x, params, grad_out):
    raise ValueError("no density here")


def test_a_function_that_raises_is_reported_with_its_own_message():
    with pytest.raises(ValueError, match=r"logp_grad raised ValueError \(no density here\)") as info:
        samplers.Target(always_raises, 2)
    assert "check that dim" not in str(info.value)
