"""What runs on a Ray node for one trial: ``jobs.execute`` with events shipped to the hub, never the run store.

A trial is a Ray actor (``TrialActor``), not a task: while a task blocks in ``ray.get`` (every event batch asks the
hub whether to stop) Ray lends its CPUs to other tasks, which would run more trials at once than
``--cpus-per-trial`` allows; an actor keeps its resources until it is killed.

The trial writes its artifacts into a temporary folder of its node and returns the final set and PNG grids as bytes
with its record; the driver puts them into the run's folder. Snapshots travel inside their events (CPU copies).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ..errors import DatasetError, DDError

FLUSH_EVERY = 1.0  # seconds between event batches (an eval or a snapshot goes at once): a Ray call each


class Relay:
    """The trial's ``on_event`` and ``should_stop``: events batched to the hub, whose reply says whether to stop."""

    def __init__(self, hub: Any, trial: int, flush_every: float = FLUSH_EVERY) -> None:
        self.hub, self.trial, self.flush_every = hub, trial, flush_every
        self._buffer: list[dict] = []
        self._last = time.monotonic()
        self._stop = False
        self._lock = threading.Lock()

    def __call__(self, event: dict) -> None:
        event = dict(event)
        if event.get("type") == "snapshot":
            event["synthetic"] = event["synthetic"].detached()  # CPU tensors: the driver may have no GPU
        with self._lock:
            self._buffer.append(event)
        if event.get("type") in ("eval", "snapshot") or time.monotonic() - self._last >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        import ray

        with self._lock:
            events, self._buffer = self._buffer, []
            self._last = time.monotonic()
            self._stop = bool(ray.get(self.hub.push.remote(self.trial, events))) or self._stop

    def should_stop(self) -> bool:
        if time.monotonic() - self._last >= self.flush_every:
            self.flush()
        return self._stop


class HubCache:
    """The random-real reference cache of a trial (``ReferenceCache``): the hub's copy of the store's cache."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def get_reference(self, key: str) -> dict | None:
        import ray

        return ray.get(self.hub.get_reference.remote(key))

    def put_reference(self, key: str, value: dict) -> None:
        import ray

        ray.get(self.hub.put_reference.remote(key, value))


def artifact_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (``synthetic.pt``, ``png/...``) as ``{relative posix path: bytes}``."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_trial(hub: Any, trial: int, config: dict, threads: int) -> dict:
    """Run trial ``trial`` (a ``RunConfig`` dict) with ``threads`` torch threads; return ``{"status", "started",
    "record", "files", "error", "traceback", "node"}``. Never raises for a failing job: its message comes back."""
    import ray
    import torch

    from ..device import pick_device, tune_cpu_allocator
    from ..jobs import execute
    from ..spec import RunConfig

    tune_cpu_allocator()  # as the CLI and the worker do: without it a trial computed about 1.4x slower
    node = socket.gethostname()
    out: dict[str, Any] = {"status": "failed", "started": False, "record": None, "files": {}, "node": node}
    out.update(error=None, traceback=None)
    torch.set_num_threads(max(1, int(threads)))
    if not ray.get(hub.start.remote(trial, {"node": node, "threads": torch.get_num_threads()})):
        return {**out, "status": "cancelled"}
    out["started"] = True
    relay = Relay(hub, trial)
    work = Path(tempfile.mkdtemp(prefix=f"dd-trial-{trial}-"))
    try:
        cfg = RunConfig.from_dict(config).validate()
        status, record = execute(cfg, pick_device(cfg.device), work, relay, relay.should_stop, HubCache(hub))
        out.update(status=status, record=record, files=artifact_files(work))
    except DatasetError as err:
        out["error"] = f"on node {node}: {err}"
    except DDError as err:
        out["error"] = str(err)
    except Exception as err:  # noqa: BLE001 - a crash: its message in the store, the traceback in the run's folder
        out.update(error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
    finally:
        try:
            relay.flush()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


class TrialActor:
    """One trial on a node (the driver makes it a Ray actor with the trial's CPUs and GPUs, and kills it after)."""

    def run(self, hub: Any, trial: int, config: dict, threads: int) -> dict:
        return run_trial(hub, trial, config, threads)
