"""The sweep's hub: one Ray actor (no CPU of its own) between the trials and the driver.

Trials ``push`` their events (batched) and learn in the reply whether to stop; the driver ``drain``\\ s the events and
writes them into the store, and asks trials to stop (``stop``; every trial with ``stop_all``). The hub also serves
the random-real references: the driver loads the store's cache into it, a trial reads it through
:class:`~dd_core.sweeps.trial.HubCache`, and a reference a trial computes comes back to the driver as a
``reference`` event that the driver writes into the store (so the next trial at that grid point pays nothing).
"""

from __future__ import annotations


class SweepHub:
    """Events of the running trials, their stop flags and the reference cache (a plain class: the driver makes it a
    Ray actor with ``ray.remote(num_cpus=0)(SweepHub)``)."""

    def __init__(self, references: dict[str, dict] | None = None) -> None:
        self.events: list[tuple[int, dict]] = []
        self.stopped: set[int] = set()
        self.stop_everything = False
        self.refs = dict(references or {})

    def start(self, trial: int, info: dict) -> bool:
        """A trial begins on a node: True when it may run (the sweep is not being cancelled); records its start."""
        if self.stop_everything or trial in self.stopped:
            return False
        self.events.append((trial, {"type": "trial_start", **info}))
        return True

    def push(self, trial: int, events: list[dict]) -> bool:
        """Queue ``events`` of ``trial`` for the driver; returns whether the trial should stop."""
        self.events.extend((trial, e) for e in events)
        return self.stop_everything or trial in self.stopped

    def drain(self) -> list[tuple[int, dict]]:
        """Every queued ``(trial, event)``, oldest first, and forget them."""
        out, self.events = self.events, []
        return out

    def stop(self, trial: int) -> None:
        self.stopped.add(int(trial))

    def stop_all(self) -> None:
        self.stop_everything = True

    def get_reference(self, key: str) -> dict | None:
        return self.refs.get(key)

    def put_reference(self, key: str, value: dict) -> None:
        self.refs[key] = value
        self.events.append((-1, {"type": "reference", "key": key, "value": value}))
