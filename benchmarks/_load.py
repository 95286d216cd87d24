"""CPU time that *other* processes used while a benchmark ran (Linux ``/proc/stat``).

Timings on a small shared machine are only meaningful when nothing else runs:
with 2 cores, one busy neighbour halves a 2-thread benchmark and can stall
spin-waiting OpenMP threads for whole scheduler time slices.  Both benchmark
scripts wrap their measurements in :class:`OtherLoad` and print the result,
so a contaminated table is visible as such.  :func:`cpu_name` names the CPU the
figures come from (the session machines differ from day to day).
"""
import os
import time

__all__ = ["OtherLoad", "cpu_name"]


def cpu_name():
    """The CPU's model name (Linux ``/proc/cpuinfo``), or ``"unknown CPU"``."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_busy_seconds():
    """CPU seconds spent busy by the whole machine since boot, or ``None`` off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def _own_seconds(pids=()):
    """CPU seconds of this process, its finished children and the live processes ``pids``
    (worker processes kept between measurements)."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


class OtherLoad:
    """Context manager: ``fraction`` of the machine's CPUs used by other processes.

    ``pids``: a callable giving the live worker processes that count as ours.
    """

    def __init__(self, pids=tuple):
        self._pids = pids

    def __enter__(self):
        self._busy, self._wall = _machine_busy_seconds(), time.perf_counter()
        self._own = _own_seconds(self._pids())
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._wall
        busy = _machine_busy_seconds()
        if busy is None or self._busy is None:
            self.fraction = None
        else:
            other = (busy - self._busy) - (_own_seconds(self._pids()) - self._own)
            self.fraction = max(0.0, other) / (wall * (os.cpu_count() or 1))
        return False

    def report(self):
        if self.fraction is None:
            return "CPU use of other processes: unknown (no /proc/stat)"
        text = (f"CPU use of other processes during the measurements: {100 * self.fraction:.1f}% "
                f"of {os.cpu_count()} CPUs")
        if self.fraction > 0.05:
            text += "  (WARNING: the machine was not idle; timings are unreliable, rerun)"
        return text
