"""Wall time of a 24-configuration ladder sweep, serially and on local processes; its overhead.

The sweep (``samplers.mixing.ladder_sweep``): two unit Gaussians 6 apart in
2-D (``two_well_mixture(3.0, dim=2)``), chains started in the left one;
simulated and parallel tempering x 3 numbers of levels (3, 5, 8) x 2
``beta_min`` (0.02, 0.1) x 2 spacings (geometric, linear) = 24 tasks, each
200 chains to 2,000 steps (checkpoints every 50), MALA exploration with
h = 0.05, 200 bootstrap replicates, simulated tempering with its 2,000-step
pilot.

Overhead: the part of the sweep's time not spent inside the samplers,

    overhead = 1 - sum_tasks(sampling_time) / (wall x workers),

where ``sampling_time`` is each run's in-sampler wall time (pilot included)
and ``workers`` is 1 serially (numba using every core inside each run) and
the number of processes otherwise (1 numba thread each).  It counts the
distance computations and bootstrap, ESS, the InferenceData conversion, the
task dispatch and, for the first sweep on processes ("cold"), their start-up
(spawn + imports + numba cache); later sweeps reuse the workers ("warm").

"other load" is the share of the machine's CPUs that other processes used
during the sweep (``_load.OtherLoad``): figures taken under load are not
comparable.  Best of ``--repeats`` sweeps (by wall time).

Run:  python benchmarks/bench_mixing.py [--processes 2] [--repeats 2] [--chains 200] [--quick]
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from _load import OtherLoad  # noqa: E402
from samplers import mixing  # noqa: E402


def sweep(processes, quick, chains):
    target = mixing.two_well_mixture(3.0, dim=2)
    last = 500 if quick else 2000
    start = time.perf_counter()
    ds = mixing.ladder_sweep(target, n_levels=(3, 5, 8), beta_min=(0.02, 0.1),
                             spacing=("geometric", "linear"), step_size=0.05, chains=chains,
                             checkpoints=np.arange(0, last + 1, 50), seed=0,
                             pilot_steps=500 if quick else 2000, processes=processes)
    wall = time.perf_counter() - start
    return ds, wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--chains", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many sweeps")
    args = parser.parse_args()
    # Warm the numba cache and the imports of this process first.
    mixing.ladder_sweep(mixing.two_well_mixture(3.0, dim=2), n_levels=(3,), chains=10,
                        checkpoints=[0, 50], n_boot=10, pilot_steps=100, processes=1)
    rows = []
    tables = {}

    def workers():
        return [pid for pool in mixing.sweep._POOLS.values() for pid in pool._processes]

    # The first sweep on processes also starts them (spawn, imports, numba
    # cache): reported on its own row; later sweeps reuse the workers.
    for processes, label in ((1, "serial"), (args.processes, "cold"), (args.processes, "warm")):
        best = None
        for _ in range(1 if label == "cold" else args.repeats):
            with OtherLoad(workers) as load:
                ds, wall = sweep(processes, args.quick, args.chains)
            inside = float(ds["sampling_time"].sum())
            row = (processes, label, int(ds["sampling_time"].size), wall, inside,
                   1.0 - inside / (wall * processes), load.fraction)
            if best is None or wall < best[3]:
                best, tables[processes] = row, ds
        rows.append(best)
    print(f"{args.chains} chains per task, best of {args.repeats} (the cold row: one sweep)")
    print(f"{'processes':>9} {'pool':>6} {'tasks':>5} {'wall (s)':>9} {'in samplers (s)':>16} "
          f"{'overhead':>9} {'other load':>10}")
    for processes, label, tasks, wall, inside, overhead, other in rows:
        other = "n/a" if other is None else f"{other:.0%}"
        pool = "-" if processes == 1 else label
        print(f"{processes:>9} {pool:>6} {tasks:>5} {wall:>9.1f} {inside:>16.1f} {overhead:>9.1%} "
              f"{other:>10}")
    print(f"speed-up on {args.processes} warm processes: {rows[0][3] / rows[2][3]:.2f}x")
    same = tables[1].drop_vars(list(mixing.sweep.TIMINGS)).identical(
        tables[args.processes].drop_vars(list(mixing.sweep.TIMINGS)))
    print(f"identical tables (timings aside): {same}")


if __name__ == "__main__":
    main()
