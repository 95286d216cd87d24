"""Print the JSON lines of benchmarks/defaults/results as a table: ``python benchmarks/defaults/show.py NAME ...``."""
import json
import os
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
KEYS = ("cpu_s", "max_mean_err_sd", "var_rel_err_max", "weights", "log_evidence",
        "log_evidence_se", "log_evidence_exact", "n_modes", "mode_occ", "mode_laplace",
        "divergences", "outside_support", "quartiles_x0", "r_mean", "quadrants", "error")
warn = "-w" in sys.argv
for name in [a for a in sys.argv[1:] if a != "-w"]:
    for line in open(os.path.join(RESULTS, f"{name}.jsonl")):
        r = json.loads(line)
        parts = [r["case"], r["sampler"], str(r["seed"]), str(r.get("path"))]
        for k in KEYS:
            v = r.get(k)
            if v is None:
                continue
            parts.append(f"{k}={round(v, 3) if isinstance(v, float) else v}")
        parts.append(f"nwarn={len(r['warnings'])}")
        print(" ".join(parts))
        if warn:
            for w in r["warnings"]:
                print("     ", w.replace("\n", " | ")[:400])
