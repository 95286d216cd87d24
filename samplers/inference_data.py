"""The output format of every run, and its conversion to ArviZ ``InferenceData``.

The one module that knows the layout of a run's output and the only one
that imports arviz (lazily: it takes seconds, so ``import samplers`` stays
fast).  Every other module reads and writes the output through the names
below:

* groups: ``posterior`` and ``sample_stats`` (``(chain, draw, *event)``,
  ArviZ's stat names ``lp``, ``acceptance_rate``, ``step_size``,
  ``diverging``), ``warmup_posterior`` and ``warmup_sample_stats`` (when the
  warm-up is saved), ``sampler_state`` (the final state that ``resume``
  continues from), ``tempering`` (run diagnostics of the tempering samplers,
  :func:`tempering_group`) and ``matrix_summary`` (``MatrixLangevin``);
* the run's attributes (:class:`RunAttr`), attached to every group and read
  back with their types by :func:`run_attrs`;
* the variables of the ``tempering`` group (:class:`TemperingVar`).

:func:`concat` joins a run and its continuations (``Sampler.resume``) into
the output of one run.
"""
import json
import warnings

import numpy as np

__all__ = ["arviz", "to_inference_data", "concat", "run_attrs", "tempering_group", "flat_draws",
           "UNCONSTRAINED_POSTERIOR",
           "swap_rejection", "POSTERIOR", "SAMPLE_STATS", "WARMUP_POSTERIOR",
           "WARMUP_SAMPLE_STATS", "SAMPLER_STATE", "TEMPERING", "MATRIX_SUMMARY", "RunAttr",
           "TemperingVar"]

# -- names -------------------------------------------------------------------------------------

POSTERIOR = "posterior"
SAMPLE_STATS = "sample_stats"
#: The flat points themselves, stored for targets whose posterior variables are not
#: their pieces (PyMC models: constrained values, deterministics), as variable ``x``.
UNCONSTRAINED_POSTERIOR = "unconstrained_posterior"
WARMUP_POSTERIOR = "warmup_posterior"
WARMUP_SAMPLE_STATS = "warmup_sample_stats"
SAMPLER_STATE = "sampler_state"
TEMPERING = "tempering"
MATRIX_SUMMARY = "matrix_summary"
#: Groups that are not ArviZ's own (added with ``add_groups``).
CUSTOM_GROUPS = (SAMPLER_STATE, TEMPERING, MATRIX_SUMMARY)
#: Groups of the warm-up: only a fresh run has them.
WARMUP_GROUPS = (WARMUP_POSTERIOR, WARMUP_SAMPLE_STATS)


class RunAttr:
    """Names of the run's attributes (on every group); :func:`run_attrs` reads them typed."""

    SAMPLER = "sampler"                    # str: the sampler's name
    SAMPLER_SETTINGS = "sampler_settings"  # dict: its constructor arguments (stored as JSON)
    SEED = "seed"                          # int (stored as a string: it may exceed int64)
    SAMPLERS_VERSION = "samplers_version"  # str
    SAMPLING_TIME = "sampling_time"        # float: seconds inside the compiled loop
    TUNING_STEPS = "tuning_steps"          # int: warm-up steps
    THIN = "thin"                          # int
    CHAINS = "chains"                      # int
    TARGET = "target"                      # str: the target's fingerprint (Target.fingerprint)
    PATH = "path"                          # str, tempering only: the path that ran ("classic",
    #                                        "modes", "variational" or the reference's type:fingerprint)


#: The type each run attribute is read back as.
_ATTR_TYPES = {RunAttr.SAMPLER: str, RunAttr.SAMPLER_SETTINGS: json.loads, RunAttr.SEED: int,
               RunAttr.SAMPLERS_VERSION: str, RunAttr.SAMPLING_TIME: float,
               RunAttr.TUNING_STEPS: int, RunAttr.THIN: int, RunAttr.CHAINS: int,
               RunAttr.TARGET: str, RunAttr.PATH: str}


