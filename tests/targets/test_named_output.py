"""Named output: ``Target(..., names=, dims=, coords=)`` makes the posterior the named
pieces of ``x`` (the mechanism ``from_pymc`` uses for the model's variables)."""
import numba
import numpy as np
import pytest

import samplers
from samplers.inference_data import flat_draws


@numba.njit(cache=True)
def standard_normal(x, params, grad_out):
    lp = 0.0
    for i in range(x.shape[0]):
        grad_out[i] = -x[i]
        lp -= 0.5 * x[i] * x[i]
    return lp


SCHOOLS = list("ABCDEFGH")


def named(**kwargs):
    return samplers.Target(standard_normal, 13, names={"mu": (), "theta": (8,), "L": (2, 2)},
                           **kwargs)


def test_the_pieces_of_x_in_order_with_their_dims_and_coords():
    target = named(dims={"theta": "school", "L": ("row", "col")},
                   coords={"school": SCHOOLS, "row": ["a", "b"]})
    assert target.name is None
    assert [v.name for v in target.variables] == ["mu", "theta", "L"]
    idata = samplers.Langevin().sample(target, draws=20, tune=50, chains=2, rng=1,
                                       progressbar=False, save_warmup=True,
                                       check_convergence=False)
    post = idata.posterior
    assert post["mu"].dims == ("chain", "draw")
    assert post["theta"].dims == ("chain", "draw", "school")
    assert post["L"].dims == ("chain", "draw", "row", "col")
    assert list(post["school"].values) == SCHOOLS
    assert list(post["row"].values) == ["a", "b"] and list(post["col"].values) == [0, 1]
    assert idata.warmup_posterior["theta"].dims == ("chain", "draw", "school")
    # The last draw is the final state: x = (mu, theta, L in C order).
    x = idata.sampler_state["x"].values[:, -1]
    last = post.isel(draw=-1)
    np.testing.assert_array_equal(last["mu"].values, x[:, 0])
    np.testing.assert_array_equal(last["theta"].values, x[:, 1:9])
    np.testing.assert_array_equal(last["L"].values, x[:, 9:].reshape(2, 2, 2))
    # ... and the draws read back as flat points (the inverse, for plots and mixing tools).
    flat = flat_draws(idata, target)
    np.testing.assert_array_equal(flat[:, -1], x)
    assert "unconstrained_posterior" not in idata.groups()  # the posterior is x itself


def test_plots_and_mixing_tools_read_named_draws():
    target = samplers.Target(standard_normal, 2, names={"a": (), "b": ()})
    idata = samplers.Langevin().sample(target, draws=30, tune=30, chains=2, rng=2,
                                       progressbar=False, check_convergence=False)
    ax = samplers.plots.plot_density_and_draws(target, idata)
    points = ax.collections[-1].get_offsets()
    np.testing.assert_array_equal(
        points, np.stack([idata.posterior["a"].values, idata.posterior["b"].values], -1).reshape(-1, 2))
    # The mixing laboratory runs chains on it and reads their positions back.
    reference = np.random.default_rng(0).standard_normal((400, 2))
    curve = samplers.mixing.distance_curve(
        samplers.Langevin(0.5), target, np.zeros((8, 2)), [0, 5, 20], metric="energy",
        reference=reference, n_boot=20, rng=1)
    assert np.all(np.isfinite(curve.distance))
    with pytest.raises(ValueError, match=r"no posterior variable\(s\) \['x'\]"):
        flat_draws(idata, samplers.Target(standard_normal, 2))


def test_default_is_one_x_with_arviz_axis_names():
    target = samplers.Target(standard_normal, (2, 3))
    assert target.name == "x"
    post = samplers.Langevin().sample(target, draws=5, tune=10, chains=2, rng=1,
                                      progressbar=False, check_convergence=False).posterior
    assert list(post.data_vars) == ["x"]
    assert post["x"].dims == ("chain", "draw", "x_dim_0", "x_dim_1")


def test_convergence_warnings_and_resume_use_the_names():
    target = named(dims={"theta": "school"}, coords={"school": SCHOOLS})
    sampler = samplers.Langevin()
    with pytest.warns(samplers.convergence.ConvergenceWarning, match=r"theta\[|mu|L\["):
        first = sampler.sample(target, draws=10, tune=20, chains=2, rng=3, progressbar=False)
    more = sampler.resume(first, target, draws=10, progressbar=False, check_convergence=False)
    joined = samplers.concat(first, more)
    assert joined.posterior["theta"].shape == (2, 20, 8)
    assert list(joined.posterior["school"].values) == SCHOOLS


def test_names_change_the_fingerprint():
    assert named().fingerprint() != samplers.Target(standard_normal, 13).fingerprint()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(names={"a": (), "b": (7,)}), ValueError, "pieces have 8 coordinates in all, dim has 13"),
    (dict(name="x", names={"a": (13,)}), TypeError, "name .* or names .*not both"),
    (dict(names={"a": (13,)}, dims={"b": ("z",)}), ValueError, r"dims names variables .*\['b'\]"),
    (dict(names={"a": (13,)}, coords={"z": [1]}), ValueError, "coords names an axis no variable has"),
    (dict(names={"a": (13,)}, dims={"a": "k"}, coords={"k": [1, 2]}), ValueError,
     r"coords\['k'\] must have 13 values"),
    (dict(names={"a": (13,)}, dims={"a": ("k", "l")}), ValueError, r"dims\['a'\] must name each"),
    (dict(names={"a": (3,), "b": (10,)}, dims={"a": "k", "b": "k"}), ValueError,
     "axis 'k' has length 3 in one variable and 10"),
    (dict(names={"a": (0,), "b": (13,)}), ValueError, r"names\['a'\]"),
    (dict(names={"2a": (13,)}), ValueError, "identifier"),
    (dict(names=[("a", 13)]), TypeError, "names must be a non-empty dict"),
    (dict(name=3), ValueError, "name must be an identifier string"),
])
def test_bad_names_are_refused_naming_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        samplers.Target(standard_normal, 13, **kwargs)
