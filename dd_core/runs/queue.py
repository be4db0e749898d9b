"""A run's row in the per-device queue: the device key it is queued on and the columns the pages filter by."""

from __future__ import annotations

from ..device import pick_device
from ..spec import RunConfig
from .store import RunStore


def device_key(cfg_device: str | None) -> str:
    """The device a run will use, as stored ('cpu', 'cuda:0')."""
    dev = pick_device(cfg_device)
    return f"cuda:{dev.index or 0}" if dev.type == "cuda" else "cpu"


def create_run_for(
    store: RunStore,
    cfg: RunConfig,
    *,
    status: str,
    source: str,
    device: str,
    sweep_id: int | None = None,
    trial: int | None = None,
    pid: int | None = None,
) -> int:
    """A store row for the validated ``cfg``: the columns the pages list and filter by, and the whole spec
    (``sweep_id`` / ``trial``: the sweep it is a trial of, or whose driver job it is; ``pid``: the process that will
    claim a queued run, for the reaper)."""
    distill = cfg.kind == "distill"
    return store.create_run(
        cfg.kind,
        cfg.to_dict(),
        method=cfg.method if distill else None,
        dataset=cfg.dataset,
        ipc=cfg.method_options.get("ipc"),
        total_iterations=cfg.iterations if distill else None,
        status=status,
        source=source,
        device=device,
        label=cfg.label,
        sweep_id=sweep_id,
        trial=trial,
        pid=pid,
    )
