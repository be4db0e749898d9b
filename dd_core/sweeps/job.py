"""A sweep's driver as a job of the per-device queue: queued by the Sweep page (a worker runs it) or by
``python -m dd_core sweep`` (which waits for the device and runs it itself).

While the driver job runs, the device is busy: the worker starts no other run there, and the trials, Ray actors of
``cpus_per_trial`` CPUs each with as many torch threads, never ask for more CPUs than Ray was given (every core of
this machine for a local Ray). Each driver job runs the sweep's trials that are not ``done`` yet, so a second job
of the same sweep resumes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from ..events import EventFn, ProgressEvent
from ..runs.queue import create_run_for, device_key
from ..runs.store import RunStore
from ..runs.sweeps import create_sweep, get_sweep, set_sweep_status, trial_runs
from ..spec import RunConfig
from .trials import Trial, sweep_spec, trials_of


def driver_config(sweep_id: int, dataset: str, job: dict, device: str | None, label: str | None = None) -> RunConfig:
    """The driver job of sweep ``sweep_id`` (``job``: address, cpus_per_trial, gpus_per_trial, ray_dashboard)."""
    cfg = RunConfig(kind="sweep", dataset=dataset, method=None, device=device, label=label)
    cfg.sweep = {"sweep_id": int(sweep_id), **job}
    return cfg.validate()


def queue_sweep(
    store: RunStore,
    trials: list[Trial],
    fixed: dict,
    job: dict,
    *,
    source: str,
    sweep_id: int | None = None,
    pid: int | None = None,
) -> tuple[int, int]:
    """Record a new sweep of ``trials`` (or take ``sweep_id`` again: resume) and queue its driver job on the device
    its trials use; returns ``(sweep_id, driver run id)``. ``pid``: the command that will claim it (CLI)."""
    dataset = trials[0].config["dataset"] if trials else "mnist-5k"
    device = "cuda" if (job.get("gpus_per_trial") or 0) > 0 else "cpu"
    driver_config(sweep_id or 1, dataset, job, device)  # a bad job is refused before anything is recorded
    if sweep_id is None:
        sweep_id = create_sweep(store, sweep_spec(trials, fixed), status="queued")
    else:
        set_sweep_status(store, sweep_id, "queued")
    methods = sorted({t.method for t in trials})
    label = f"sweep #{sweep_id}: {', '.join(methods)}, {len(trials)} trials"
    cfg = driver_config(sweep_id, dataset, job, device, label)
    run_id = create_run_for(
        store, cfg, status="queued", source=source, device=device_key(device), sweep_id=sweep_id, pid=pid
    )
    return sweep_id, run_id


def unfinished(store: RunStore, sweep_id: int, trials: list[Trial]) -> list[Trial]:
    """The trials whose newest run is not ``done`` (queued runs left by a killed driver are cancelled first)."""
    runs = trial_runs(store, sweep_id)
    for r in runs.values():
        if r["status"] == "queued":
            r["status"] = store.request_cancel(r["id"])
    return [t for t in trials if (runs.get(t.index) or {}).get("status") != "done"]


def run_sweep_job(
    store: RunStore,
    cfg: RunConfig,
    on_event: EventFn,
    should_stop: Callable[[], bool],
    on_update: Callable[[dict], None] | None = None,
) -> tuple[str, dict]:
    """Run the sweep's unfinished trials on Ray (local, or the cluster at ``cfg.sweep["address"]``); returns the
    final status (``done`` | ``cancelled``) and the record ``{"sweep_id", "engine", "ray_address", "status",
    "trials", "best", "seconds"}``. The sweep's own status follows (``failed`` / ``interrupted`` when this raises)."""
    from .driver import SweepDriver
    from .ray_env import check_feasible, ray_session, require_ray
    from .resources import trial_resources
    from .results import best_of, sweep_results
    from .table import attach_ipc, best_per_method

    job = cfg.sweep or {}
    sweep_id = int(job["sweep_id"])
    sweep = get_sweep(store, sweep_id, reconcile=False)
    if sweep is None:
        from ..errors import ConfigError

        raise ConfigError(f"no sweep #{sweep_id} in the run store ({store.path})", field="sweep")
    trials = trials_of(sweep["spec"])
    todo = unfinished(store, sweep_id, trials)
    res = trial_resources(job.get("cpus_per_trial"), job.get("gpus_per_trial") or 0.0)
    start = time.perf_counter()

    def update(state: dict) -> None:
        on_event(cast(ProgressEvent, {"type": "progress", "phase": "sweep", **state}))
        if on_update is not None:
            on_update(state)

    set_sweep_status(store, sweep_id, "running")
    try:
        with ray_session(job.get("address"), dashboard=bool(job.get("ray_dashboard"))) as address:
            check_feasible(require_ray(), res.cpus, res.gpus)
            status = SweepDriver(store, sweep_id, todo, res, should_stop=should_stop, on_update=update).run()
    except KeyboardInterrupt:
        set_sweep_status(store, sweep_id, "interrupted")
        raise
    except BaseException:
        set_sweep_status(store, sweep_id, "failed")
        raise
    set_sweep_status(store, sweep_id, status)
    results = attach_ipc(sweep_results(store, sweep_id, trials), trials)  # each trial's IPC, grid key or not
    record = {
        "sweep_id": sweep_id,
        "engine": "ray",
        "ray_address": address,
        "status": status,
        "ran": len(todo),
        "trials": results,
        "best": best_of(results),
        "best_per_method": [c.to_dict() for c in best_per_method(results)],
        "seconds": time.perf_counter() - start,
    }
    return status, record
