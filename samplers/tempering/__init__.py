"""Tempering: inverse-temperature ladders (schedules) and their adaptation."""
from .ladders import (
    DEFAULT_BETA_MIN,
    CommunicationBarrier,
    check_ladder,
    communication_barrier,
    default_ladder,
    equalize,
    geometric,
)

__all__ = [
    "DEFAULT_BETA_MIN",
    "CommunicationBarrier",
    "check_ladder",
    "communication_barrier",
    "default_ladder",
    "equalize",
    "geometric",
]
