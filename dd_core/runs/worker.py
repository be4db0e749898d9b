"""The background worker: ``python -m dd_core worker [RUN_ID]`` claims queued runs one at a time (per device),
executes them through ``dd_core.jobs`` and streams events into the run store; then claims the next queued run.

Pages call :func:`submit` (validate → queue → start a worker when none is running); the CLI calls
:func:`run_recorded` (the run executes in the CLI's own process and is recorded in the same store).

SIGTERM (or SIGINT) stops a worker like a Stop from the dashboard: the run ends ``cancelled`` at its next check,
keeping its last complete set, no further run is claimed, and the worker exits 143 (130). Workers started here are
waited for by a thread each, so a finished worker never stays a zombie of the dashboard's process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from ..device import pick_device
from ..errors import DDError
from ..events import Event, EventFn, StopFn
from ..paths import data_home
from ..spec import RunConfig
from .queue import create_run_for, device_key
from .recorder import RunRecorder
from .store import RunStore, RunStoreError

WORKER_NICE = 10  # below the dashboard's own process: pages stay responsive while a run takes every core


def lower_priority(increment: int = WORKER_NICE) -> None:
    """Yield the CPU to the dashboard (and the browser) whenever they need it. A run alone on the machine keeps its
    full speed: niceness only matters when something else wants the cores."""
    try:
        os.nice(increment)
    except (AttributeError, OSError):  # not on this platform / not permitted: run at normal priority
        pass


_CHILDREN: dict[int, subprocess.Popen] = {}  # workers this process started and has not yet seen exit
_CHILDREN_LOCK = threading.Lock()


def _wait_for(proc: subprocess.Popen) -> None:
    """Reaper thread body: wait for the worker to exit (so it does not stay a zombie), then forget it."""
    try:
        proc.wait()
    finally:
        with _CHILDREN_LOCK:
            _CHILDREN.pop(proc.pid, None)


def reap_children() -> list[int]:
    """Collect the exit status of finished workers this process started; return the pids still running."""
    with _CHILDREN_LOCK:
        procs = list(_CHILDREN.values())
    for proc in procs:
        if proc.poll() is not None:
            with _CHILDREN_LOCK:
                _CHILDREN.pop(proc.pid, None)
    with _CHILDREN_LOCK:
        return sorted(_CHILDREN)


def launch_worker(run_id: int | None = None) -> int:
    """Start a detached worker process (its own session: it outlives the page's script run); return its pid. A
    thread waits for it, so a finished worker never stays a zombie of this (long-lived) process."""
    reap_children()
    log = open(data_home() / "worker.log", "ab")
    cmd = [sys.executable, "-m", "dd_core", "worker"] + ([str(run_id)] if run_id is not None else [])
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=root,
            env=env,
        )
    finally:
        log.close()
    with _CHILDREN_LOCK:
        _CHILDREN[proc.pid] = proc
    threading.Thread(target=_wait_for, args=(proc,), name=f"dd-worker-reaper-{proc.pid}", daemon=True).start()
    return proc.pid


def submit(store: RunStore, cfg: RunConfig, *, source: str = "ui", start_worker: bool = True) -> int:
    """Validate ``cfg``, queue it, and start a worker unless one is already running on that device."""
    cfg.validate()
    device = device_key(cfg.device)
    run_id = create_run_for(store, cfg, status="queued", source=source, device=device)
    if start_worker:
        ensure_worker(store, device)
    return run_id


def ensure_worker(store: RunStore, device: str) -> int | None:
    """Start a worker when runs (not a sweep's trials) are queued and none is running on ``device`` (dead ones are
    reaped first)."""
    reap_children()
    store.reap()
    if any(r["device"] == device for r in store.list_runs(status="running")):
        return None
    if not any(claimable(r) for r in store.list_runs(status="queued")):
        return None  # nothing a worker would claim (a sweep's queued trials are its driver's)
    return launch_worker()


def claimable(run: dict) -> bool:
    """Whether a worker may claim this queued run: not a sweep's trial, nor a sweep queued by the CLI (which waits
    for the device and runs it itself)."""
    return run.get("trial") is None and not (run["kind"] == "sweep" and run["source"] == "cli")


# runs of a kind that lives above this layer (``sweep``: dd_core.sweeps.job.run_sweep_job), given by the command that
# starts the worker: kind -> fn(store, cfg, on_event, should_stop) -> (status, record)
Executors = dict[str, Callable[..., tuple[str, dict]]]


def execute_run(
    store: RunStore, run: dict, stop_event: threading.Event | None = None, executors: Executors | None = None
) -> str:
    """Execute one claimed run to its final status; never raises for a failing job. ``stop_event`` set (SIGTERM)
    stops the run like a cancel; ``executors`` run the kinds the engine's jobs do not (a sweep's driver)."""
    from ..jobs import execute

    run_id = run["id"]
    writer = RunRecorder(store, run_id, stop_event=stop_event).start_heartbeat()
    status, record, error = "failed", None, None
    try:
        cfg = RunConfig.from_dict(run["config"]).validate()
        if cfg.kind in (executors or {}):  # e.g. a sweep's driver: its trials run on Ray and are recorded by it
            status, record = (executors or {})[cfg.kind](store, cfg, writer, writer.should_stop)
        elif cfg.kind == "sweep":
            raise DDError("this worker cannot run a sweep's driver; start workers with `python -m dd_core worker`")
        else:
            device = pick_device(cfg.device)
            status, record = execute(cfg, device, store.artifacts_dir(run_id), writer, writer.should_stop, store)
    except DDError as err:
        error = str(err)
    except Exception as err:  # noqa: BLE001 - a crash: the message in the store, the traceback in the run's folder
        error = f"{type(err).__name__}: {err}"
        (store.artifacts_dir(run_id) / "error.txt").write_text(traceback.format_exc())
    finally:
        writer.close()
    try:
        store.set_status(run_id, status, error=error, summary=record)
    except RunStoreError:  # reaped or deleted meanwhile: leave its recorded state alone
        pass
    return status


def work(
    run_id: int | None = None,
    store: RunStore | None = None,
    stop_event: threading.Event | None = None,
    executors: Executors | None = None,
) -> int:
    """Worker main loop: claim ``run_id`` (or the oldest queued run), execute, repeat while runs are queued and
    ``stop_event`` is not set. Returns the number of runs executed."""
    store = store or RunStore()
    done = 0
    while stop_event is None or not stop_event.is_set():
        first = run_id if done == 0 else None
        device = device_key(None)
        run = store.claim_next_queued(device, run_id=first, pid=os.getpid())
        if run is None and first is not None:
            run = store.claim_next_queued(device, pid=os.getpid())
        if run is None:
            return done
        execute_run(store, run, stop_event, executors)
        done += 1
    return done


class StopSignal(threading.Event):
    """Set by SIGTERM / SIGINT inside :func:`stop_on_signals`; ``signum`` says which."""

    signum: int | None = None


@contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[StopSignal]:
    """While inside, SIGTERM / SIGINT set the yielded event instead of killing the process: the running job stops at
    its next check, as after a Stop in the dashboard. Main thread only."""
    stop = StopSignal()

    def handler(signum, frame) -> None:  # only a flag: no I/O inside a signal handler
        stop.signum = signum
        stop.set()

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_recorded(
    store: RunStore,
    cfg: RunConfig,
    device: torch.device,
    on_event: EventFn | None = None,
    out_dir: Path | None = None,
    should_stop: StopFn | None = None,
) -> tuple[int, str, dict]:
    """Run ``cfg`` in this process (the CLI) and record it in the store like a worker would; artifacts go to
    ``out_dir`` (default: the run's folder in the store). The job stops cooperatively when the dashboard cancels
    the run or ``should_stop()`` (e.g. the CLI's SIGINT / SIGTERM flag) turns true; the run is then ``cancelled``."""
    from ..jobs import execute

    cfg.validate()
    dev = f"cuda:{device.index or 0}" if device.type == "cuda" else "cpu"
    run_id = create_run_for(store, cfg, status="running", source="cli", device=dev)
    writer = RunRecorder(store, run_id).start_heartbeat()

    def both(event: Event) -> None:
        writer(event)
        if on_event is not None:
            on_event(event)

    try:
        stop = writer.should_stop if should_stop is None else lambda: should_stop() or writer.should_stop()
        status, record = execute(cfg, device, out_dir or store.artifacts_dir(run_id), both, stop, store)
    except DDError as err:
        writer.close()
        store.set_status(run_id, "failed", error=str(err))
        raise
    except KeyboardInterrupt:  # a second Ctrl-C aborts at once: the run did not fail, it was cut short
        writer.close()
        store.set_status(run_id, "interrupted", error="aborted (a second Ctrl-C) before it could stop cleanly")
        raise
    except BaseException as err:
        writer.close()
        store.set_status(run_id, "failed", error=f"{type(err).__name__}: {err}")
        raise
    writer.close()
    store.set_status(run_id, status, summary=record)
    return run_id, status, record
