"""Start-up costs of ``samplers``, each measured in a fresh Python process.

What is measured
----------------
(i)   ``import samplers``: time of the import statement inside a fresh
      interpreter (interpreter start-up excluded), best of ``--repeats``.
(ii)  First ``sample()`` with a warm numba cache: a fresh process imports
      ``samplers``, then ArviZ (through ``samplers.inference_data.arviz()``,
      timed separately), then times its first call

          samplers.Langevin(metropolis=True).sample(
              GaussianMixture(2-D, 2 components), draws=100, tune=100, chains=2,
              rng=0, progressbar=False)

      reported excluding the ArviZ import (the call itself) and including it
      (ArviZ import + call: what a user pays when ``sample()`` imports ArviZ).
      The cache is warmed by one untimed process first; best of ``--repeats``.
(iii) The same with a cold cache: every run gets a fresh copy of the package
      (``shutil.copytree`` of ``samplers/`` without ``__pycache__``) placed
      first on ``PYTHONPATH``, and a fresh empty ``NUMBA_CACHE_DIR``, so numba
      compiles every kernel.  Best of ``--cold-repeats``.
(iv)  A new target in a process whose loop is loaded (warm cache): after a
      first run, an ``njit`` target whose ``params`` (float64 1-D, float64
      2-D, int32 1-D) no run has seen, timed from ``Target(...)`` to the end
      of its first ``sample()``: its adapter's compilation, not the loop's.
      Best of ``--repeats``.

Each measurement is retried (up to ``--attempts`` fresh processes) while
other processes used more than 5% of the machine during it (``_load.py``).

All use copies of ``samplers/`` taken at start-up, so an edit of the
checkout during the run cannot invalidate the warm cache half-way.  The
warm-cache copy is byte-compiled by the warming run (``PYTHONDONTWRITEBYTECODE``
is removed from the children's environment), as in an installed package;
the cold copies have no ``.pyc`` files either.

Usage (from the repository root)::

    python benchmarks/startup.py            # best of 5 warm, best of 3 cold
    python benchmarks/startup.py --quick    # smoke check: best of 2 warm, 1 cold
    python benchmarks/startup.py --package /path/to/samplers   # another copy of the package
"""
import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from _load import OtherLoad, cpu_name

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "samplers")  # default of --package

IMPORT_CHILD = """
import json, time
tic = time.perf_counter()
import samplers
print(json.dumps({"import": time.perf_counter() - tic, "file": samplers.__file__}))
"""

SAMPLE_CHILD = """
import json, time
t0 = time.perf_counter()
import samplers
from samplers.inference_data import arviz
t1 = time.perf_counter()
arviz()
t2 = time.perf_counter()
target = samplers.GaussianMixture(means=[[-2.0, 0.0], [2.0, 0.0]], weights=[0.3, 0.7])
idata = samplers.Langevin(metropolis=True).sample(target, draws=100, tune=100, chains=2,
                                                 rng=0, progressbar=False)
t3 = time.perf_counter()
assert idata.posterior["x"].shape == (2, 100, 2)
print(json.dumps({"import": t1 - t0, "arviz": t2 - t1, "sample": t3 - t2,
                  "file": samplers.__file__}))
"""

NEW_TARGET_CHILD = """
import json, time, warnings
import numba, numpy as np
import samplers
from samplers.inference_data import arviz
arviz()
warnings.simplefilter("ignore")
gauss = samplers.GaussianMixture(means=[[0.0, 0.0]], weights=[1.0])
samplers.Langevin(metropolis=True).sample(gauss, draws=100, tune=100, chains=2, rng=0,
                                          progressbar=False)  # the loop is loaded


@numba.njit
def logp_grad(x, params, grad_out):
    mean, precision, order = params
    lp = 0.0
    for i in range(x.shape[0]):
        g = 0.0
        for j in range(x.shape[0]):
            g -= precision[order[i], order[j]] * (x[j] - mean[j])
        grad_out[i] = g
        lp += 0.5 * g * (x[i] - mean[i])
    return lp


tic = time.perf_counter()
params = (np.zeros(3), np.eye(3), np.arange(3, dtype=np.int32))  # a params type never seen
target = samplers.Target(logp_grad, 3, params)
samplers.Langevin(metropolis=True).sample(target, draws=100, tune=100, chains=2, rng=0,
                                          progressbar=False)
print(json.dumps({"new_target": time.perf_counter() - tic, "file": samplers.__file__}))
"""