class TemperingVar:
    """Names of the variables of the ``tempering`` group (see :func:`tempering_group`)."""

    BETA = "beta"
    LOG_Z = "log_z"
    LOG_Z_SE = "log_z_se"
    OCCUPANCY = "occupancy"
    SWAP_ACCEPTANCE = "swap_acceptance"
    SWAP_ATTEMPTS = "swap_attempts"
    ROUND_TRIPS = "round_trips"
    STEPS = "steps"
    COMMUNICATION_BARRIER = "communication_barrier"
    SUGGESTED_LEVELS = "suggested_levels"
    STONE_LOG_SUM = "stone_log_sum"
    STONE_COUNT = "stone_count"
    STONE_LOG_SUM_SQ = "stone_log_sum_sq"
    STONE_REVERSE_LOG_SUM = "stone_reverse_log_sum"
    STONE_REVERSE_COUNT = "stone_reverse_count"
    STONE_REVERSE_LOG_SUM_SQ = "stone_reverse_log_sum_sq"
    LOG_Z_REVERSE = "log_z_reverse"
    LOG_Z_REVERSE_SE = "log_z_reverse_se"
    STONE_DISAGREEMENT = "stone_disagreement"
    OVERLAP_ESS = "overlap_ess"
    OVERLAP_MIN_ESS = "overlap_min_ess"
    LOG_Z_UNTRUSTED = "log_z_untrusted"
    LOG_Z_TRUSTED = "log_z_trusted"
    LOG_WEIGHTS = "log_weights"
    LEVEL_TRACE = "level_trace"
    #: On a reference path (``beta_0 = 0``, ``Z(0) = 1``): log of the integral of p.
    LOG_EVIDENCE = "log_evidence"
    LOG_EVIDENCE_SE = "log_evidence_se"
    #: ``reference="modes"``: the modes discovered (``tempering.modes.mode_table``).
    MODE_LOCATION = "mode_location"
    MODE_LOG_P = "mode_log_p"
    MODE_LAPLACE_WEIGHT = "mode_laplace_weight"
    MODE_OCCUPANCY = "mode_occupancy"
    MODE_OCCUPANCY_SE = "mode_occupancy_se"
    #: The warm-up step of the discovery that found each mode (0: at the start), and the
    #: step of the last discovery (``tempering.modes.discovery_message``).
    MODE_FOUND_AT = "mode_found_at"
    LAST_DISCOVERY = "last_discovery"
    MODES = (MODE_LOCATION, MODE_LOG_P, MODE_LAPLACE_WEIGHT, MODE_OCCUPANCY, MODE_OCCUPANCY_SE,
             MODE_FOUND_AT, LAST_DISCOVERY)


