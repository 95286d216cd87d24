"""Sweeps: mixing time over ladders and over separations, serial, on processes or on Dask.

A sweep is a grid of *configurations* times ``repeats``; each cell is one
*task*: build the sampler, run :func:`~samplers.mixing.distance_curve` from
the initial distribution, read the mixing time and the chain measures of
the same run.  The result is a tidy ``xarray.Dataset`` with one dimension
per swept setting plus ``repeat`` (and ``checkpoint`` for the curves); it
saves with ``ds.to_netcdf(path)``.

**Seeding.** Task ``i`` (its index in the grid, repeats innermost) draws
everything from ``numpy.random.SeedSequence(seed, spawn_key=(i,))``, and the
samplers' draws do not depend on the thread count, so the table is the same
whether the tasks run serially, on local processes
(``concurrent.futures.ProcessPoolExecutor`` with the "spawn" context: a
forked child would inherit numba's running thread pool) or on a Dask cluster
(``client.map`` + ``client.gather``, when a ``dask.distributed.Client`` is
passed; install the ``samplers[dask]`` extra).  Only the timings
(``sampling_time``, ``mixing_time_cpu_seconds``, ``ess_per_second``) are
measurements of the machine.

**Simulated tempering weights.** Each simulated-tempering task first runs a
short pilot (adaptive weights, 4 chains started from exact draws where the
target has them) and fixes ``log_weights = -log Z(beta)`` from its stepping-
stone estimate: the measured chain is then a fixed Markov chain, as in the
analysis of Ge, Lee and Risteski (arXiv 1812.00793), which assumes the
partition functions known.  The pilot's cost is in ``sampling_time`` but not
in the mixing time.

**Measures per task.** ``mixing_time`` (steps) with ``mixing_time_low`` and
``mixing_time_high`` (bootstrap interval), ``mixing_time_grad`` (gradient
evaluations: every replica counts), ``mixing_time_cpu_seconds``; the
``distance`` curve with its band; ``tunnelling_rate`` (mode switches per step,
mixtures); for tempering ``round_trip_rate`` (per step), ``swap_acceptance``
(mean over neighbouring pairs) and ``communication_barrier``; ``ess_per_second``
of the first coordinate (ArviZ ESS of the mean over the run's chains, over
the sampling time).
"""
import itertools
import os

import numpy as np

from .._checks import check_count, check_positive, plain
from ..inference_data import TEMPERING, RunAttr, TemperingVar, run_attrs
from .curve import check_checkpoints, check_level, curve_and_run, mixing_time
from .distance import METRICS, check_metric

__all__ = ["ladder_sweep", "separation_sweep", "make_ladder", "run_tasks", "SPACINGS", "METHODS"]

#: Ladder spacing rules (``make_ladder``).
SPACINGS = ("geometric", "linear", "temperature")
#: Samplers a sweep can run (the ``sampler`` dimension of its dataset).
METHODS = ("langevin", "simulated", "parallel")
#: Variables that are measurements of the machine, not functions of the seed.
TIMINGS = ("sampling_time", "mixing_time_cpu_seconds", "ess_per_second")
#: Pilot chains of simulated tempering.
PILOT_CHAINS = 4


def make_ladder(n_levels, beta_min, spacing="geometric"):
    """``n_levels`` inverse temperatures from ``beta_min`` to 1.

    ``"geometric"``: equal steps in ``log beta`` (``ladders.geometric``);
    ``"linear"``: equal steps in ``beta``; ``"temperature"``: equal steps in
    the temperature ``1 / beta``.
    """
    from .. import ladders

    n_levels = check_count(n_levels, "n_levels", minimum=2)
    beta_min = check_level(beta_min, "beta_min")
    if spacing == "geometric":
        return ladders.geometric(beta_min, n_levels)
    if spacing == "linear":
        betas = np.linspace(beta_min, 1.0, n_levels)
    elif spacing == "temperature":
        betas = 1.0 / np.linspace(1.0 / beta_min, 1.0, n_levels)
    else:
        raise ValueError(f"spacing must be one of {SPACINGS}, got {plain(spacing)!r}")
    betas[-1] = 1.0
    return ladders.check_ladder(betas)


def _component_draws(target, chains):
    """Default initial distribution: draws from the mixture's first component."""
    def draw(rng):
        return target.sample_component(0, chains, rng)
    return draw