def copy_package(package, parent):
    """Copy ``package`` (no ``__pycache__``: no numba cache, no bytecode) to ``parent/samplers``."""
    shutil.copytree(package, os.path.join(parent, "samplers"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    return parent


def run_child(code, path, cache_dir):
    """Run ``code`` in a fresh interpreter with ``path`` first on ``PYTHONPATH``; return its JSON
    plus ``process`` (wall time of the whole child) and ``other_load`` (see ``_load.py``)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([path] + [p for p in [env.get("PYTHONPATH")] if p])
    env["NUMBA_CACHE_DIR"] = cache_dir
    with OtherLoad() as load:
        tic = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=path,
                              capture_output=True, text=True)
        wall = time.perf_counter() - tic
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = os.path.join(path, "samplers", "__init__.py")
    if os.path.realpath(result["file"]) != os.path.realpath(expected):
        raise RuntimeError(f"child imported {result['file']}, not the copy {expected}")
    result["process"] = wall
    result["other_load"] = load.fraction or 0.0
    return result


def measure(code, setup, attempts):
    """One measurement: ``run_child(code, *setup())``, retried (with a fresh ``setup()``)
    up to ``attempts`` times while other processes used more than 5% of the machine."""
    for attempt in range(1, attempts + 1):
        result = run_child(code, *setup())
        result["attempts"] = attempt
        if result["other_load"] <= 0.05:
            break
    return result


def summarise(runs, key):
    values = sorted(r[key] for r in runs)
    return values[0], values[len(values) // 2]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes for (i), (ii)")
    parser.add_argument("--cold-repeats", type=int, default=3, help="fresh processes for (iii)")
    parser.add_argument("--quick", action="store_true", help="smoke check: 2 warm, 1 cold")
    parser.add_argument("--attempts", type=int, default=5,
                        help="tries per measurement while the machine is busy (>5%% other load)")
    parser.add_argument("--package", default=PACKAGE,
                        help="the samplers/ directory to copy (default: this checkout's)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.cold_repeats = 2, 1

    import numba

    print(f"python {sys.version.split()[0]}, numba {numba.__version__}, "
          f"{os.cpu_count()} x {cpu_name()}; package copied from {args.package}")
    with tempfile.TemporaryDirectory(prefix="samplers-startup-") as tmp:
        warm_path = copy_package(args.package, os.path.join(tmp, "warm"))
        warm_cache = os.path.join(tmp, "warm-numba-cache")
        first = run_child(SAMPLE_CHILD, warm_path, warm_cache)  # fills caches and .pyc
        print(f"warming run (compiles, then cached): sample() {first['sample']:.2f} s")

        def warm_setup():
            return warm_path, warm_cache

        cold_dirs = itertools.count()

        def cold_setup():  # a fresh copy of the package and an empty cache every time
            i = next(cold_dirs)
            return (copy_package(args.package, os.path.join(tmp, f"cold{i}")),
                    os.path.join(tmp, f"cold{i}-numba-cache"))

        imports = [measure(IMPORT_CHILD, warm_setup, args.attempts) for _ in range(args.repeats)]
        warm = [measure(SAMPLE_CHILD, warm_setup, args.attempts) for _ in range(args.repeats)]
        cold = [measure(SAMPLE_CHILD, cold_setup, args.attempts)
                for _ in range(args.cold_repeats)]
        new_targets = [measure(NEW_TARGET_CHILD, warm_setup, args.attempts)
                       for _ in range(args.repeats)]

    runs = imports + warm + cold + new_targets
    worst = max(r["other_load"] for r in runs)
    print(f"{len(runs)} measurements in {sum(r['attempts'] for r in runs)} child processes; "
          f"CPU use of other processes during a kept measurement: at most {100 * worst:.1f}% "
          f"of {os.cpu_count()} CPUs"
          + ("" if worst <= 0.05 else "  (WARNING: the machine was not idle; rerun)"))
    for r in warm + cold:
        r["sample+arviz"] = r["sample"] + r["arviz"]

    rows = [("(i) `import samplers`", imports, "import")]
    for item, label, runs in (("(ii)", "warm", warm), ("(iii)", "cold", cold)):
        rows += [
            (f"ArviZ import ({label}-cache runs)", runs, "arviz"),
            (f"{item} first sample(), {label} cache, excluding ArviZ import", runs, "sample"),
            (f"{item} first sample(), {label} cache, including ArviZ import", runs,
             "sample+arviz"),
            (f"whole child process, {label} cache", runs, "process"),
        ]
    rows.append(("(iv) a new njit target with a never-seen params type, from `Target(...)` "
                 "to the end of its first sample(), in a process whose loop is loaded",
                 new_targets, "new_target"))
    print()
    print("| measurement | runs | best (s) | median (s) |")
    print("|---|---:|---:|---:|")
    for label, runs, key in rows:
        best, median = summarise(runs, key)
        print(f"| {label} | {len(runs)} | {best:.3f} | {median:.3f} |")

    goals = [
        ("`import samplers` < 0.5 s", summarise(imports, "import")[0], 0.5),
        ("first sample() beyond the ArviZ import, warm cache, < 1 s",
         summarise(warm, "sample")[0], 1.0),
        ("first sample() beyond the ArviZ import, cold cache, < 15 s",
         summarise(cold, "sample")[0], 15.0),
        ("first sample(), cold cache, ArviZ import included, <= 8 s (issue 14)",
         summarise(cold, "sample+arviz")[0], 8.0),
        ("a new target with a never-seen params type, loop loaded, <= 2 s (issue 14)",
         summarise(new_targets, "new_target")[0], 2.0),
    ]
    print()
    print("| goal | measured (best, s) | met |")
    print("|---|---:|---|")
    for label, value, limit in goals:
        print(f"| {label} | {value:.3f} | {'yes' if value <= limit else 'NO'} |")


if __name__ == "__main__":
    main()