def arviz():
    """Import ArviZ quietly (0.23 warns about its coming 1.0 refactor on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    return az


def run_attrs(idata):
    """The run's attributes (:class:`RunAttr`) with their types: a dict name -> value.

    ``idata`` is a run's ``InferenceData`` (read from its posterior) or one of
    its groups (every group carries them).  Attributes the run does not have
    are left out.
    """
    attrs = idata[POSTERIOR].attrs if hasattr(idata, "groups") else idata.attrs
    return {name: read(attrs[name]) for name, read in _ATTR_TYPES.items() if name in attrs}


def _encode_attrs(attrs):
    """NetCDF attributes hold numbers and strings only: the rest is stored as JSON."""
    return {key: json.dumps(value) if isinstance(value, (bool, dict, list, tuple)) or value is None
            else value for key, value in attrs.items()}


# -- writing a run -----------------------------------------------------------------------------

def to_inference_data(target, posterior, sample_stats, warmup_posterior, warmup_sample_stats,
                      state, attrs, diagnostics=None):
    """Build the ``InferenceData`` of a run.

    ``posterior`` is ``(chain, draw, dim)``, the flat points; the
    ``posterior`` group holds the target's variables at them
    (``target.posterior``: the pieces of ``x``, or for a PyMC model its
    constrained values and deterministics), with the axes named by each
    variable's ``dims`` and labelled by ``target.coords``.  ``sample_stats``
    and ``warmup_sample_stats`` map stat names to ``(chain, draw)`` arrays;
    ``warmup_*`` are ``None`` when warm-up is not saved.  ``state`` maps names
    to arrays with a leading chain axis, and ``attrs`` (:class:`RunAttr`,
    JSON-encodable values) are attached to every group.  ``diagnostics``, when
    given, maps names to ``(dims, array)`` (:func:`tempering_group`) and
    becomes the ``tempering`` group; ``target.data_groups()`` (observed data)
    become groups too.
    """
    az = arviz()
    import xarray as xr

    chains = posterior.shape[0]
    flat = _encode_attrs(attrs)
    groups = {POSTERIOR: _variables(target, posterior), SAMPLE_STATS: _dataset(sample_stats)}
    if not target.posterior_is_flat:
        groups[UNCONSTRAINED_POSTERIOR] = _dataset({"x": posterior})
    if warmup_posterior is not None:
        groups[WARMUP_POSTERIOR] = _variables(target, warmup_posterior)
        groups[WARMUP_SAMPLE_STATS] = _dataset(warmup_sample_stats)
    for group, variables in target.data_groups().items():
        groups[group] = _dataset({key: value for key, (_, value) in variables.items()},
                                 {key: dims for key, (dims, _) in variables.items()},
                                 target.coords, draws=False)
    # Built directly rather than by arviz.from_dict (same layout and names: an
    # integer coordinate for every unlabelled dimension, "<var>_dim_<i>" for unnamed
    # event axes), which costs ~8 ms a call: that adds up over the many short runs of a sweep.
    idata = az.InferenceData(**groups)
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


def flat_draws(idata, target):
    """The draws of a run as the target's flat points, ``(chain, draw, dim)``: the
    inverse of ``target.posterior`` (the posterior variables, concatenated in the
    order of ``target.variables``), or the ``unconstrained_posterior`` group where
    the run stored them (a PyMC model).  Raises ``ValueError`` naming the missing
    variables when ``idata`` is not a run of ``target``."""
    if UNCONSTRAINED_POSTERIOR in idata.groups():
        x = idata[UNCONSTRAINED_POSTERIOR]["x"].values
    else:
        posterior = idata[POSTERIOR]
        missing = [v.name for v in target.variables if v.name not in posterior]
        if missing:
            raise ValueError(f"idata has no posterior variable(s) {missing} of the target; it "
                             f"has {list(map(str, posterior.data_vars))}")
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        x = np.concatenate([posterior[v.name].values.reshape(chains, draws, -1)
                            for v in target.variables], axis=-1)
    if x.shape[-1] != target.dim:
        raise ValueError(f"idata's draws have {x.shape[-1]} coordinates, the target {target.dim}")
    return x


def _variables(target, points):
    """The dataset of the target's posterior variables at ``points`` ``(chain, draw, dim)``."""
    values = target.posterior(points)
    return _dataset(values, {v.name: v.dims for v in target.variables}, target.coords)


def _dataset(variables, dims=None, coords=None, draws=True):
    """An ``xarray.Dataset`` of ``(chain, draw, *event)`` arrays (``draws=False``: of
    ``event`` arrays), as ArviZ lays them out.

    ``dims`` maps a variable to the names of its event axes (default
    ``"<var>_dim_<i>"``), ``coords`` an axis to its labels (default ``0, 1, ...``).
    """
    import xarray as xr
    from datetime import datetime, timezone

    dims = dims or {}
    coords = coords or {}
    lead = ["chain", "draw"] if draws else []
    axes = {}
    data_vars = {}
    for key, value in variables.items():
        value = np.asarray(value)
        event = dims.get(key) or [f"{key}_dim_{i}" for i in range(value.ndim - len(lead))]
        names = lead + list(event)
        for dim, size in zip(names, value.shape):
            axes[dim] = coords[dim] if dim in coords else np.arange(size)
        data_vars[key] = (names, value)
    attrs = {"created_at": datetime.now(timezone.utc).isoformat(),
             "arviz_version": arviz().__version__}
    return xr.Dataset(data_vars, coords=axes, attrs=attrs)


