"""Stress harness for the tempering defaults (reference="auto").

``run_case(name, target, exact, seeds, ...)`` samples ``target`` with
``SimulatedTempering()`` and ``ParallelTempering()`` at their defaults and with
``reference=None``, times each run with ``time.process_time``, records the warnings,
the moments, the evidence and the mode table, compares with ``exact`` and appends
one JSON line per run to ``benchmarks/defaults/results/<name>.jsonl``.

``exact`` keys (all optional): ``mean`` (d,), ``var`` (d,), ``log_z`` (log of the
integral of p), ``weights`` with ``classify`` (draws (n, d) -> component labels).
"""
import json
import os
import sys
import time
import traceback
import warnings

import numpy as np

import samplers

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _flat(idata):
    if "unconstrained_posterior" in idata.groups():   # a PyMC model: the sampler's own space
        x = idata.unconstrained_posterior["x"].values
        return x.reshape(x.shape[0], x.shape[1], -1)
    x = idata.posterior[list(idata.posterior.data_vars)[0]].values
    return x.reshape(x.shape[0], x.shape[1], -1)


def summarize(idata, exact, draws_x=None):
    """Moments, evidence, modes and their errors against ``exact``."""
    x = _flat(idata) if draws_x is None else draws_x
    flat = x.reshape(-1, x.shape[-1])
    out = {"n_draws": int(flat.shape[0])}
    mean, var = flat.mean(axis=0), flat.var(axis=0)
    # Monte Carlo error of the mean from the spread of the chain means (4 chains: rough).
    chain_means = x.mean(axis=1)
    se = chain_means.std(axis=0, ddof=1) / np.sqrt(x.shape[0]) if x.shape[0] > 1 else np.full(mean.shape, np.nan)
    show = slice(0, 3)
    out["mean"] = mean[show].round(4).tolist()
    out["var"] = var[show].round(4).tolist()
    if "mean" in exact:
        m = np.asarray(exact["mean"], dtype=float)
        sd = np.sqrt(np.asarray(exact.get("var", np.ones_like(m)), dtype=float))
        err = (mean - m) / sd
        out["max_mean_err_sd"] = float(np.max(np.abs(err)))
        with np.errstate(divide="ignore", invalid="ignore"):
            out["max_mean_err_se"] = float(np.nanmax(np.abs(mean - m) / se))
    if "var" in exact:
        v = np.asarray(exact["var"], dtype=float)
        rel = var / v - 1.0
        out["var_rel_err_max"] = float(rel[np.argmax(np.abs(rel))])
        out["var_rel_err_median"] = float(np.median(rel))
    if "weights" in exact:
        labels = exact["classify"](flat)
        k = len(exact["weights"])
        w = np.bincount(labels[labels >= 0], minlength=k)[:k] / max(1, flat.shape[0])
        out["weights"] = w.round(4).tolist()
        out["weights_exact"] = list(map(float, exact["weights"]))
        out["weight_tv"] = float(0.5 * np.abs(w - np.asarray(exact["weights"])).sum())
    if "extra" in exact:
        out.update(exact["extra"](flat))
    t = idata.get("tempering") if hasattr(idata, "get") else None
    if t is None and "tempering" in idata.groups():
        t = idata.tempering
    if t is not None:
        if "log_evidence" in t:
            le, lse = float(t.log_evidence), float(t.log_evidence_se)
            out["log_evidence"] = round(le, 4)
            out["log_evidence_se"] = round(lse, 4)
            if "log_z" in exact:
                out["log_evidence_exact"] = float(exact["log_z"])
                out["log_evidence_err_se"] = (le - exact["log_z"]) / lse if lse > 0 else float("inf")
        out["n_levels"] = int(t.beta.size)
        if "log_z_trusted" in t:
            out["log_z_trusted"] = bool(t.log_z_trusted)
        if "mode_laplace_weight" in t:
            out["n_modes"] = int(t.mode_laplace_weight.size)
            order = np.argsort(-t.mode_occupancy.values)[:6]
            out["mode_loc0"] = [round(float(v), 3) for v in t.mode_location.values[order, 0]]
            out["mode_laplace"] = t.mode_laplace_weight.values[order].round(4).tolist()
            out["mode_occ"] = t.mode_occupancy.values[order].round(4).tolist()
    if "sample_stats" in idata.groups():
        ss = idata.sample_stats
        if "diverging" in ss:
            out["divergences"] = int(ss.diverging.values.sum())
        if "outside_support" in ss:
            out["outside_support"] = int(np.asarray(ss.outside_support.values).sum())
    return out


