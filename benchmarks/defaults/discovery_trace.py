"""When does mode discovery find each mode?  ``PYTHONPATH=. python benchmarks/defaults/discovery_trace.py CASE ST|PT SEED [TUNE]``.

Wraps ``ModeDiscovery._survey`` (no package change) and prints, per discovery call, the
warm-up step, the evaluations spent and the modes known (their first coordinate)."""
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import samplers  # noqa: E402
from samplers.tempering import adaptation  # noqa: E402
from cases import CASES  # noqa: E402

name, kind, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
tune = int(sys.argv[4]) if len(sys.argv) > 4 else None
target, exact = CASES[name]()
orig = adaptation.ModeDiscovery._survey


def traced(self, target, state, starts, points, seen, steps):
    t0 = time.process_time()
    before = self.evaluations
    orig(self, target, state, starts, points, seen, steps)
    print(f"  step {int(state.steps.max()):6d}: {starts.shape[0]:5d} chain starts, budget "
          f"{int(adaptation.DISCOVERY_SHARE * steps * state.x.shape[0] * self.n_levels):8d} evals, spent {self.evaluations - before:8d}, "
          f"{time.process_time() - t0:6.2f} s; modes x0 = "
          f"{[round(float(m.location[0]), 2) for m in self.modes]}", flush=True)


adaptation.ModeDiscovery._survey = traced
warnings.simplefilter("ignore")
make = {"ST": samplers.SimulatedTempering, "PT": samplers.ParallelTempering}[kind]
idata = make().sample(target, draws=2000, chains=4, rng=seed, tune=tune, progressbar=False)
t = idata.tempering
print("log_evidence", float(t.log_evidence), "+-", float(t.log_evidence_se), "exact", exact.get("log_z"))
