"""Mode-weight error against wall-clock time on a 10-D, 5-component Gaussian mixture.

What is measured
----------------
The target is ``samplers.GaussianMixture`` in d = 10 with K = 5 isotropic
components: weights 0.05/0.1/0.2/0.3/0.35, standard deviations
``linspace(0.5, 1.5, 5)`` paired with the weights in that order by default
(``--scales increasing``: the 0.05 mode is the narrowest, the 0.35 mode the
widest; ``shuffled`` pairs them by a seeded permutation, ``decreasing`` the
other way round).  The means are random directions from a fixed seed, scaled
so that the closest pair is ``--separation`` (default 12) times the largest
standard deviation apart; the script prints the separations.

Error metric: the total-variation error of the mode weights,

    TV = 0.5 * sum_k |occupancy_k - w_k|,

where ``occupancy_k`` is the fraction of all kept draws at beta = 1 (all
chains / walkers pooled) whose ``target.component_of`` is ``k``.

Every method starts from the same point, the mean of the 0.05 mode (the hard
case: the chains must find the other 95% of the mass), with 4 chains where
the method has chains:

* ``samplers`` ``SimulatedTempering()``, ``ParallelTempering()`` and
  ``Langevin(metropolis=True)`` (MALA), default settings, and the two
  tempering samplers on the mode-aware reference path (``ST-modes``,
  ``PT-modes``: ``reference="modes"``), ``sample(target,
  draws=n, chains=4, rng=seed, initial=x0, progressbar=False)`` with the
  default ``tune=1000`` (warm-up draws discarded by the sampler);
* a hand-written NumPy parallel tempering ("numpy-PT"), written here:
  MALA moves, vectorised over 4 chains x 13 replicas, geometric ladder from
  beta = 0.01 to 1, DEO (deterministic even/odd) swaps after every move, step
  sizes adapted per level during burn-in (the first half, discarded);
* when importable, ``emcee.EnsembleSampler`` (stretch move, 32 walkers,
  ``vectorize=True`` with ``target.logpdf``), ``ptemcee.Sampler`` and
  ``reddemcee.PTSampler`` (32 walkers per temperature, 13 temperatures, their
  default ladders, moves and adaptation otherwise; ``target.logpdf`` as the
  log likelihood of one point, a flat log prior), walkers started in a ball of
  radius ~1e-3 around the initial point; the first half of the iterations is
  discarded as burn-in.  The number of walkers (32) and temperatures (13, the
  length of ``samplers.ladders.default_ladder(10)``) are not defaulted by
  these packages; these are the choices made here.

The curve: for every wall-clock budget ``b`` (default 0.5, 1, 2, 5, 10 s) a
run is sized (from a linear fit of the previous runs' wall time against their
size: draws for ``samplers``, iterations for the others) to take about 0.8 b;
a run that overshoots ``b`` is repeated smaller and one that takes less than
b / 2 is repeated larger (at most 6 runs per budget).  The error
reported at ``b`` is that of the largest successful run whose whole wall time
(``time.perf_counter`` around the call: set-up, tuning/burn-in, sampling and,
for ``samplers``, building the ``InferenceData``) was at most ``b``.  A run
that raises is recorded as a failure at the budget it was sized for (the
user gets an error, not draws).  Compilation is excluded: every ``samplers``
sampler is first called once untimed (a failure of that call is ignored: the
kernels are compiled before the run starts).  Each seed is a separate set of
runs; the table shows the mean and the max over seeds.

Usage (from the repository root)::

    python benchmarks/bench_tempering.py                 # 3 seeds, budgets 0.5 1 2 5 10 s (~12 min)
    python benchmarks/bench_tempering.py --quick         # 1 seed, budgets 0.5 1 2 s
    python benchmarks/bench_tempering.py --budgets 1 4 --seeds 2 --methods ST PT numpy-PT

Mode discovery (``reference="modes"``) on the harness protocol (uniform starts,
one core, CPU clock), runs sized by their warm-up, which is where discovery
happens; the table of components found per seed follows the TV table::

    NUMBA_NUM_THREADS=1 python benchmarks/bench_tempering.py --methods PT-modes ST-modes \
        --clock cpu --start uniform --size-by tune --budgets 10 60 --seeds 10

Issue 12's heavy-tailed mixture (``tests/tempering/heavy_mixture.py``: 8-D, three
Gaussians of sd 0.5, 1, 1.5 and a Student-t with nu = 4; ``--target heavy``, samplers
methods only), from uniform starts, runs sized by their warm-up or by their draws::

    NUMBA_NUM_THREADS=1 python benchmarks/bench_tempering.py --target heavy --methods PT ST \
        --clock cpu --start uniform --tune 40000 --budgets 10 --seeds 3

The machine should be otherwise idle (the script prints the CPU share other
processes used, from ``_load.py``).  ``samplers`` runs its chains on all
cores (numba threads); the NumPy and emcee-family methods use one core.
"""
import argparse
import importlib
import importlib.util
import os
import platform
import sys
import time
import traceback
import warnings

