"""What a trial gets from Ray: CPUs, GPUs and torch threads, and the default that fits the machine.

Default: one CPU (one torch thread) per trial, as many trials at a time as there are cores. On the 2-core CPU
``benchmarks/sweep_overhead.py`` measured 4 cpu-demo DM trials in 278 s that way against 336 s one at a time with
both threads (``docs/results.md``, "Sweeps"). A trial's torch threads always equal its CPUs, so trials side by side
never put more busy threads on the machine than it has cores.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass


@dataclass
class Resources:
    """Per trial: Ray's ``num_cpus`` / ``num_gpus`` of its actor, and the torch threads it uses."""

    cpus: float = 1.0
    gpus: float = 0.0
    threads: int = 1


def machine_cpus() -> int:
    """The CPUs this process may use (the affinity mask where there is one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


DEFAULT_CPUS_PER_TRIAL = 1.0


def trial_resources(cpus_per_trial: float | None, gpus_per_trial: float = 0.0) -> Resources:
    """The resources of each trial: ``cpus_per_trial`` (default 1: as many trials at a time as there are cores) and
    ``gpus_per_trial`` (fractions share a GPU); threads = the CPUs, rounded down, at least 1."""
    cpus = float(cpus_per_trial) if cpus_per_trial else DEFAULT_CPUS_PER_TRIAL
    return Resources(cpus=cpus, gpus=float(gpus_per_trial or 0.0), threads=max(1, math.floor(cpus)))
