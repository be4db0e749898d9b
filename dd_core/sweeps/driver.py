"""The sweep driver, on the store's machine: every trial becomes a queued run, is submitted as a Ray task, and its
events come back through the hub into the store (``RunRecorder``, as for any run). The driver claims a trial's run
when the trial starts on a node and heartbeats it until the task ends (it owns its liveness: a dead driver leaves
its running trials ``interrupted``), writes the final set and PNG grids the trial returns into the run's folder,
and records the final status. ``should_stop()`` (Ctrl-C) cancels: running trials stop at their next check keeping
their sets, queued ones are cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..runs.queue import create_run_for
from ..runs.recorder import RunRecorder
from ..runs.store import RunStore, RunStoreError
from ..spec import RunConfig
from .hub import SweepHub
from .ray_env import check_feasible, require_ray
from .resources import Resources
from .results import last_eval
from .trial import TrialActor
from .trials import Trial

DEVICE = "ray"  # the runs' device column: a worker never waits for (or claims) a sweep's trials
POLL_S = 1.0  # the driver's wait for a trial's end between two drains of the hub (it shares the trials' cores)


@dataclass
class Live:
    """A submitted trial: its run, and its recorder once it started on a node."""

    trial: Trial
    run_id: int
    actor: Any = None
    recorder: RunRecorder | None = None
    orphan: bool = False  # started after its run was cancelled: its events are dropped
    checked: float = field(default_factory=time.monotonic)


class SweepDriver:
    """Run ``trials`` of sweep ``sweep_id`` on the connected Ray, recording them in ``store``."""

    def __init__(
        self,
        store: RunStore,
        sweep_id: int,
        trials: list[Trial],
        resources: Resources,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        on_update: Callable[[dict], None] | None = None,
    ) -> None:
        self.store, self.sweep_id, self.trials, self.res = store, sweep_id, trials, resources
        self.should_stop, self.on_update = should_stop, on_update
        self.live: dict[Any, Live] = {}
        self.by_index: dict[int, Live] = {}
        self.cancelling = False
        self.finished: dict[str, int] = {"done": 0, "failed": 0, "cancelled": 0}
        self.best: dict | None = None  # {"acc_mean", "label"} of the best finished trial so far

    # --------------------------------------------------------------------------------------------------- main
    def run(self) -> str:
        """Run every trial to its end; returns ``done`` or ``cancelled``. A second interrupt (KeyboardInterrupt)
        leaves running trials ``interrupted`` and queued ones ``cancelled``, then propagates."""
        ray = require_ray()
        check_feasible(ray, self.res.cpus, self.res.gpus)
        self.ray = ray
        self.hub = (
            ray.remote(num_cpus=0)(SweepHub).options(scheduling_strategy=here(ray)).remote(self.store.references())
        )
        actor_cls = ray.remote(TrialActor).options(num_cpus=self.res.cpus, num_gpus=self.res.gpus, max_restarts=0)
        try:
            for t in self.trials:
                cfg = RunConfig.from_dict({**t.config, "label": t.label(self.sweep_id)})
                run_id = create_run_for(
                    self.store, cfg, status="queued", source="cli", device=DEVICE, sweep_id=self.sweep_id, trial=t.index
                )
                actor = actor_cls.remote()
                ref = actor.run.remote(self.hub, t.index, t.config, self.res.threads)
                self.live[ref] = self.by_index[t.index] = Live(t, run_id, actor)
            self.update()
            while self.live:
                ready, _ = ray.wait(list(self.live), num_returns=1, timeout=POLL_S)
                self.pump()
                for ref in ready:
                    self.finish(ref)
                if not self.cancelling and self.should_stop():
                    self.cancel()
                self.watch_cancels()
                self.update()
        except BaseException:
            self.abort()
            raise
        finally:
            for actor in [x.actor for x in self.live.values()] + [self.hub]:
                kill(ray, actor)
        return "cancelled" if self.cancelling else "done"

    # ------------------------------------------------------------------------------------------------- events
    def pump(self) -> None:
        """Write the hub's queued events into the store: a trial's start claims its run, the rest go to its
        recorder, computed references into the store's cache."""
        for index, event in self.ray.get(self.hub.drain.remote()):
            if event.get("type") == "reference":
                self.store.put_reference(event["key"], event["value"])
                continue
            live = self.by_index.get(index)
            if live is None or live.orphan:
                continue
            if event.get("type") == "trial_start":
                self.claim(live)
            elif live.recorder is not None:
                live.recorder(event)

    def claim(self, live: Live) -> None:
        run = self.store.claim_next_queued(DEVICE, max_running=1 << 30, run_id=live.run_id, sweep_id=self.sweep_id)
        if run is None:  # cancelled meanwhile (the dashboard): stop it on its node, keep the run as it is
            live.orphan = True
            self.ray.get(self.hub.stop.remote(live.trial.index))
            return
        live.recorder = RunRecorder(self.store, live.run_id).start_heartbeat()

    def finish(self, ref: Any) -> None:
        """The trial's task ended: its files into the run's folder, its final status and record into the store."""
        live = self.live.pop(ref)
        try:
            result = self.ray.get(ref)
        except Exception as err:  # noqa: BLE001 - the actor died (its node lost, out of memory, killed...)
            result = lost(self.ray, err)
        kill(self.ray, live.actor)  # its CPUs / GPUs go to the next trial
        if live.orphan:
            return
        if live.recorder is None:  # never started: refused because the sweep is being cancelled, or lost on the way
            if self.store.request_cancel(live.run_id) == "cancelled":
                self.finished["cancelled"] += 1
            return
        folder = self.store.artifacts_dir(live.run_id)
        for rel, blob in (result.get("files") or {}).items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        record = result.get("record")
        if record is not None:
            record = {**record, "node": result.get("node")}
            if "synthetic.pt" in (result.get("files") or {}):
                record["synthetic_path"] = str(folder / "synthetic.pt")
        if result.get("traceback"):
            (folder / "error.txt").write_text(result["traceback"])
        live.recorder.close()
        status = result["status"]
        try:
            self.store.set_status(live.run_id, status, error=result.get("error"), summary=record)
        except RunStoreError:  # deleted or reaped meanwhile: leave its recorded state alone
            return
        self.finished[status] = self.finished.get(status, 0) + 1
        last = last_eval((record or {}).get("evals") or []) if status == "done" else None
        if last is not None and (self.best is None or last["acc_mean"] > self.best["acc_mean"]):
            self.best = {"acc_mean": last["acc_mean"], "label": live.trial.label()}

    # ---------------------------------------------------------------------------------------------- stopping
    def cancel(self) -> None:
        """Ctrl-C: every running trial stops at its next check; every trial not yet started is cancelled."""
        self.cancelling = True
        self.ray.get(self.hub.stop_all.remote())
        self.pump()  # trials that started before the stop: they run on and stop at their next check
        for live in self.live.values():
            if live.recorder is None and not live.orphan:
                self.store.request_cancel(live.run_id)
                live.orphan = True
                self.finished["cancelled"] += 1
                kill(self.ray, live.actor)  # not started: its pending actor goes at once

    def watch_cancels(self) -> None:
        """A trial cancelled from the dashboard (or the runs' Stop) is asked to stop on its node."""
        now = time.monotonic()
        for live in self.live.values():
            if live.orphan:
                continue
            if live.recorder is not None:
                if live.recorder.should_stop():
                    self.ray.get(self.hub.stop.remote(live.trial.index))
            elif now - live.checked >= 1.0:
                live.checked = now
                state = self.store.run_state(live.run_id)
                if state is None or state["status"] != "queued":
                    live.orphan = True
                    self.ray.get(self.hub.stop.remote(live.trial.index))

    def abort(self) -> None:
        """The driver is going away at once: running trials ``interrupted``, queued ones ``cancelled``."""
        for live in self.live.values():
            if live.orphan:
                continue
            try:
                if live.recorder is not None:
                    live.recorder.close()
                    self.store.set_status(
                        live.run_id, "interrupted", error="aborted (a second Ctrl-C) before it could stop cleanly"
                    )
                else:
                    self.store.request_cancel(live.run_id)
            except Exception:  # noqa: BLE001 - leave the rest to the reaper
                pass

    # ------------------------------------------------------------------------------------------------ progress
    def update(self) -> None:
        if self.on_update is None:
            return
        running = sum(1 for x in self.live.values() if x.recorder is not None and not x.orphan)
        queued = sum(1 for x in self.live.values() if x.recorder is None and not x.orphan)
        self.on_update(
            {**self.finished, "running": running, "queued": queued, "total": len(self.trials), "best": self.best}
        )


def here(ray: Any) -> Any:
    """Ray's scheduling strategy that keeps the hub on the driver's node (it outlives any worker node). Hard: a
    soft affinity put it on another node when the driver's node has no CPU (a head started with --num-cpus 0)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)


def lost(ray: Any, err: Exception) -> dict:
    """A trial whose actor died: ``interrupted`` when Ray lost it (its node died, it was killed or ran out of
    memory), ``failed`` for anything else; the reason in the run's error."""
    text = str(err).strip()
    reason = next((line.strip() for line in text.splitlines() if line.strip()), type(err).__name__)
    if isinstance(err, ray.exceptions.RayActorError):
        error = f"the trial was lost: its Ray actor or its node died ({reason[:300]})"
        return {"status": "interrupted", "started": True, "error": error}
    return {"status": "failed", "started": True, "error": f"the trial's Ray actor failed: {reason[:300]}"}


def kill(ray: Any, actor: Any) -> None:
    """Kill a Ray actor; one already gone (or Ray shut down) is fine."""
    try:
        ray.kill(actor)
    except Exception:  # noqa: BLE001 - already dead, or Ray is down
        pass