import numpy as np
from _load import OtherLoad

if importlib.util.find_spec("samplers") is None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import samplers  # noqa: E402

DIM = 10
WEIGHTS = np.array([0.05, 0.1, 0.2, 0.3, 0.35])
SD_RANGE = (0.5, 1.5)
START_COMPONENT = 0          # the 0.05 mode
CHAINS = 4
N_WALKERS = 32               # emcee family
N_TEMPS = 13                 # = samplers.ladders.default_ladder(10).size
TARGET_FRACTION = 0.8        # size runs to this fraction of the budget
MAX_TRIES = 6   # runs dominated by a fixed warm-up need a few tries to size
#: The clock budgets are measured on (``--clock``): wall (default) or process CPU time.
CLOCK = time.perf_counter
#: Draws per chain of a run sized by its warm-up (``--size-by tune``).
TUNED_RUN_DRAWS = 2000
#: Half-width of the uniform starts (``--start uniform``), as the harness protocol.
UNIFORM_HALFWIDTH = 10.0


# ------------------------------------------------------------------ target


def make_target(scales="increasing", separation=12.0, seed=20240601):
    rng = np.random.default_rng(seed)
    k = WEIGHTS.size
    sds = np.linspace(*SD_RANGE, k)
    perm = rng.permutation(k)
    if scales == "shuffled":
        sds = sds[perm]
    elif scales == "decreasing":
        sds = sds[::-1].copy()
    elif scales != "increasing":
        raise ValueError(scales)
    directions = rng.standard_normal((k, DIM))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    iu = np.triu_indices(k, 1)
    unit_dist = np.linalg.norm(directions[:, None] - directions[None], axis=-1)[iu].min()
    means = directions * (separation * sds.max() / unit_dist)
    target = samplers.GaussianMixture(means, sds ** 2, WEIGHTS)
    return target, sds