# -- the tempering group -----------------------------------------------------------------------

def swap_rejection(accepted, attempts):
    """Rejection rate ``r_i = 1 - accepted_i / attempts_i`` of every neighbouring pair.

    ``accepted`` sums the acceptance probabilities of the pair's attempted
    swaps (or level moves), pooled over chains; a pair never attempted
    counts as rejected (``r = 1``: no evidence that the levels communicate).
    """
    accepted = np.asarray(accepted, dtype=np.float64)
    attempts = np.asarray(attempts, dtype=np.float64)
    acceptance = np.divide(accepted, attempts, out=np.zeros_like(accepted), where=attempts > 0)
    return np.clip(1.0 - acceptance, 0.0, 1.0)


def tempering_group(betas, swap_accepted, swap_attempts, occupancy, round_trips, steps, stone,
                    log_weights=None, level_trace=None, stone_reverse=None):
    """The ``tempering`` group of a run, from its raw sums: a dict name -> ``(dims, array)``.

    Parameters (``C`` chains, ``L`` levels, ``B`` batches)
    ------------------------------------------------------
    betas : (L,)
        The ladder.
    swap_accepted, swap_attempts : (L-1,)
        Per neighbouring pair, the sum of the acceptance probabilities of the
        swaps (or level moves) attempted after warm-up, and their number,
        pooled over chains.
    occupancy : (L,)
        Visits of every level after warm-up (any scale: normalised here).
    round_trips, steps : (C,)
        Round trips after warm-up, and run steps (warm-up included).
    stone : (C, L, B, 4)
        The stepping-stone sums of the engine (``Accumulators.stone``):
        running maximum ``m``, scaled sum ``s``, count ``n`` and scaled sum of
        squares ``s2`` of ``exp(v)``, ``v = (beta_{i+1} - beta_i) log p`` at
        level ``i`` in batch ``b`` (the older layout ``(m, s, n)`` is read too).
    log_weights : (C, L), optional
        Simulated tempering: the weights.
    level_trace : (C, T), optional
        Simulated tempering: the level every ``thin`` steps (-1: none).
    stone_reverse : (C, L, B, 4), optional
        The same sums of ``v = -(beta_i - beta_{i-1}) log p`` at level ``i``
        (``Accumulators.stone_reverse``): the reverse stepping stone.

    Derived here, and nowhere else: ``log_z`` with ``log_z_se``
    (``tempering.evidence.log_z``), ``occupancy`` as fractions,
    ``swap_acceptance = accepted / attempts`` (0 where never attempted), the
    communication barrier ``Lambda = sum_i r_i`` with ``r_i`` the rejection
    (:func:`swap_rejection`, ``ladders.communication_barrier``) and the
    suggested number of levels, about ``2 Lambda``.  The stepping-stone sums
    are kept as ``stone_log_sum = m + log s = log sum exp(v)`` and
    ``stone_count = n`` per ``(chain, level, batch)``, so that
    :func:`concat` can pool log Z over parts exactly.

    With ``stone_reverse``, also the reverse estimate ``log_z_reverse`` (with
    ``log_z_reverse_se``) and the check of ``tempering.evidence.check_evidence``
    per pair: ``stone_disagreement`` (forward against reverse, in standard
    errors of their difference), ``overlap_ess`` (effective draws of the
    forward importance weights) against the ``overlap_min_ess`` it needs, and
    ``log_z_untrusted``; ``log_z_trusted`` is
    False when any pair failed (``Sampler.sample`` then warns), and the
    sums ``stone_log_sum_sq`` and ``stone_reverse_*`` are kept for :func:`concat`.
    """
    from . import ladders
    from .tempering.evidence import check_evidence, log_z, log_z_reverse, stone_sums

    V = TemperingVar
    betas = np.array(betas, dtype=np.float64)
    accepted = np.asarray(swap_accepted, dtype=np.float64)
    attempts = np.array(swap_attempts, dtype=np.float64)
    occupancy = np.asarray(occupancy, dtype=np.float64)
    rel, se = log_z(stone)
    log_sum, count, log_sq = stone_sums(stone)
    barrier = (ladders.communication_barrier(betas, swap_rejection(accepted, attempts))
               if betas.size > 1 else None)
    out = {
        V.BETA: (("level",), betas),
        V.LOG_Z: (("level",), rel),
        V.LOG_Z_SE: (("level",), se),
        V.OCCUPANCY: (("level",), occupancy / max(occupancy.sum(), 1.0)),
        V.SWAP_ACCEPTANCE: (("pair",), np.divide(accepted, attempts, out=np.zeros_like(accepted),
                                                 where=attempts > 0)),
        V.SWAP_ATTEMPTS: (("pair",), attempts),
        V.ROUND_TRIPS: (("chain",), np.array(round_trips)),
        V.STEPS: (("chain",), np.array(steps)),
        V.COMMUNICATION_BARRIER: ((), float(barrier.total) if barrier else 0.0),
        V.SUGGESTED_LEVELS: ((), int(barrier.suggested_levels()) if barrier else 1),
        V.STONE_LOG_SUM: (("chain", "level", "batch"), log_sum),
        V.STONE_COUNT: (("chain", "level", "batch"), count),
    }
    if stone_reverse is not None:
        stone_reverse = np.asarray(stone_reverse, dtype=np.float64)
        rel_r, se_r = log_z_reverse(stone_reverse)
        check = check_evidence(stone, stone_reverse, betas)
        log_sum_r, count_r, log_sq_r = stone_sums(stone_reverse)
        sums = ("chain", "level", "batch")
        out.update({
            V.LOG_Z_REVERSE: (("level",), rel_r),
            V.LOG_Z_REVERSE_SE: (("level",), se_r),
            V.STONE_DISAGREEMENT: (("pair",), check.disagreement),
            V.OVERLAP_ESS: (("pair",), check.overlap_ess),
            V.OVERLAP_MIN_ESS: (("pair",), check.min_ess),
            V.LOG_Z_UNTRUSTED: (("pair",), check.untrusted),
            V.LOG_Z_TRUSTED: ((), check.trusted),
            V.STONE_LOG_SUM_SQ: (sums, log_sq),
            V.STONE_REVERSE_LOG_SUM: (sums, log_sum_r),
            V.STONE_REVERSE_COUNT: (sums, count_r),
            V.STONE_REVERSE_LOG_SUM_SQ: (sums, log_sq_r),
        })
    if betas[0] == 0.0:
        # A reference path: Z(0) = 1, so -log Z(0) + log Z(1) is the absolute evidence.
        out[V.LOG_EVIDENCE] = ((), -float(rel[0]))
        out[V.LOG_EVIDENCE_SE] = ((), float(se[0]))
    if log_weights is not None:
        out[V.LOG_WEIGHTS] = (("chain", "level"), np.array(log_weights))
    if level_trace is not None:
        out[V.LEVEL_TRACE] = (("chain", "trace_step"), np.array(level_trace))
    return out


