"""The Sweep page's submit and resume: record the sweep, queue its driver job and start a worker for it (pages only
submit; the worker runs the driver, which runs the trials on Ray). What can be checked here is checked first, so a
sweep that cannot run is refused with the reason instead of ending as a failed driver job."""

from __future__ import annotations

import importlib.util

from ..runs.store import RunStore, RunStoreError
from ..runs.sweeps import busy_runs, get_sweep
from ..runs.worker import ensure_worker
from .job import queue_sweep
from .ray_env import check_reachable, require_ray
from .trials import Trial, trials_of


def check_job(job: dict) -> None:
    """RayError when Ray is missing or ``job["address"]`` does not answer (within a few seconds); Ray is not imported
    (the dashboard's process never loads it: its worker does)."""
    if importlib.util.find_spec("ray") is None:
        require_ray()  # raises, with the command that installs it
    if job.get("address"):
        check_reachable(job["address"])


def submit_sweep(store: RunStore, trials: list[Trial], fixed: dict, job: dict) -> tuple[int, int]:
    """Queue sweep ``trials`` (``fixed``: the options every trial shares; ``job``: address, cpus_per_trial,
    gpus_per_trial, ray_dashboard) for the dashboard's worker; returns ``(sweep_id, driver run id)``."""
    check_job(job)
    sweep_id, run_id = queue_sweep(store, trials, fixed, job, source="ui")
    start_worker(store, run_id)
    return sweep_id, run_id


def resume_sweep(store: RunStore, sweep_id: int, job: dict) -> int:
    """Queue another driver job of sweep ``sweep_id``: it runs the trials not ``done``; returns its run id. Refused
    (RunStoreError) while a driver job or a trial of the sweep is queued or running."""
    check_job(job)
    store.reap()
    sweep = get_sweep(store, sweep_id)
    if sweep is None:
        raise RunStoreError(f"no sweep #{sweep_id} in the run store ({store.path})")
    busy = busy_runs(store, sweep_id)
    if busy:
        raise RunStoreError(f"sweep #{sweep_id} is still queued or running (run #{busy[0]}); stop it first")
    spec = sweep["spec"]
    _, run_id = queue_sweep(store, trials_of(spec), spec.get("fixed", {}), job, source="ui", sweep_id=sweep_id)
    start_worker(store, run_id)
    return run_id


def start_worker(store: RunStore, run_id: int) -> None:
    run = store.get_run(run_id)
    ensure_worker(store, run["device"] if run else "cpu")