def run_task(spec):
    """One cell of a sweep (a dict of settings) -> a dict of results.  Top-level: picklable."""
    from .. import Langevin, ParallelTempering, SimulatedTempering
    from .chain import autocorrelation_time, communication_barrier, round_trip_rate, tunnelling_rate
    from .kramers import two_well_mixture

    seed, index = spec["seed"], spec["index"]
    streams = [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, k)))
               for k in range(2)]
    target = spec["target"] if spec.get("target") is not None else two_well_mixture(
        spec["r"], spec["dim"])
    method, h = spec["method"], spec["step_size"]
    initial = spec["initial"] if spec["initial"] is not None else _component_draws(
        target, spec["chains"])
    pilot_time = 0.0
    if method == "langevin":
        sampler = Langevin(step_size=h, metropolis=spec["metropolis"])
    elif method == "parallel":
        sampler = ParallelTempering(betas=spec["betas"], step_size=h,
                                    steps_per_swap=spec["steps_per_swap"],
                                    metropolis=spec["metropolis"])
    else:
        pilot = SimulatedTempering(betas=spec["betas"], step_size=h,
                                   steps_per_swap=spec["steps_per_swap"],
                                   metropolis=spec["metropolis"], adapt_ladder=False)
        start = (target.sample(PILOT_CHAINS, streams[1]) if callable(getattr(target, "sample", None))
                 else None)
        run = pilot.sample(target, draws=spec["pilot_steps"], tune=spec["pilot_steps"],
                           chains=PILOT_CHAINS, rng=streams[1], initial=start, progressbar=False)
        log_z = run[TEMPERING][TemperingVar.LOG_Z].values
        if not np.all(np.isfinite(log_z)):
            raise RuntimeError("the simulated-tempering pilot left a level unvisited: increase "
                               "pilot_steps or use a denser ladder")
        pilot_time = run_attrs(run)[RunAttr.SAMPLING_TIME]
        sampler = SimulatedTempering(betas=spec["betas"], step_size=h,
                                     steps_per_swap=spec["steps_per_swap"], log_weights=-log_z,
                                     metropolis=spec["metropolis"])
    curve, run = curve_and_run(sampler, target, initial, spec["checkpoints"],
                               metric=spec["metric"], reference=spec["reference"],
                               projection=spec["projection"], n_boot=spec["n_boot"],
                               level=spec["level"], rng=streams[0], chains=spec["chains"])
    mt = mixing_time(curve, spec["eps"])
    idata = run["idata"]
    out = {
        "mixing_time": mt.steps, "mixing_time_low": mt.steps_interval[0],
        "mixing_time_high": mt.steps_interval[1], "mixing_time_grad": mt.gradient_evals,
        "mixing_time_cpu_seconds": mt.cpu_seconds, "distance": curve.distance,
        "distance_lower": curve.lower, "distance_upper": curve.upper,
        "floor": curve.floor, "sampling_time": curve.sampling_time + pilot_time,
        "tunnelling_rate": np.nan, "round_trip_rate": np.nan, "swap_acceptance": np.nan,
        "communication_barrier": np.nan, "ess_per_second": np.nan,
    }
    if idata is None:
        return out
    if hasattr(target, "component_of"):
        out["tunnelling_rate"] = tunnelling_rate(idata, target).value
    if TEMPERING in idata.groups():
        out["round_trip_rate"] = round_trip_rate(idata).value
        out["swap_acceptance"] = float(idata[TEMPERING][TemperingVar.SWAP_ACCEPTANCE].values.mean())
        out["communication_barrier"] = communication_barrier(idata)
    if idata.posterior.sizes["draw"] >= 4:
        first = next(iter(autocorrelation_time(
            idata, {"x0": lambda x: x.reshape(x.shape[0], x.shape[1], -1)[..., 0]}).values()))
        ess = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"] / first
        out["ess_per_second"] = ess / curve.sampling_time if curve.sampling_time > 0 else np.nan
    return out


def _worker_init(threads):
    import numba

    numba.set_num_threads(threads)


def run_tasks(function, specs, *, client=None, processes=None):
    """``[function(s) for s in specs]``, serially, on local processes or on Dask.

    ``client``: a ``dask.distributed.Client`` (``client.map`` + ``gather``).
    Otherwise ``processes``: ``1`` runs in this process; ``None`` uses one
    process per CPU; each process gets ``cpus // processes`` numba threads.
    The worker processes are kept for later sweeps (``shutdown_pools``).
    """
    specs = list(specs)
    if client is not None:
        if not (hasattr(client, "map") and hasattr(client, "gather")):
            raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
        return client.gather(client.map(function, specs, pure=False))
    cpus = os.cpu_count() or 1
    processes = cpus if processes is None else check_count(processes, "processes")
    if processes == 1 or len(specs) <= 1:
        return [function(s) for s in specs]
    from concurrent.futures.process import BrokenProcessPool

    workers = min(processes, len(specs))
    try:
        return list(_pool(workers, cpus).map(function, specs))
    except BrokenProcessPool:
        _POOLS.pop(workers).shutdown(wait=False)  # a worker died: start afresh next time
        raise


#: Worker pools kept for the session, by number of workers: starting a spawned
#: worker (interpreter, imports, numba cache) costs seconds, so later sweeps
#: reuse the workers of the first.  Shut down at exit.
_POOLS = {}


