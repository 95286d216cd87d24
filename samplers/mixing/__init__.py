"""Mixing-time laboratory: how long a sampler takes to reach its target.

* ``distance_curve`` / ``mixing_time``: many independent chains from one
  initial distribution, the distance of the ensemble to the target over time
  with a bootstrap band, and the first time below ``eps``;
* ``autocorrelation_time``, ``tunnelling_rate``, ``round_trip_rate``,
  ``communication_barrier``, ``transition_times``: measures of one run;
* ``kramers_time``, ``transition_time``: the Eyring-Kramers and exact mean
  transition times of overdamped Langevin between the modes of an
  equal-weight two-Gaussian mixture;
* ``ladder_sweep``, ``separation_sweep``: grids of runs, serial, on local
  processes or on a Dask cluster, as a tidy ``xarray.Dataset``.

Nothing heavy is imported here (ArviZ, xarray, scipy.stats, matplotlib and
Dask are imported inside the functions that need them), so ``import
samplers`` stays fast.
"""
from .chain import (Rate, autocorrelation_time, communication_barrier, round_trip_rate,
                    transition_times, tunnelling_rate)
from .curve import DistanceCurve, MixingTime, distance_curve, mixing_time
from .distance import METRICS, distance
from .kramers import kramers_time, predicted_mixing_time, transition_time, two_well_mixture
from .sweep import ladder_sweep, make_ladder, separation_sweep
from . import plots  # matplotlib itself is imported only when a figure is made

__all__ = ["distance", "METRICS", "distance_curve", "mixing_time", "DistanceCurve", "MixingTime",
           "autocorrelation_time", "tunnelling_rate", "transition_times", "round_trip_rate",
           "communication_barrier", "Rate", "kramers_time", "transition_time",
           "predicted_mixing_time", "two_well_mixture", "ladder_sweep", "separation_sweep",
           "make_ladder", "plots"]
