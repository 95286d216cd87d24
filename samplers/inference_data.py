"""Conversion of sampler output to ArviZ ``InferenceData``: the only module that imports arviz.

ArviZ is imported lazily (it takes seconds), so ``import samplers`` stays
fast.  Arrays arrive as ``(chain, draw, *event)``; stat names follow ArviZ's
conventions (``lp``, ``acceptance_rate``, ``step_size``, ``diverging``).  The
final state needed to continue a run goes into a ``sampler_state`` group.
"""
import json
import warnings

import numpy as np

__all__ = ["arviz", "to_inference_data", "concat", "SAMPLER_STATE"]

SAMPLER_STATE = "sampler_state"
TEMPERING = "tempering"
MATRIX_SUMMARY = "matrix_summary"


def arviz():
    """Import ArviZ quietly (0.23 warns about its coming 1.0 refactor on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    return az


def to_inference_data(target, posterior, sample_stats, warmup_posterior, warmup_sample_stats,
                      state, attrs, diagnostics=None):
    """Build the ``InferenceData`` of a run.

    ``posterior`` is ``(chain, draw, dim)`` and is reshaped to the target's
    shape; ``sample_stats`` and ``warmup_sample_stats`` map stat names to
    ``(chain, draw)`` arrays; ``warmup_*`` are ``None`` when warm-up is not
    saved.  ``state`` maps names to arrays with a leading chain axis, and
    ``attrs`` (JSON-encodable values) are attached to every group.
    ``diagnostics``, when given, maps names to ``(dims, array)`` and becomes
    the ``tempering`` group (run-level diagnostics of tempering samplers).
    """
    az = arviz()
    import xarray as xr

    name, shape = target.name, target.shape
    chains = posterior.shape[0]
    flat = {}
    for key, value in attrs.items():
        # NetCDF attributes hold numbers and strings only.
        if isinstance(value, (bool, dict, list, tuple)) or value is None:
            flat[key] = json.dumps(value)
        else:
            flat[key] = value
    groups = {"posterior": {name: posterior.reshape(chains, posterior.shape[1], *shape)},
              "sample_stats": sample_stats}
    if warmup_posterior is not None:
        groups["warmup_posterior"] = {
            name: warmup_posterior.reshape(chains, warmup_posterior.shape[1], *shape)}
        groups["warmup_sample_stats"] = warmup_sample_stats
    # Built directly rather than by arviz.from_dict (same layout and names: an
    # integer coordinate for every dimension, "<var>_dim_<i>" for event axes),
    # which costs ~8 ms a call: that adds up over the many short runs of a sweep.
    idata = az.InferenceData(**{group: _dataset(variables) for group, variables in groups.items()})
    data_vars = {}
    for key, value in state.items():
        dims = ["chain"] + [f"{key}_dim_{i}" for i in range(value.ndim - 1)]
        data_vars[key] = (dims, value)
    dataset = xr.Dataset(data_vars, coords={"chain": range(chains)}, attrs=flat)
    idata.add_groups({SAMPLER_STATE: dataset})
    if diagnostics is not None:
        idata.add_groups({TEMPERING: xr.Dataset(diagnostics)})
    for group in idata.groups():
        idata[group].attrs.update(flat)
    return idata


def _dataset(variables):
    """An ``xarray.Dataset`` of ``(chain, draw, *event)`` arrays, as ArviZ lays them out."""
    import xarray as xr
    from datetime import datetime, timezone

    coords = {}
    data_vars = {}
    for key, value in variables.items():
        value = np.asarray(value)
        dims = ["chain", "draw"] + [f"{key}_dim_{i}" for i in range(value.ndim - 2)]
        for dim, size in zip(dims, value.shape):
            coords[dim] = np.arange(size)
        data_vars[key] = (dims, value)
    attrs = {"created_at": datetime.now(timezone.utc).isoformat(),
             "arviz_version": arviz().__version__}
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def concat(first, *more):
    """Join a run and its continuations (``Sampler.resume``) along ``draw``.

    Groups with a ``draw`` dimension are concatenated; ``sampler_state`` and
    the attributes come from the last part, so the result can be resumed
    again.
    """
    az = arviz()
    import xarray as xr

    parts = (first,) + more
    groups = {}
    for group in first.groups():
        datasets = [p[group] for p in parts]
        if "draw" in datasets[0].dims:
            joined = xr.concat(datasets, dim="draw", data_vars="all", coords="minimal",
                               compat="override", join="override")
            joined = joined.assign_coords(draw=np.arange(joined.sizes["draw"]))
        else:
            joined = datasets[-1]
        joined.attrs = dict(datasets[-1].attrs)
        groups[group] = joined
    custom = {name: groups.pop(name) for name in (SAMPLER_STATE, TEMPERING, MATRIX_SUMMARY)
              if name in groups}
    idata = az.InferenceData(**groups)
    if custom:
        idata.add_groups(custom)
    return idata