def _pool(workers, cpus):
    pool = _POOLS.get(workers)
    if pool is None:
        import atexit
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init, initargs=(max(1, cpus // workers),))
        if not _POOLS:
            atexit.register(shutdown_pools)
        _POOLS[workers] = pool
    return pool


def shutdown_pools():
    """Stop the worker processes kept by earlier sweeps (also done at exit)."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown()


def _tidy(results, grid, checkpoints, attrs):
    """Stack per-task dicts (grid order, repeats innermost) into an ``xarray.Dataset``."""
    import xarray as xr

    dims = tuple(grid)
    shape = tuple(len(v) for v in grid.values())
    data = {}
    for key in results[0]:
        values = np.array([r[key] for r in results], dtype=np.float64)
        if values.ndim == 2:
            data[key] = (dims + ("checkpoint",), values.reshape(shape + (values.shape[1],)))
        else:
            data[key] = (dims, values.reshape(shape))
    coords = {name: list(values) for name, values in grid.items()}
    coords["checkpoint"] = checkpoints
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _check_list(values, name, check=None):
    values = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]
    if not values:
        raise ValueError(f"{name} must not be empty")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated values: {plain(values)}")
    return [check(v) if check else v for v in values]


def _check_methods(methods, allowed):
    methods = _check_list(methods, "samplers")
    for m in methods:
        if m not in allowed:
            raise ValueError(f"samplers must be among {allowed}, got {plain(m)!r}")
    return methods


def _common(chains, checkpoints, metric, eps, repeats, n_boot, level, step_size, pilot_steps):
    chains = check_count(chains, "chains", minimum=2)
    checkpoints = check_checkpoints(checkpoints)
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {plain(metric)!r}")
    return dict(chains=chains, checkpoints=checkpoints, metric=metric,
                eps=check_level(eps, "eps"), n_boot=check_count(n_boot, "n_boot", minimum=10),
                level=check_level(level), step_size=check_positive(step_size, "step_size"),
                pilot_steps=check_count(pilot_steps, "pilot_steps")), check_count(repeats, "repeats")


def ladder_sweep(target, *, n_levels=(4, 8), beta_min=(0.05,), spacing=("geometric",),
                 steps_per_swap=(1,), samplers=("simulated", "parallel"), step_size=0.1,
                 metropolis=True, initial=None, chains=200, checkpoints=(0, 100, 200, 400, 800),
                 metric="tv_modes", eps=0.25, repeats=1, reference=None, projection=None,
                 n_boot=200, level=0.95, pilot_steps=2000, seed=0, client=None, processes=None):
    """Mixing time of tempering samplers over a grid of ladders.

    Parameters
    ----------
    target : Target
        A ``GaussianMixture`` for the default metric ``"tv_modes"``.
    n_levels, beta_min, spacing, steps_per_swap : sequences
        The ladder settings swept (``spacing`` in :data:`SPACINGS`, see
        :func:`make_ladder`).
    samplers : sequence of {"simulated", "parallel"}
    step_size, metropolis : the Langevin exploration at every level.
    initial : array (chains, dim) or callable, optional
        Default: draws from the first component of a mixture.  Must be
        picklable for processes and Dask (no lambdas).
    chains, checkpoints, metric, eps, reference, projection, n_boot, level
        As in :func:`~samplers.mixing.distance_curve` and
        :func:`~samplers.mixing.mixing_time`.
    repeats : int
        Independent repeats of every configuration.
    pilot_steps : int
        Warm-up and draws of the simulated-tempering pilot (see the module docstring).
    seed : int
        The sweep's seed: task ``i`` is seeded by ``SeedSequence(seed, spawn_key=(i,))``.
    client : dask.distributed.Client, optional
    processes : int, optional
        Local processes when no client (default: one per CPU; 1 = serial).

    Returns
    -------
    xarray.Dataset
        Dimensions ``sampler, n_levels, beta_min, spacing, steps_per_swap,
        repeat`` (and ``checkpoint``); variables as in the module docstring.
    """
    common, repeats = _common(chains, checkpoints, metric, eps, repeats, n_boot, level, step_size,
                              pilot_steps)
    check_metric(metric, target, reference, projection)
    grid = {
        "sampler": _check_methods(samplers, ("simulated", "parallel")),
        "n_levels": _check_list(n_levels, "n_levels", lambda n: check_count(n, "n_levels", 2)),
        "beta_min": _check_list(beta_min, "beta_min", lambda b: check_level(b, "beta_min")),
        "spacing": _check_list(spacing, "spacing"),
        "steps_per_swap": _check_list(steps_per_swap, "steps_per_swap",
                                      lambda s: check_count(s, "steps_per_swap")),
        "repeat": list(range(repeats)),
    }
    if initial is None and not hasattr(target, "means"):
        raise ValueError("initial must be given for a target that is not a GaussianMixture")
    if client is None and processes != 1 and callable(initial):
        import pickle

        try:
            pickle.dumps(initial)
        except Exception as err:   # lambdas and local functions do not pickle
            raise TypeError("initial must be picklable to run on local processes (a module-level "
                            f"function, not a lambda), or pass processes=1: {err}") from None
    specs = []
    for index, (method, n, b, sp, sps, _) in enumerate(itertools.product(*grid.values())):
        specs.append(dict(common, seed=int(seed), index=index, target=target, method=method,
                          betas=make_ladder(n, b, sp), steps_per_swap=sps, metropolis=metropolis,
                          initial=initial, reference=reference, projection=projection))
    results = run_tasks(run_task, specs, client=client, processes=processes)
    attrs = dict(sweep="ladder", seed=int(seed), metric=metric, eps=common["eps"],
                 chains=common["chains"], step_size=common["step_size"], level=common["level"],
                 metropolis=int(bool(metropolis)), timings=" ".join(TIMINGS))
    return _tidy(results, grid, common["checkpoints"], attrs)


def separation_sweep(r=(1.5, 2.0, 2.5, 3.0), *, dim=2, samplers=METHODS, n_levels=6,
                     beta_min=0.05, spacing="geometric", steps_per_swap=1, step_size=0.05,
                     metropolis=True, chains=200, checkpoints=(0, 100, 200, 400, 800),
                     eps=0.25, repeats=1, n_boot=200, level=0.95, pilot_steps=2000, seed=0,
                     client=None, processes=None):
    """Mixing time against the separation of two unit Gaussians at distance ``2r`` in ``dim`` dimensions.

    The family ``N(-r e_1, I) / 2 + N(r e_1, I) / 2`` (``kramers.two_well_mixture``),
    chains started from draws of the first component, metric ``"tv_modes"``;
    ``samplers`` among ``"langevin"``, ``"simulated"``, ``"parallel"`` (the
    tempering samplers on ``make_ladder(n_levels, beta_min, spacing)``).

    Besides the measures of :func:`ladder_sweep`, the dataset holds, per
    ``r``, the exact (``exact_time``) and Eyring-Kramers (``kramers_time``)
    mean transition times of the Langevin diffusion, in time units, and the
    mixing times they predict through the two-state reduction,
    ``predicted_exact`` and ``predicted_kramers`` (in steps of ``step_size``:
    ``kramers.predicted_mixing_time`` / ``step_size``).  Other arguments as
    in :func:`ladder_sweep`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``sampler, r, repeat`` (and ``checkpoint``).
    """
    from .kramers import kramers_time, predicted_mixing_time, transition_time

    common, repeats = _common(chains, checkpoints, "tv_modes", eps, repeats, n_boot, level,
                              step_size, pilot_steps)
    grid = {
        "sampler": _check_methods(samplers, METHODS),
        "r": _check_list(r, "r", lambda v: check_positive(v, "r")),
        "repeat": list(range(repeats)),
    }
    if any(v <= 1.0 for v in grid["r"]):
        raise ValueError(f"r must exceed 1 (unit Gaussians: otherwise a single mode), got {grid['r']}")
    dim = check_count(dim, "dim")
    betas = make_ladder(n_levels, beta_min, spacing)
    steps_per_swap = check_count(steps_per_swap, "steps_per_swap")
    specs = []
    for index, (method, rv, _) in enumerate(itertools.product(*grid.values())):
        specs.append(dict(common, seed=int(seed), index=index, target=None, r=rv, dim=dim,
                          method=method, betas=betas, steps_per_swap=steps_per_swap,
                          metropolis=metropolis, initial=None, reference=None, projection=None))
    results = run_tasks(run_task, specs, client=client, processes=processes)
    attrs = dict(sweep="separation", seed=int(seed), metric="tv_modes", eps=common["eps"],
                 chains=common["chains"], step_size=common["step_size"], level=common["level"],
                 dim=dim, n_levels=int(betas.size), beta_min=float(betas[0]), spacing=spacing,
                 steps_per_swap=steps_per_swap, metropolis=int(bool(metropolis)),
                 timings=" ".join(TIMINGS))
    ds = _tidy(results, grid, common["checkpoints"], attrs)
    exact = np.array([transition_time(v) for v in grid["r"]])
    kramers = np.array([kramers_time(v) for v in grid["r"]])
    h = common["step_size"]
    ds["exact_time"] = ("r", exact)
    ds["kramers_time"] = ("r", kramers)
    if common["eps"] < 0.5:
        ds["predicted_exact"] = ("r", predicted_mixing_time(exact, common["eps"]) / h)
        ds["predicted_kramers"] = ("r", predicted_mixing_time(kramers, common["eps"]) / h)
    return ds