def _merge_tempering(groups, main_steps):
    """One ``tempering`` group from those of a run and its continuations (in order).

    ``main_steps[k]`` is the steps after warm-up of part ``k``, all chains
    together (the weight of its occupancy).  Sums are added (swap attempts
    and accepted swaps, round trips, steps), occupancy is averaged with
    weights ``main_steps``, the stepping-stone sums are joined along the
    batches (log Z is the estimate of one run over every part's draws, its
    standard error by batch means over all the batches), ``log_weights`` are
    the last part's and ``level_trace`` is each chain's recorded entries of
    every part, in order.  The derived figures come from :func:`tempering_group`.
    """
    import xarray as xr
    from .tempering.evidence import stone_from_sums

    V = TemperingVar
    last = groups[-1]
    betas = last[V.BETA].values
    for k, group in enumerate(groups[:-1]):
        if not np.array_equal(group[V.BETA].values, betas):
            raise ValueError(f"parts 0..{len(groups) - 1} must share one ladder: part {k} has betas "
                             f"{group[V.BETA].values.tolist()}, part {len(groups) - 1} "
                             f"{betas.tolist()}")
    attempts = sum(g[V.SWAP_ATTEMPTS].values for g in groups)
    accepted = sum(g[V.SWAP_ACCEPTANCE].values * g[V.SWAP_ATTEMPTS].values for g in groups)
    occupancy = sum(g[V.OCCUPANCY].values * w for g, w in zip(groups, main_steps))
    pooled = all(V.STONE_LOG_SUM in g for g in groups)
    extra = {}

    def joined(name):
        return np.concatenate([g[name].values for g in groups], axis=2)

    if pooled:
        squares = all(V.STONE_LOG_SUM_SQ in g for g in groups)
        stone = stone_from_sums(joined(V.STONE_LOG_SUM), joined(V.STONE_COUNT),
                                joined(V.STONE_LOG_SUM_SQ) if squares else None)
        if squares and all(V.STONE_REVERSE_LOG_SUM in g for g in groups):
            extra["stone_reverse"] = stone_from_sums(joined(V.STONE_REVERSE_LOG_SUM),
                                                     joined(V.STONE_REVERSE_COUNT),
                                                     joined(V.STONE_REVERSE_LOG_SUM_SQ))
    else:
        # Groups written before the stepping-stone sums were stored: no sums to pool.
        stone = np.zeros((last.sizes["chain"], betas.size, 1, 3))
        stone[..., 0] = -np.inf
    if V.LOG_WEIGHTS in last:
        extra["log_weights"] = last[V.LOG_WEIGHTS].values
    if V.LEVEL_TRACE in last:
        extra["level_trace"] = _join_traces([g[V.LEVEL_TRACE].values for g in groups])
    out = tempering_group(betas, accepted, attempts, occupancy,
                          sum(g[V.ROUND_TRIPS].values for g in groups),
                          sum(g[V.STEPS].values for g in groups), stone, **extra)
    if not pooled:
        out[V.LOG_Z], out[V.LOG_Z_SE] = _inverse_variance(groups)
        del out[V.STONE_LOG_SUM], out[V.STONE_COUNT]
    for name in V.MODES:  # found during the first part's warm-up
        if name in groups[0]:
            out[name] = groups[0][name]
    return xr.Dataset(out, attrs=dict(last.attrs))