def make_heavy_target():
    """Issue 12's heavy-tailed mixture (``tests/tempering/heavy_mixture.py``): 8-D, three
    Gaussians (sd 0.5, 1, 1.5) and a Student-t (nu = 4), weights 0.2/0.3/0.3/0.2, as a
    ``samplers.Target`` with the attributes this script reads from a mixture."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                    "tests", "tempering"))
    import heavy_mixture as h

    target = h.heavy_mixture()
    target.means, target.weights, target.n_components = h.MEANS, h.WEIGHTS, h.WEIGHTS.size
    target.covs = h.SDS[:, None, None] ** 2 * np.eye(h.DIM)
    target.component_of = h.component_of
    return target, h.SDS


def describe_target(target, sds):
    if not isinstance(target, samplers.GaussianMixture):
        return ("target: 8-D mixture of 3 isotropic Gaussians (sd 0.5, 1, 1.5) and an isotropic "
                "Student-t (nu = 4, scale 1), weights " + "/".join(f"{w:g}" for w in target.weights)
                + f"; start: mean of component {START_COMPONENT} (sd {sds[START_COMPONENT]:g})")
    k = WEIGHTS.size
    dist = np.linalg.norm(target.means[:, None] - target.means[None], axis=-1)
    iu = np.triu_indices(k, 1)
    pair_sd = np.maximum(sds[:, None], sds[None])
    lines = [f"target: {DIM}-D mixture of {k} isotropic Gaussians (samplers.GaussianMixture, covs (K,))"]
    lines.append("  component  weight    sd   |mean|")
    for i in range(k):
        lines.append(f"  {i:9d}  {WEIGHTS[i]:6.2f}  {sds[i]:5.2f}  {np.linalg.norm(target.means[i]):6.2f}")
    lines.append(f"  minimum separation: {dist[iu].min():.2f} = {dist[iu].min() / sds.max():.2f} largest sd "
                 f"({(dist / pair_sd)[iu].min():.2f} sd of the wider of the pair; "
                 f"{(dist / sds.min())[iu].min():.1f} smallest sd)")
    lines.append(f"  start: mean of component {START_COMPONENT} (weight {WEIGHTS[START_COMPONENT]})")
    return "\n".join(lines)


def tv_error(target, draws):
    """0.5 * sum |occupancy - w| over the components, draws of shape (..., d)."""
    flat = np.asarray(draws, dtype=np.float64).reshape(-1, target.dim)
    # In pieces: component_of makes (n, K, d) temporaries (a 10 s MALA run has ~2e7 draws).
    comp = np.concatenate([np.asarray(target.component_of(flat[i:i + 100_000])).ravel()
                           for i in range(0, flat.shape[0], 100_000)] or [np.zeros(0, int)])
    occ = np.bincount(comp, minlength=target.n_components) / max(comp.size, 1)
    return 0.5 * float(np.abs(occ - target.weights).sum()), occ


# ------------------------------------------------------------------ methods
#
# Each runner: run(target, x0, size, seed) -> (kept draws (..., d), info dict).
# The caller times it.


def samplers_runner(make):
    def run(target, x0, size, seed):
        if SIZE_BY == "tune":
            draws, tune = TUNED_RUN_DRAWS, int(size)
        else:
            draws, tune = int(size), TUNE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the run's warnings are not what is measured
            idata = make().sample(target, draws=draws, tune=tune, chains=CHAINS, rng=seed,
                                  initial=x0, progressbar=False, check_convergence=False)
        info = {"sampling_time": float(idata.posterior.attrs["sampling_time"])}
        if "tempering" in idata.groups():
            info["round_trips"] = int(idata.tempering["round_trips"].values.sum())
            if "mode_location" in idata.tempering:
                info["found"] = found_components(target, idata.tempering["mode_location"].values)
        return idata.posterior["x"].values, info
    return run


def found_components(target, locations):
    """Which components a mode-aware run found: a mode within one sd (of the component)
    of its mean, as a string of 'x' (found) and '.' per component."""
    sds = np.sqrt(np.diagonal(target.covs, axis1=1, axis2=2).mean(axis=1))
    return "".join("x" if np.any(np.linalg.norm(locations - m, axis=1) < sd) else "."
                   for m, sd in zip(target.means, sds))


#: What ``--size-by`` scales: the draws (default) or the warm-up of a samplers run.
SIZE_BY = "draws"
#: The warm-up of a samplers run sized by its draws (``--tune``; None: the default).
TUNE = None


def numpy_mixture(target):
    """The mixture's log density and gradient in NumPy, vectorised over leading axes of x (..., d)."""
    means = target.means
    inv_var = 1.0 / np.diagonal(target.covs, axis1=1, axis2=2)        # (K, d); covs are diagonal
    log_coef = (np.log(target.weights) - 0.5 * DIM * np.log(2 * np.pi)
                + 0.5 * np.sum(np.log(inv_var), axis=1))

    def logp_grad(x):
        diff = x[..., None, :] - means                                 # (..., K, d)
        scaled = diff * inv_var
        q = log_coef - 0.5 * np.sum(diff * scaled, axis=-1)            # (..., K)
        top = q.max(axis=-1, keepdims=True)
        e = np.exp(q - top)
        s = e.sum(axis=-1, keepdims=True)
        r = e / s
        return (top + np.log(s))[..., 0], -np.einsum("...k,...kd->...d", r, scaled)

    return logp_grad, inv_var