def one_run(sampler, target, exact, draws, chains, seed, tune=None, label=""):
    rec = {"sampler": label or type(sampler).__name__, "seed": seed, "draws": draws,
           "chains": chains, "tune": tune,
           "reference": getattr(sampler, "reference", None)}
    try:
        rec["path"] = sampler.path(target)
    except Exception as e:  # noqa: BLE001
        rec["path"] = f"error {e!r}"
    t0, w0 = time.process_time(), time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            idata = sampler.sample(target, draws=draws, chains=chains, rng=seed, tune=tune,
                                   progressbar=False)
            rec["ok"] = True
        except Exception as e:  # noqa: BLE001
            rec["ok"] = False
            rec["error"] = f"{type(e).__name__}: {e}"
            rec["traceback"] = traceback.format_exc()[-2000:]
            idata = None
    rec["cpu_s"] = round(time.process_time() - t0, 2)
    rec["wall_s"] = round(time.perf_counter() - w0, 2)
    rec["warnings"] = [f"{w.category.__name__}: {str(w.message)[:400]}" for w in caught]
    if idata is not None:
        try:
            rec.update(summarize(idata, exact))
        except Exception as e:  # noqa: BLE001
            rec["summary_error"] = f"{type(e).__name__}: {e}"
    return rec


def run_case(name, target, exact, seeds=(1, 2), draws=2000, chains=4, tune=None,
             samplers_=None, baseline=True):
    """Every sampler x seed on ``target``; JSON lines to ``results/<name>.jsonl``."""
    os.makedirs(RESULTS, exist_ok=True)
    if samplers_ is None:
        samplers_ = [("ST-auto", lambda: samplers.SimulatedTempering()),
                     ("PT-auto", lambda: samplers.ParallelTempering())]
        if baseline:
            samplers_ += [("ST-None", lambda: samplers.SimulatedTempering(reference=None)),
                          ("PT-None", lambda: samplers.ParallelTempering(reference=None))]
    path = os.path.join(RESULTS, f"{name}.jsonl")
    records = []
    # Compile every kernel this target needs before timing (the first run of a process
    # would otherwise carry the adapters' and the ascent's compilation).
    for label, make in samplers_:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                make().sample(target, draws=10, chains=1, tune=100, rng=0, progressbar=False)
            except Exception:  # noqa: BLE001 - reported by the timed run
                pass
    for seed in seeds:
        for label, make in samplers_:
            rec = one_run(make(), target, exact, draws, chains, seed, tune, label)
            rec["case"] = name
            records.append(rec)
            with open(path, "a") as f:
                f.write(json.dumps(rec, default=float) + "\n")
            brief = {k: rec.get(k) for k in ("case", "sampler", "seed", "ok", "path", "cpu_s",
                                              "max_mean_err_sd", "var_rel_err_max", "weights",
                                              "weight_tv", "log_evidence", "log_evidence_se",
                                              "log_evidence_exact", "n_modes", "mode_occ",
                                              "mode_laplace", "error")
                     if rec.get(k) is not None}
            print(json.dumps(brief, default=float), flush=True)
            for w in rec["warnings"]:
                print("    WARN", w[:300], flush=True)
    return records


def exact_gaussian(g):
    return {"mean": g.mean, "var": np.diag(g.cov), "log_z": float(g.log_z())}


def exact_mixture(gm):
    """Moments of a mixture, log Z = 0 (normalised), weights by most responsible component."""
    w, m = gm.weights, gm.means
    covs = gm.covs
    mean = w @ m
    second = sum(w[k] * (np.diag(covs[k]) + m[k] ** 2) for k in range(len(w)))
    return {"mean": mean, "var": second - mean ** 2, "log_z": 0.0, "weights": w,
            "classify": lambda x: gm.component_of(x)}


if __name__ == "__main__":
    print("import me", file=sys.stderr)