def _inverse_variance(groups):
    """Per level, the inverse-variance weighted mean of the parts' ``log_z`` and its se.

    For groups without the stepping-stone sums: the parts are consecutive
    stretches of the same chains, nearly independent when much longer than
    the autocorrelation time.  NaN where a part has no finite estimate.
    """
    V = TemperingVar
    values = np.array([g[V.LOG_Z].values for g in groups])
    se = np.array([g[V.LOG_Z_SE].values for g in groups])
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = 1.0 / se ** 2
        mean = np.sum(weights * values, axis=0) / np.sum(weights, axis=0)
        pooled_se = 1.0 / np.sqrt(np.sum(weights, axis=0))
    exact = np.all(se == 0, axis=0)   # the top level: log Z(1) - log Z(1) = 0 in every part
    mean[exact] = values[-1, exact]
    pooled_se[exact] = 0.0
    return (("level",), mean), (("level",), pooled_se)


def _join_traces(traces):
    """Per chain, the recorded entries (>= 0) of every part in order, padded with -1."""
    joined = np.full((traces[0].shape[0], sum(t.shape[1] for t in traces)), -1, dtype=np.int64)
    for c in range(joined.shape[0]):
        entries = np.concatenate([t[c][t[c] >= 0] for t in traces])
        joined[c, :entries.size] = entries
    return joined


# -- joining parts -----------------------------------------------------------------------------