def numpy_pt(target, x0, n_iter, seed, chains=CHAINS, n_levels=N_TEMPS, beta_min=0.01,
             target_accept=0.574):
    """Parallel tempering in NumPy: MALA at every level, DEO swaps, geometric ladder.

    Arrays are (chains, levels, d); level ``n_levels - 1`` is beta = 1.  The
    first half of the iterations is burn-in (step sizes adapted per level by
    Robbins-Monro on log h towards ``target_accept``) and is discarded.
    """
    rng = np.random.default_rng(seed)
    betas = np.geomspace(beta_min, 1.0, n_levels)
    logp_grad, inv_var = numpy_mixture(target)

    n_iter = int(n_iter)
    burn = n_iter // 2
    x = np.broadcast_to(np.asarray(x0, dtype=float), (chains, n_levels, DIM)).copy()
    lp, g = logp_grad(x)
    b = betas[None, :, None]
    log_h = np.log(0.3 / inv_var.max() / betas)       # ~ smallest variance / beta, adapted below
    out = np.empty((max(n_iter - burn, 0), chains, DIM))
    for t in range(n_iter):
        h = np.exp(log_h)[None, :, None]
        fwd = x + h * b * g
        y = fwd + np.sqrt(2 * h) * rng.standard_normal(x.shape)
        lpy, gy = logp_grad(y)
        bwd = y + h * b * gy
        log_a = (betas * (lpy - lp)
                 - np.sum((x - bwd) ** 2, axis=-1) / (4 * h[..., 0])
                 + np.sum((y - fwd) ** 2, axis=-1) / (4 * h[..., 0]))
        log_a = np.where(np.isfinite(log_a), log_a, -np.inf)
        acc = np.log(rng.random(log_a.shape)) < log_a
        x = np.where(acc[..., None], y, x)
        lp = np.where(acc, lpy, lp)
        g = np.where(acc[..., None], gy, g)
        if t < burn:
            rate = np.exp(np.minimum(log_a, 0.0)).mean(axis=0)
            log_h += (t + 1) ** -0.6 * (rate - target_accept)
        # DEO: even pairs (0,1),(2,3),... on even iterations, odd pairs on odd ones.
        i = np.arange(t % 2, n_levels - 1, 2)
        log_s = (betas[i + 1] - betas[i]) * (lp[:, i] - lp[:, i + 1])
        sw = np.log(rng.random(log_s.shape)) < log_s                    # (C, pairs)
        c_idx, p_idx = np.nonzero(sw)
        lo, hi = i[p_idx], i[p_idx] + 1
        x[c_idx, lo], x[c_idx, hi] = x[c_idx, hi].copy(), x[c_idx, lo].copy()
        lp[c_idx, lo], lp[c_idx, hi] = lp[c_idx, hi].copy(), lp[c_idx, lo].copy()
        g[c_idx, lo], g[c_idx, hi] = g[c_idx, hi].copy(), g[c_idx, lo].copy()
        if t >= burn:
            out[t - burn] = x[:, -1]
    return out, {}


def check_numpy_logp(target):
    """The hand-written log density and gradient must match the compiled target's."""
    rng = np.random.default_rng(0)
    pts = target.means[rng.integers(0, target.n_components, 6)] + 2 * rng.standard_normal((6, DIM))
    logp_grad, _ = numpy_mixture(target)
    lp, grad = logp_grad(pts)
    assert np.allclose(lp, target.logpdf(pts), rtol=1e-10, atol=1e-10), "numpy-PT log density mismatch"
    grad_out = np.empty(DIM)
    for p, g in zip(pts, grad):
        target.logp_grad(p, target.params, grad_out)
        assert np.allclose(g, grad_out, rtol=1e-8, atol=1e-10), "numpy-PT gradient mismatch"


def walker_ball(x0, shape, rng):
    return x0 + 1e-3 * rng.standard_normal((*shape, DIM))


