"""A printable summary of a tempering run, read from ``idata.tempering``."""
import numpy as np

from ..inference_data import TEMPERING, RunAttr, TemperingVar as V, run_attrs
from .evidence import untrusted_message

__all__ = ["TemperingSummary", "tempering_summary"]

#: Coordinates of each mode's location shown in the printout.
SHOWN_COORDINATES = 3


class TemperingSummary:
    """Per-level table and run-level figures of a tempering run; ``print`` it.

    ``table`` is a pandas DataFrame indexed by level: ``beta``, ``log_z``
    (log Z(beta) - log Z(1)), ``log_z_se``, ``occupancy``, ``swap_acceptance``
    (to the next level) and, for simulated tempering, the mean ``log_weight``;
    where the run has the evidence check (``tempering.evidence.check_evidence``),
    also ``log_z_reverse`` (the reverse stepping stone) and ``overlap_ess``
    (to the next level).  ``log_z_trusted`` is False when a pair failed the
    check (``None`` without it); the printout then names the pairs.  On a reference
    path ``log_evidence`` and ``log_evidence_se`` (log of the integral of p; else
    ``None``); with ``reference="modes"``, ``modes``: a DataFrame of the modes found
    (``log_p``, ``laplace_weight``, ``occupancy``, and the first coordinates of the
    location), else ``None``.
    """

    def __init__(self, idata):
        import pandas as pd

        if TEMPERING not in idata.groups():
            raise ValueError("idata has no tempering group: it was not made by a tempering sampler")
        ds = idata[TEMPERING]
        self.sampler = run_attrs(idata).get(RunAttr.SAMPLER, "?")
        n = ds.sizes["level"]
        acceptance = np.append(ds[V.SWAP_ACCEPTANCE].values, np.nan)
        columns = {"beta": ds[V.BETA].values, "log_z": ds[V.LOG_Z].values,
                   "log_z_se": ds[V.LOG_Z_SE].values, "occupancy": ds[V.OCCUPANCY].values,
                   "swap_acceptance": acceptance}
        if V.LOG_WEIGHTS in ds:
            columns["log_weight"] = ds[V.LOG_WEIGHTS].values.mean(axis=0)
        self.log_z_trusted = None
        self.evidence_warning = None
        if V.LOG_Z_TRUSTED in ds:
            columns["log_z_reverse"] = ds[V.LOG_Z_REVERSE].values
            columns["overlap_ess"] = np.append(ds[V.OVERLAP_ESS].values, np.nan)
            self.log_z_trusted = bool(ds[V.LOG_Z_TRUSTED])
            self.evidence_warning = untrusted_message(ds)
        self.table = pd.DataFrame(columns, index=pd.RangeIndex(n, name="level"))
        self.round_trips = ds[V.ROUND_TRIPS].values
        self.communication_barrier = float(ds[V.COMMUNICATION_BARRIER])
        self.suggested_levels = int(ds[V.SUGGESTED_LEVELS])
        self.steps = ds[V.STEPS].values
        self.log_evidence = self.log_evidence_se = None
        if V.LOG_EVIDENCE in ds:
            self.log_evidence = float(ds[V.LOG_EVIDENCE])
            self.log_evidence_se = float(ds[V.LOG_EVIDENCE_SE])
        self.modes = None
        if V.MODE_LOCATION in ds:
            location = ds[V.MODE_LOCATION].values
            modes = {"log_p": ds[V.MODE_LOG_P].values,
                     "laplace_weight": ds[V.MODE_LAPLACE_WEIGHT].values,
                     "occupancy": ds[V.MODE_OCCUPANCY].values}
            if V.MODE_OCCUPANCY_SE in ds:
                modes["occupancy_se"] = ds[V.MODE_OCCUPANCY_SE].values
            for j in range(min(location.shape[1], SHOWN_COORDINATES)):
                modes[f"x[{j}]"] = location[:, j]
            self.modes = pd.DataFrame(modes, index=pd.RangeIndex(location.shape[0], name="mode"))

    def __str__(self):
        lines = [f"{self.sampler}: {len(self.table)} levels",
                 self.table.to_string(float_format=lambda v: f"{v:.4g}"),
                 f"round trips per chain: {self.round_trips.tolist()}",
                 f"steps per chain: {self.steps.tolist()}",
                 f"communication barrier Lambda = {self.communication_barrier:.3g} "
                 f"(suggested levels about 2 Lambda: {self.suggested_levels})"]
        if self.log_evidence is not None:
            lines.append(f"log evidence (log of the integral of p, reference path) = "
                         f"{self.log_evidence:.4g} +- {self.log_evidence_se:.2g}")
        if self.modes is not None:
            lines.append("modes found (Laplace weight; occupancy at beta = 1, nearest mode):")
            lines.append(self.modes.to_string(float_format=lambda v: f"{v:.4g}"))
        if self.log_z_trusted is not None:
            lines.append(
                "log Z standard errors: trusted (forward and reverse stepping stone agree, "
                "overlap ESS sufficient)" if self.log_z_trusted else "log Z: " + self.evidence_warning)
        return "\n".join(lines)

    __repr__ = __str__


def tempering_summary(idata):
    """The :class:`TemperingSummary` of a simulated or parallel tempering run."""
    return TemperingSummary(idata)
