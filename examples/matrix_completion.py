"""Uncertainty for matrix completion: the posterior of the missing entries.

Run:  python examples/matrix_completion.py [output.png]   (default matrix_completion.png)

A rank-2 PSD matrix M = X* X*^T (d = 60) is observed, with noise, on 600 of
its 1830 distinct entries.  MatrixLangevin samples p(X) ~ exp(-beta sum over
observed (X X^T - M)_ij^2); the figure shows the chains' distance to the
orbit of the minimiser, the posterior sd of every unobserved entry (larger
where rows have few observations) and the 90% interval coverage of the true
unobserved entries.  Completion costs O(|observed| k) per step, never a dense
d x d matrix, so d in the thousands runs.
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from samplers.matrix import MatrixLangevin, synthetic_problem
from samplers.plots import plot_distance_trace, plot_entry_sd, plot_interval_coverage

out = sys.argv[1] if len(sys.argv) > 1 else "matrix_completion.png"
problem, truth = synthetic_problem("completion", 60, 2, n_observed=600, noise_std=0.005, rng=0)
print(problem)
idata = MatrixLangevin().sample(problem, draws=2000, tune=1000, chains=4, thin=10, rng=1)
summary = idata.matrix_summary
print("R-hat of invariants:", {str(name): round(float(r), 3) for name, r in
                               zip(summary["invariant"].values, summary["r_hat"].values)})
unobserved = ~summary["observed"].values
iu = np.triu_indices(problem.d)
inside = (summary["M_lower"].values <= truth.M) & (truth.M <= summary["M_upper"].values)
print(f"90% intervals cover {inside[iu][unobserved[iu]].mean():.1%} of the "
      f"{unobserved[iu].sum()} unobserved entries")

fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
plot_distance_trace(idata, axes[0])
plot_entry_sd(idata, axes[1])
plot_interval_coverage(idata, truth.M, axes[2])
fig.suptitle("Matrix completion posterior (d=60, k=2, 600 observed entries): MatrixLangevin")
fig.tight_layout()
fig.savefig(out, dpi=110)
print("wrote", out)