def emcee_run(target, x0, size, seed):
    import emcee
    np.random.seed(seed)          # emcee's generator starts from NumPy's global state
    rng = np.random.default_rng(seed)
    n = int(size)
    sampler = emcee.EnsembleSampler(N_WALKERS, DIM, target.logpdf, vectorize=True)
    sampler.run_mcmc(walker_ball(x0, (N_WALKERS,), rng), n, progress=False)
    return sampler.get_chain(discard=n // 2), {"acceptance": float(np.mean(sampler.acceptance_fraction))}


def _logl_point(target):
    def logl(x):
        return float(target.logpdf(x))
    return logl


def _flat_prior(x):
    return 0.0


def ptemcee_run(target, x0, size, seed):
    import ptemcee
    n = int(size)
    rng = np.random.default_rng(seed)
    sampler = ptemcee.Sampler(N_WALKERS, DIM, _logl_point(target), _flat_prior, ntemps=N_TEMPS,
                              random=np.random.RandomState(seed))
    sampler.run_mcmc(walker_ball(x0, (N_TEMPS, N_WALKERS), rng), n)
    chain = sampler.chain[0]                                           # beta = 1: (walkers, n, d)
    return chain[:, n // 2:], {}


def reddemcee_run(target, x0, size, seed):
    import reddemcee
    n = int(size)
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    sampler = reddemcee.PTSampler(N_WALKERS, DIM, _logl_point(target), _flat_prior, ntemps=N_TEMPS)
    sampler._random.seed(seed)    # it creates an unseeded RandomState
    sampler.run_mcmc(walker_ball(x0, (N_TEMPS, N_WALKERS), rng), nsweeps=n, nsteps=1)
    chain = sampler.get_chain(discard=n // 2)                          # (temps, n - n//2, walkers, d)
    return chain[0], {}


def ptemcee_importable():
    spec = importlib.util.find_spec("ptemcee")
    if spec is None:
        return False, "not installed"
    if not hasattr(np, "float"):
        # ptemcee 1.0.0 (last release, 2019) uses the alias np.float, removed
        # in NumPy 1.24; without it every Sampler() raises AttributeError.
        np.float = float
        return True, "with the shim np.float = float (ptemcee 1.0.0 uses the alias removed in NumPy 1.24)"
    return True, ""


# Methods: name -> (runner, size unit, pilot size, minimum size, kind)
def build_methods(selected):
    methods = {
        "ST": (samplers_runner(samplers.SimulatedTempering), "draws", 100, 10, "samplers"),
        "PT": (samplers_runner(samplers.ParallelTempering), "draws", 100, 10, "samplers"),
        "ST-modes": (samplers_runner(lambda: samplers.SimulatedTempering(reference="modes")),
                     "draws", 100, 10, "samplers"),
        "PT-modes": (samplers_runner(lambda: samplers.ParallelTempering(reference="modes")),
                     "draws", 100, 10, "samplers"),
        "MALA": (samplers_runner(lambda: samplers.Langevin(metropolis=True)), "draws", 100, 10, "samplers"),
        "numpy-PT": (numpy_pt, "iterations", 200, 20, "peer"),
        "emcee": (emcee_run, "iterations", 100, 10, "peer"),
        "ptemcee": (ptemcee_run, "iterations", 10, 4, "peer"),
        "reddemcee": (reddemcee_run, "iterations", 10, 4, "peer"),
    }
    notes = {}
    for name in ("emcee", "reddemcee"):
        if importlib.util.find_spec(name) is None:
            notes[name] = "not installed: skipped"
    ok, why = ptemcee_importable()
    if not ok:
        notes["ptemcee"] = why + ": skipped"
    elif why:
        notes["ptemcee"] = why
    chosen = {}
    for name, spec in methods.items():
        if selected and name not in selected:
            continue
        if name in notes and notes[name].endswith("skipped"):
            continue
        chosen[name] = spec
    return chosen, notes


# ------------------------------------------------------------------ timing


def timed(run, target, x0, size, seed):
    t0 = CLOCK()
    try:
        draws, info = run(target, x0, size, seed)
    except Exception as exc:  # a failure is a result
        return {"size": size, "wall": CLOCK() - t0, "ok": False,
                "error": f"{type(exc).__name__}: {exc}"}
    wall = CLOCK() - t0
    tv, occ = tv_error(target, draws)
    return {"size": size, "wall": wall, "ok": True, "tv": tv, "occ": occ, **info}


def predict_size(runs, budget, min_size):
    """Size expected to take TARGET_FRACTION * budget: a line through the smallest and largest runs."""
    good = [r for r in runs if r["ok"] and r["wall"] > 0] or [r for r in runs if r["wall"] > 0]
    lo = min(good, key=lambda r: r["size"])
    hi = max(good, key=lambda r: r["size"])
    slope = (hi["wall"] - lo["wall"]) / (hi["size"] - lo["size"]) if hi["size"] > lo["size"] else 0.0
    if slope <= 0:
        slope, icpt = hi["wall"] / hi["size"], 0.0       # no usable fixed cost: proportional
    else:
        icpt = max(hi["wall"] - slope * hi["size"], 0.0)
    goal = TARGET_FRACTION * budget - icpt
    if goal <= 0:
        return None
    size = int(goal / slope)
    return size if size >= min_size else None


def curve(name, spec, target, x0, seed, budgets, log):
    """Runs sized for each budget; a run over budget is repeated smaller, one under half of it larger."""
    run, unit, pilot, min_size, kind = spec
    if kind == "samplers" and SIZE_BY == "tune":
        unit = "tune"
    runs = [timed(run, target, x0, pilot, seed)]
    failed_at = {}
    log(f"  {name:10s} seed {seed}: pilot {pilot} {unit}: {fmt_run(runs[-1])}")
    for b in budgets:
        for attempt in range(MAX_TRIES):
            size = predict_size(runs, b, min_size)
            if size is None:
                log(f"  {name:10s} seed {seed}: budget {b:g}s: fixed cost alone exceeds it, no run")
                break
            while any(r["size"] == size for r in runs):
                size += 1
            r = timed(run, target, x0, size, seed)
            runs.append(r)
            log(f"  {name:10s} seed {seed}: budget {b:g}s try {attempt + 1}: {size} {unit}: {fmt_run(r)}")
            if not r["ok"]:
                failed_at[b] = r["error"]
                break
            if 0.5 * b <= r["wall"] <= b:
                break
    result = {}
    for b in budgets:
        if b in failed_at:
            result[b] = {"fail": failed_at[b]}
            continue
        within = [r for r in runs if r["ok"] and r["wall"] <= b]
        result[b] = max(within, key=lambda r: (r["size"], r["wall"])) if within else None
    return result, runs


def fmt_run(r):
    if not r["ok"]:
        return f"FAILED after {r['wall']:.2f}s: {r['error'][:160]}"
    extra = ""
    if "sampling_time" in r:
        extra += f", sampling_time {r['sampling_time']:.2f}s"
    if "round_trips" in r:
        extra += f", round trips {r['round_trips']}"
    if "found" in r:
        extra += f", modes found {r['found']}"
    return f"wall {r['wall']:.2f}s{extra}, TV {r['tv']:.4f}, occupancy {np.round(r['occ'], 3).tolist()}"


# ------------------------------------------------------------------ report


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def git_state():
    """HEAD of the checkout that ``samplers`` comes from, and whether samplers/ has uncommitted edits."""
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(samplers.__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "samplers"],
                               capture_output=True, text=True, check=True).stdout.split("\n")
        dirty = [line[3:] for line in dirty if line.strip()]
    except Exception:
        return f"{root} (not a git checkout)"
    return f"{root} at {head}" + (f", uncommitted changes in {', '.join(dirty)}" if dirty else ", clean")


def versions():
    out = [f"python {platform.python_version()}"]
    for mod in ("samplers", "numpy", "numba", "arviz", "emcee", "ptemcee", "reddemcee"):
        try:
            m = importlib.import_module(mod)
            out.append(f"{mod} {getattr(m, '__version__', '?')}")
        except Exception:
            out.append(f"{mod} (not importable)")
    return ", ".join(out)


def cell(results, budget):
    vals = [r[budget] for r in results]
    fails = sum(1 for v in vals if isinstance(v, dict) and "fail" in v)
    tvs = [v["tv"] for v in vals if isinstance(v, dict) and "tv" in v]
    missing = sum(1 for v in vals if v is None)
    if not tvs:
        if fails:
            return f"fail {fails}/{len(vals)}", None, None
        return "-", None, None
    text = f"{np.mean(tvs):.3f} / {np.max(tvs):.3f}"
    if fails:
        text += f" ({fails} fail)"
    if missing:
        text += f" ({missing} none)"
    return text, float(np.mean(tvs)), float(np.max(tvs)) if not fails else np.inf


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="budgets 0.5 1 2 s, 1 seed")
    ap.add_argument("--budgets", type=float, nargs="+", help="wall-clock budgets in seconds")
    ap.add_argument("--seeds", type=int, help="number of seeds (default 3, 1 with --quick)")
    ap.add_argument("--methods", nargs="+",
                    help="subset of ST PT ST-modes PT-modes MALA numpy-PT emcee ptemcee reddemcee")
    ap.add_argument("--scales", default="increasing", choices=("increasing", "shuffled", "decreasing"),
                    help="pairing of the sds linspace(0.5, 1.5, 5) with the weights 0.05..0.35")
    ap.add_argument("--separation", type=float, default=12.0,
                    help="closest pair of means, in units of the largest sd (default 12)")
    ap.add_argument("--target", default="mixture", choices=("mixture", "heavy"),
                    help="the 10-D Gaussian mixture of unequal scales (default) or issue 12's 8-D "
                         "heavy-tailed mixture (tests/tempering/heavy_mixture.py)")
    ap.add_argument("--clock", default="wall", choices=("wall", "cpu"),
                    help="budgets on the wall clock or on process CPU time (the harness protocol: "
                         "cpu, with NUMBA_NUM_THREADS=1)")
    ap.add_argument("--start", default="narrow", choices=("narrow", "uniform"),
                    help="every chain at the mean of the 0.05 mode (default), or each chain "
                         f"U[-{UNIFORM_HALFWIDTH:g}, {UNIFORM_HALFWIDTH:g}]^d per seed (the harness's "
                         "init_positions; samplers methods only)")
    ap.add_argument("--tune", type=int, default=None,
                    help="warm-up steps of a samplers run sized by its draws (default: the "
                         "sampler's default)")
    ap.add_argument("--size-by", default="draws", choices=("draws", "tune"),
                    help="what a samplers run's size scales: its draws (default tune) or its warm-up "
                         f"(tune, with {TUNED_RUN_DRAWS} draws): mode discovery grows with the warm-up")
    args = ap.parse_args()
    global CLOCK, SIZE_BY, TUNE
    TUNE = args.tune
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    SIZE_BY = args.size_by
    budgets = sorted(args.budgets or ([0.5, 1, 2] if args.quick else [0.5, 1, 2, 5, 10]))
    n_seeds = args.seeds or (1 if args.quick else 3)
    seeds = list(range(1, n_seeds + 1))

    print(f"machine: {machine()}")
    print(f"versions: {versions()}")
    print(f"samplers from: {git_state()}")
    print(f"numba threads: {samplers_threads()}")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    target, sds = (make_heavy_target() if args.target == "heavy"
                   else make_target(args.scales, args.separation))
    print(describe_target(target, sds))
    x0 = target.means[START_COMPONENT].copy()
    methods, notes = build_methods(args.methods)
    if args.target == "heavy" and any(spec[4] != "samplers" for spec in methods.values()):
        ap.error("--target heavy is for samplers methods only (the peers' runners use a "
                 "GaussianMixture's NumPy density)")
    if args.target != "heavy":
        check_numpy_logp(target)
    if args.start == "uniform" and any(spec[4] != "samplers" for spec in methods.values()):
        ap.error("--start uniform is for samplers methods only (the peers' runners take one point)")
    print(f"clock: {args.clock}; start: {args.start}; runs sized by: {args.size_by}")
    for name, note in notes.items():
        print(f"note: {name}: {note}")
    print(f"budgets (s): {budgets}; seeds: {seeds}; chains: {CHAINS} (samplers, numpy-PT); "
          f"walkers: {N_WALKERS} (emcee family), temperatures: {N_TEMPS}")

    # Compile every samplers kernel untimed (a failure still leaves it compiled).
    for name, spec in methods.items():
        if spec[4] == "samplers":
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = timed(spec[0], target, x0, 50, 0)
            print(f"warm-up {name}: {time.perf_counter() - t0:.1f}s"
                  + ("" if r["ok"] else f" (raised, ignored: {r['error'][:120]})"))

    table = {}
    start = time.perf_counter()
    with OtherLoad() as load:
        for name, spec in methods.items():
            per_seed = []
            for seed in seeds:
                initial = (np.random.default_rng(10_000 + seed).uniform(
                    -UNIFORM_HALFWIDTH, UNIFORM_HALFWIDTH, (CHAINS, target.dim))
                    if args.start == "uniform" else x0)
                res, _ = curve(name, spec, target, initial, seed, budgets,
                               lambda s: print(s, flush=True))
                per_seed.append(res)
            table[name] = per_seed
    print(f"total measurement time: {time.perf_counter() - start:.0f}s")
    print(load.report())

    # Table
    print()
    print("TV error of the mode weights (mean / max over seeds) within each wall-clock budget")
    head = "| method | " + " | ".join(f"{b:g} s" for b in budgets) + " |"
    print(head)
    print("|---|" + "---|" * len(budgets))
    summary = {}
    for name, per_seed in table.items():
        cells = [cell(per_seed, b) for b in budgets]
        summary[name] = cells
        print(f"| {name} | " + " | ".join(c[0] for c in cells) + " |")
    print("(cell: mean / max TV over seeds; 'fail k' = k seeds raised; '-' = no run fitted the budget)")
    discovery_table(table, budgets, target.weights)

    # Goals
    print()
    own = [n for n, s in methods.items() if s[4] == "samplers"]
    peers = [n for n, s in methods.items() if s[4] == "peer"]
    for bi, b in enumerate(budgets):
        own_best = min(((summary[n][bi][1], n) for n in own if summary[n][bi][1] is not None), default=None)
        peer_best = min(((summary[n][bi][1], n) for n in peers if summary[n][bi][1] is not None), default=None)
        if own_best and peer_best:
            ratio = own_best[0] / peer_best[0] if peer_best[0] > 0 else np.inf
            line = (f"at {b:g} s: samplers best {own_best[1]} mean TV {own_best[0]:.4f}; best peer "
                    f"{peer_best[1]} {peer_best[0]:.4f}; ratio {ratio:.2f} (goal <= 0.2: "
                    f"{'met' if ratio <= 0.2 else 'NOT met'})")
            fails = sum(1 for r in table[own_best[1]] if isinstance(r[b], dict) and "fail" in r[b])
            if fails:
                # A raised run gave the user no draws: count it as the largest possible error, TV = 1.
                tvs = [r[b]["tv"] if isinstance(r[b], dict) and "tv" in r[b] else 1.0
                       for r in table[own_best[1]]]
                r1 = np.mean(tvs) / peer_best[0]
                line += (f"; but {own_best[1]} raised on {fails} of {len(tvs)} seeds: counting those as "
                         f"TV = 1, mean {np.mean(tvs):.4f}, ratio {r1:.2f} ({'met' if r1 <= 0.2 else 'NOT met'})")
            print(line)
    last = len(budgets) - 1
    for n in ("ST", "PT"):
        if n in summary:
            mean, worst = summary[n][last][1], summary[n][last][2]
            ok = worst is not None and worst <= 0.01
            print(f"goal TV <= 0.01 within {budgets[-1]:g} s, {n}: mean {fmt(mean)}, max {fmt(worst)} -> "
                  f"{'met' if ok else 'NOT met'}")


def discovery_table(table, budgets, weights):
    """For the mode-aware methods: per budget, the modes found by the largest run within it,
    per seed (x found, . not), and the fraction of seeds that found each component."""
    rows = {name: per_seed for name, per_seed in table.items()
            if any(isinstance(r[b], dict) and "found" in r[b] for r in per_seed for b in budgets)}
    if not rows:
        return
    n_components = len(weights)
    print()
    print("Components found (per seed; component k = weight " + "/".join(f"{w:g}" for w in weights)
          + "), and the fraction of seeds that found each")
    print("| method | budget | per seed | fraction per component |")
    print("|---|---|---|---|")
    for name, per_seed in rows.items():
        for b in budgets:
            found = [r[b]["found"] if isinstance(r[b], dict) and "found" in r[b] else "?" * n_components
                     for r in per_seed]
            fraction = [np.mean([f[k] == "x" for f in found]) for k in range(n_components)]
            print(f"| {name} | {b:g} s | {' '.join(found)} | "
                  + " ".join(f"{v:.2f}" for v in fraction) + " |")


def fmt(v):
    return "n/a" if v is None else ("fail" if v == np.inf else f"{v:.4f}")


def samplers_threads():
    try:
        import numba
        return f"{numba.get_num_threads()} ({numba.threading_layer() if _layer_ready() else 'layer not yet chosen'})"
    except Exception:
        return "?"


def _layer_ready():
    try:
        import numba
        numba.threading_layer()
        return True
    except Exception:
        return False


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.exit(1)
