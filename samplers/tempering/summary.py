"""A printable summary of a tempering run, read from ``idata.tempering``."""
import numpy as np

__all__ = ["TemperingSummary", "tempering_summary"]


class TemperingSummary:
    """Per-level table and run-level figures of a tempering run; ``print`` it.

    ``table`` is a pandas DataFrame indexed by level: ``beta``, ``log_z``
    (log Z(beta) - log Z(1)), ``log_z_se``, ``occupancy``, ``swap_acceptance``
    (to the next level) and, for simulated tempering, the mean ``log_weight``.
    """

    def __init__(self, idata):
        import pandas as pd

        if "tempering" not in idata.groups():
            raise ValueError("idata has no tempering group: it was not made by a tempering sampler")
        ds = idata["tempering"]
        self.sampler = idata.posterior.attrs.get("sampler", "?")
        n = ds.sizes["level"]
        acceptance = np.append(ds["swap_acceptance"].values, np.nan)
        columns = {"beta": ds["beta"].values, "log_z": ds["log_z"].values,
                   "log_z_se": ds["log_z_se"].values, "occupancy": ds["occupancy"].values,
                   "swap_acceptance": acceptance}
        if "log_weights" in ds:
            columns["log_weight"] = ds["log_weights"].values.mean(axis=0)
        self.table = pd.DataFrame(columns, index=pd.RangeIndex(n, name="level"))
        self.round_trips = ds["round_trips"].values
        self.communication_barrier = float(ds["communication_barrier"])
        self.suggested_levels = int(ds["suggested_levels"])
        self.steps = ds["steps"].values

    def __str__(self):
        lines = [f"{self.sampler}: {len(self.table)} levels",
                 self.table.to_string(float_format=lambda v: f"{v:.4g}"),
                 f"round trips per chain: {self.round_trips.tolist()}",
                 f"steps per chain: {self.steps.tolist()}",
                 f"communication barrier Lambda = {self.communication_barrier:.3g} "
                 f"(suggested levels about 2 Lambda: {self.suggested_levels})"]
        return "\n".join(lines)

    __repr__ = __str__


def tempering_summary(idata):
    """The :class:`TemperingSummary` of a simulated or parallel tempering run."""
    return TemperingSummary(idata)
