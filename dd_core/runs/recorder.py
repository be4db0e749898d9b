"""RunRecorder: the bridge from engine events to the run store, used by the worker and by CLI runs.

    writer = RunRecorder(store, run_id)
    run_distillation(method, iterations, on_event=writer, should_stop=writer.should_stop)
    writer.close()

Events handled (dicts with a ``type``):

* ``step`` {iteration, metrics, seconds} -> buffered, written (metrics rows + heartbeat, one transaction) at most every
  ``flush_every`` s and at least once a second while steps arrive, and on ``close()``;
* ``eval`` {iteration, net, acc_mean, ...} -> pending steps flushed, then the result stored at once;
* ``snapshot`` {iteration, synthetic} -> ``synthetic.save(<run dir>/snapshots/<iteration:06d>.pt)`` and recorded;
* ``progress`` {phase, ...} -> latest state per phase, at most 2 writes/s per phase (one with ``final: True`` always);
* ``epoch`` {epoch, loss, test_acc, ...} (baseline training) -> a metrics row with ``iteration = epoch``;
* ``status`` and unknown types -> ignored (the worker owns the run's status).

``should_stop()`` asks the store at most every 0.5 s whether the run was cancelled (or is no longer active; a run
marked interrupted while this process, its worker, was only paused goes on, and the next heartbeat makes it running
again), and is True at once when ``stop_event`` is set (the worker's SIGTERM). The writer heartbeats at least every 5 s
(a third of ``DD_HEARTBEAT_TIMEOUT_S`` when that is shorter) while events arrive; ``start_heartbeat()`` adds a
background thread that keeps heartbeating (and flushing) through long silent phases.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, cast

from ..events import EpochEvent, Event, ProgressEvent, SnapshotEvent, StepEvent
from .store import ACTIVE_STATUSES, RunStore, heartbeat_timeout

__all__ = ["RunRecorder"]

_STEP_DROP = ("type", "iteration", "metrics")
_EPOCH_DROP = ("type", "epoch")


class RunRecorder:
    """Callable event sink that batches engine events into a :class:`RunStore`. Thread-safe."""

    def __init__(
        self,
        store: RunStore,
        run_id: int,
        flush_every: float = 0.5,
        *,
        clock: Callable[[], float] = time.monotonic,
        cancel_check_every: float = 0.5,
        heartbeat_every: float | None = None,
        progress_every: float = 0.5,
        stop_event: threading.Event | None = None,
    ):
        self.store = store
        self.run_id = int(run_id)
        # "at most every flush_every s and at least once per second while steps arrive"
        self.flush_every = min(max(float(flush_every), 0.0), 1.0)
        self.cancel_check_every = float(cancel_check_every)
        self.heartbeat_every = (
            float(heartbeat_every) if heartbeat_every is not None else min(5.0, heartbeat_timeout() / 3)
        )
        self.stop_event = stop_event
        self.progress_every = float(progress_every)
        self._clock = clock
        self._lock = threading.RLock()
        self._pending: list[tuple[int, dict, float]] = []
        self._iteration: int | None = None
        self._seconds: float | None = None
        self._last_flush = -math.inf  # the first step is written at once: the page sees the run move quickly
        self._last_heartbeat = clock()
        self._progress_last: dict[str, float] = {}
        self._progress_pending: dict[str, ProgressEvent] = {}
        self._stop = False
        self._stop_checked = -math.inf
        self._closed = False
        self._hb_thread: threading.Thread | None = None
        self._hb_stop = threading.Event()
        self.flushes = 0  # number of metric transactions written (observability / tests)

    # ---------------------------------------------------------------------------------------------------- events
    def __call__(self, event: Event) -> None:
        kind = event.get("type") if isinstance(event, dict) else None
        with self._lock:
            if kind == "step":
                self._on_step(cast(StepEvent, event))
            elif kind == "epoch":
                self._on_epoch(cast(EpochEvent, event))
            elif kind == "eval":
                self._flush()
                self.store.add_eval(self.run_id, {k: v for k, v in event.items() if k != "type"})
            elif kind == "snapshot":
                self._flush()
                self._on_snapshot(cast(SnapshotEvent, event))
            elif kind == "progress":
                self._on_progress(cast(ProgressEvent, event))
            # "status" and unknown kinds: ignored
            self.tick()

    def _on_step(self, ev: StepEvent) -> None:
        it = int(ev["iteration"])
        data = dict(ev.get("metrics") or {})
        for k, v in ev.items():  # e.g. "seconds" (work seconds so far): handy for time axes
            if k not in _STEP_DROP and k not in data and isinstance(v, (int, float)):
                data[k] = v
        self._pending.append((it, data, time.time()))
        self._iteration = it
        if ev.get("seconds") is not None:
            self._seconds = ev["seconds"]

    def _on_epoch(self, ev: EpochEvent) -> None:
        it = int(ev["epoch"])
        data = {k: v for k, v in ev.items() if k not in _EPOCH_DROP}
        self._pending.append((it, data, time.time()))
        self._iteration = it
        if ev.get("seconds") is not None:
            self._seconds = ev["seconds"]

    def _on_snapshot(self, ev: SnapshotEvent) -> None:
        it = int(ev["iteration"])
        rel = PurePosixPath("snapshots") / f"{it:06d}.pt"
        base = self.store.artifacts_dir(self.run_id, create=True)
        target = base / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        saved = ev["synthetic"].save(target)
        try:  # a save() that returns where it actually wrote (e.g. a changed suffix) wins
            if saved is not None:
                rel = PurePosixPath(Path(saved).resolve().relative_to(base.resolve()).as_posix())
        except (TypeError, ValueError):
            pass
        self.store.add_snapshot(self.run_id, it, rel.as_posix())

    def _on_progress(self, ev: ProgressEvent) -> None:
        phase = str(ev.get("phase") or "progress")
        now = self._clock()
        last = self._progress_last.get(phase, -math.inf)
        if ev.get("final") or now - last >= self.progress_every:
            self._write_progress(phase, ev, now)
        else:
            self._progress_pending[phase] = ev

    def _write_progress(self, phase: str, ev: ProgressEvent, now: float) -> None:
        self.store.set_progress(self.run_id, phase, dict(ev))
        self._progress_last[phase] = now
        self._progress_pending.pop(phase, None)

    # -------------------------------------------------------------------------------------------------- flushing
    def _flush(self, now: float | None = None) -> None:
        if not self._pending:
            return
        now = self._clock() if now is None else now
        rows = self._pending
        self.store.record_steps(self.run_id, rows, iteration=self._iteration, seconds=self._seconds)
        self._pending = []  # only after success: a failed write is retried at the next flush
        self._last_flush = now
        self._last_heartbeat = now
        self.flushes += 1

    def flush(self) -> None:
        """Write everything pending now (steps and throttled progress)."""
        with self._lock:
            self._flush()
            now = self._clock()
            for phase, ev in list(self._progress_pending.items()):
                self._write_progress(phase, ev, now)

    def tick(self) -> None:
        """Do whatever is due: flush buffered steps, write throttled progress, heartbeat every ``heartbeat_every``."""
        with self._lock:
            now = self._clock()
            if self._pending and now - self._last_flush >= self.flush_every:
                self._flush(now)
            for phase, ev in list(self._progress_pending.items()):
                if now - self._progress_last.get(phase, -math.inf) >= self.progress_every:
                    self._write_progress(phase, ev, now)
            if now - self._last_heartbeat >= self.heartbeat_every:
                self.store.heartbeat(self.run_id, iteration=self._iteration, seconds=self._seconds)
                self._last_heartbeat = now

    # ------------------------------------------------------------------------------------------------- stopping
    def should_stop(self) -> bool:
        """True once the run was cancelled, deleted or no longer active, or ``stop_event`` is set; asks the store at
        most every 0.5 s. A run marked interrupted whose worker is this process goes on (and is running again)."""
        with self._lock:
            if self._stop:
                return True
            if self.stop_event is not None and self.stop_event.is_set():
                self._stop = True
                return True
            now = self._clock()
            if now - self._stop_checked >= self.cancel_check_every:
                self._stop_checked = now
                state = self.store.run_state(self.run_id)
                if state is not None and state["status"] == "interrupted" and state["mine"]:
                    self.store.heartbeat(self.run_id, iteration=self._iteration, seconds=self._seconds)  # resumes
                    self._last_heartbeat = now
                    state = {**state, "status": "running"}
                self._stop = state is None or state["cancel_requested"] or state["status"] not in ACTIVE_STATUSES
            return self._stop

    # ------------------------------------------------------------------------------------------ heartbeat thread
    def start_heartbeat(self, interval: float | None = None) -> RunRecorder:
        """Background thread calling :meth:`tick` every ``interval`` s (default: ``flush_every`` or 1 s), so a run
        keeps its heartbeat and its pending rows reach the store through long phases that emit no events."""
        if self._hb_thread is not None:
            return self
        period = float(interval) if interval is not None else max(self.flush_every, 0.25)

        def loop() -> None:
            while not self._hb_stop.wait(period):
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - a transient store error must not kill the thread
                    pass

        self._hb_thread = threading.Thread(target=loop, name=f"dd-heartbeat-{self.run_id}", daemon=True)
        self._hb_thread.start()
        return self

    def close(self) -> None:
        """Flush everything and heartbeat a last time. Idempotent."""
        self._hb_stop.set()
        if self._hb_thread is not None and self._hb_thread is not threading.current_thread():
            self._hb_thread.join(timeout=5)
        with self._lock:
            if self._closed:
                return
            self.flush()
            self.store.heartbeat(self.run_id, iteration=self._iteration, seconds=self._seconds)
            self._closed = True

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
