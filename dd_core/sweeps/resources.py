"""What a trial gets from Ray (CPUs, GPUs, torch threads), the default that fits the machine, and the checked
``sweep`` part of a sweep's driver job (``RunConfig(kind="sweep", sweep={...})``).

Default on a CPU: one trial at a time with every core (``benchmarks/sweep_overhead.py`` measured it against one core
per trial with as many trials at a time: see ``docs/results.md``, "Sweeps"). A trial's torch threads always equal
its CPUs, so trials side by side never put more busy threads on the machine than it has cores.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..errors import ConfigError

JOB_KEYS = ("sweep_id", "address", "cpus_per_trial", "gpus_per_trial", "ray_dashboard")


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


def trial_resources(cpus_per_trial: float | None, gpus_per_trial: float = 0.0) -> Resources:
    """The resources of each trial: ``cpus_per_trial`` (default: every CPU of this machine, one trial at a time) and
    ``gpus_per_trial`` (fractions share a GPU); threads = the CPUs, rounded down, at least 1."""
    cpus = float(cpus_per_trial) if cpus_per_trial else float(machine_cpus())
    return Resources(cpus=cpus, gpus=float(gpus_per_trial or 0.0), threads=max(1, math.floor(cpus)))


def check_resources(cpus_per_trial: float | None, gpus_per_trial: float | None) -> None:
    """ConfigError naming the flag when a value is out of range (before Ray starts)."""
    if cpus_per_trial is not None and not (isinstance(cpus_per_trial, int | float) and cpus_per_trial > 0):
        raise ConfigError(f"--cpus-per-trial {cpus_per_trial}: must be > 0 (e.g. 1 or 2)", field="cpus_per_trial")
    if gpus_per_trial is not None and not (isinstance(gpus_per_trial, int | float) and gpus_per_trial >= 0):
        raise ConfigError(
            f"--gpus-per-trial {gpus_per_trial}: must be >= 0 (fractions share a GPU, e.g. 0.5)", field="gpus_per_trial"
        )


def check_sweep_job(job: dict | None) -> dict:
    """The ``sweep`` part of a driver job, checked: ``{"sweep_id": int, "address": str | None, "cpus_per_trial":
    float | None, "gpus_per_trial": float, "ray_dashboard": bool}``."""
    if not isinstance(job, dict) or not isinstance(job.get("sweep_id"), int) or job["sweep_id"] < 1:
        raise ConfigError("a sweep job needs the id of its sweep (sweep.sweep_id)", field="sweep")
    unknown = set(job) - set(JOB_KEYS)
    if unknown:
        raise ConfigError(f"unknown sweep job option(s) {sorted(unknown)}; valid: {', '.join(JOB_KEYS)}", field="sweep")
    out = {"address": None, "cpus_per_trial": None, "gpus_per_trial": 0.0, "ray_dashboard": False, **job}
    check_resources(out["cpus_per_trial"], out["gpus_per_trial"])
    if out["address"] is not None and not isinstance(out["address"], str):
        raise ConfigError("sweep.address: give auto, HOST:PORT or ray://HOST:PORT", field="address")
    return out
