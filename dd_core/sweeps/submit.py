"""The Sweep page's submit: record the sweep, queue its driver job and start a worker for it (pages only submit;
the worker runs the driver, which runs the trials on Ray)."""

from __future__ import annotations

from ..runs.store import RunStore
from ..runs.worker import ensure_worker
from .job import queue_sweep
from .trials import Trial


def submit_sweep(store: RunStore, trials: list[Trial], fixed: dict, job: dict) -> tuple[int, int]:
    """Queue sweep ``trials`` (``fixed``: the options every trial shares; ``job``: address, cpus_per_trial,
    gpus_per_trial, ray_dashboard) for the dashboard's worker; returns ``(sweep_id, driver run id)``."""
    sweep_id, run_id = queue_sweep(store, trials, fixed, job, source="ui")
    run = store.get_run(run_id)
    ensure_worker(store, run["device"] if run else "cpu")
    return sweep_id, run_id


def resume_sweep(store: RunStore, sweep_id: int, job: dict) -> int:
    """Queue another driver job of sweep ``sweep_id``: it runs the trials not ``done``; returns its run id. Refused
    (RunStoreError) while a driver job of the sweep is queued or running."""
    from ..runs.store import RunStoreError
    from ..runs.sweeps import driver_runs, get_sweep
    from .trials import trials_of

    sweep = get_sweep(store, sweep_id)
    if sweep is None:
        raise RunStoreError(f"no sweep #{sweep_id} in the run store ({store.path})")
    busy = driver_runs(store, sweep_id, active=True)
    if busy:
        raise RunStoreError(f"sweep #{sweep_id} is already queued or running (run #{busy[0]['id']})")
    _, run_id = queue_sweep(store, trials_of(sweep["spec"]), sweep["spec"].get("fixed", {}), job, source="ui",
                            sweep_id=sweep_id)  # fmt: skip
    run = store.get_run(run_id)
    ensure_worker(store, run["device"] if run else "cpu")
    return run_id
