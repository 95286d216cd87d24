"""Tempering: simulated tempering and parallel tempering on a ladder of inverse temperatures.

Split as in Pigeons.jl: the *explorer* is the Langevin transition
(``kernels.langevin``), *communication* the level moves and swaps
(``kernels.communication``), the *schedule* the ladder and its adaptation
(``samplers.ladders``, applied between tuning rounds by ``adaptation``), and the
*evidence* the log partition functions (``evidence``).
"""
from .parallel import ParallelTempering
from .simulated import SimulatedTempering
from .summary import TemperingSummary, tempering_summary

__all__ = ["SimulatedTempering", "ParallelTempering", "TemperingSummary", "tempering_summary"]