def concat(first, *more):
    """Join a run and its continuations (``Sampler.resume``) into the output of one run.

    * Groups with a ``draw`` dimension are concatenated along it; the
      warm-up groups (a fresh run's only) are the first part's.
    * ``sample_stats.n_steps`` (simulated tempering: steps since the
      previous draw) runs on across a join: the steps a part made after its
      last draw are added to the next part's first draw.
    * ``tempering`` diagnostics are pooled over the parts (see
      :func:`_merge_tempering`): for a continuation, the diagnostics of one
      run of the combined length, with log Z to rounding and its standard
      error by batch means over every part's batches.
    * ``sampler_state``, ``matrix_summary`` and the attributes are the last
      part's, so the result can be resumed again, except ``tuning_steps``
      (the first part's) and ``sampling_time`` (the sum over parts).

    Raises ``ValueError`` before any work if the parts differ in their
    number of chains or only some have a ``tempering`` group.
    """
    az = arviz()
    import xarray as xr

    parts = (first,) + more
    for k, part in enumerate(parts):
        if not isinstance(part, az.InferenceData) or POSTERIOR not in part.groups():
            raise TypeError(f"concat: part {k} must be an InferenceData with a posterior, "
                            f"got {type(part).__name__}")
    chains = [part[POSTERIOR].sizes["chain"] for part in parts]
    if len(set(chains)) > 1:
        raise ValueError("concat: the parts must have the same number of chains, got "
                         + ", ".join(f"part {k}: {n}" for k, n in enumerate(chains)))
    tempered = [TEMPERING in part.groups() for part in parts]
    if any(tempered) and not all(tempered):
        raise ValueError("concat: only parts " + str([k for k, t in enumerate(tempered) if t])
                         + " have a tempering group: join the parts of one tempering run")

    attrs = [run_attrs(part) for part in parts]
    joined_attrs = {}
    if all(RunAttr.TUNING_STEPS in a for a in attrs):
        joined_attrs[RunAttr.TUNING_STEPS] = attrs[0][RunAttr.TUNING_STEPS]
    if all(RunAttr.SAMPLING_TIME in a for a in attrs):
        joined_attrs[RunAttr.SAMPLING_TIME] = sum(a[RunAttr.SAMPLING_TIME] for a in attrs)

    groups = {}
    for group in parts[-1].groups():
        if group in WARMUP_GROUPS:
            continue
        last = parts[-1][group]
        if "draw" in last.dims:
            joined = xr.concat([p[group] for p in parts], dim="draw", data_vars="all",
                               coords="minimal", compat="override", join="override")
            joined = joined.assign_coords(draw=np.arange(joined.sizes["draw"]))
        elif group == TEMPERING:
            joined = _merge_tempering([p[group] for p in parts],
                                      [_main_steps(p, a) for p, a in zip(parts, attrs)])
        else:
            joined = last.copy()
        joined.attrs = {**last.attrs, **joined_attrs}
        groups[group] = joined
    for group in WARMUP_GROUPS:
        if group in first.groups():
            groups[group] = first[group].copy()
            groups[group].attrs.update(joined_attrs)
    if TEMPERING in groups and "n_steps" in groups[SAMPLE_STATS]:
        _run_on_n_steps(groups[SAMPLE_STATS]["n_steps"], parts, attrs)
    custom = {name: groups.pop(name) for name in CUSTOM_GROUPS if name in groups}
    idata = az.InferenceData(**groups)
    if custom:
        idata.add_groups(custom)
    return idata


def _main_steps(part, attrs):
    """Steps after warm-up of a tempering part, all chains together."""
    steps = part[TEMPERING][TemperingVar.STEPS].values
    return float(np.sum(steps - attrs.get(RunAttr.TUNING_STEPS, 0)))


def _run_on_n_steps(n_steps, parts, attrs):
    """Add to each continuation's first ``n_steps`` the steps its previous part made after
    its last draw (a resumed run counts from the resume)."""
    values = n_steps.values.copy()
    first = 0
    for previous, a in zip(parts[:-1], attrs[:-1]):
        first += previous[POSTERIOR].sizes["draw"]
        tail = (previous[TEMPERING][TemperingVar.STEPS].values - a.get(RunAttr.TUNING_STEPS, 0)
                - previous[SAMPLE_STATS]["n_steps"].values.sum(axis=1))
        values[:, first] += tail
    n_steps.values[:] = values
