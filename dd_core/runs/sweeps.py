"""The ``sweeps`` table of the run store: one row per ``python -m dd_core sweep`` (its spec, status and times).

A sweep's trials are ordinary runs tagged with ``sweep_id`` and ``trial`` (the trial's index in the spec). A trial
that is run again (``--resume``) gets a new run with the same ``trial``; the newest run of a trial is its state.

Status: ``running`` → ``done`` (every trial finished, some perhaps failed) | ``cancelled`` (Ctrl-C) | ``failed`` (the
driver itself failed) | ``interrupted`` (the driver went away); ``--resume`` takes any of them back to ``running``.
"""

from __future__ import annotations

import time

from .store import RunStore, RunStoreError, _loads, dumps

SWEEP_STATUSES = ("running", "done", "cancelled", "failed", "interrupted")


def create_sweep(store: RunStore, spec: dict) -> int:
    """A new sweep, ``running``, with its ``spec`` (JSON); returns its id."""
    with store._write() as c:
        cur = c.execute(
            "INSERT INTO sweeps (spec, status, created_at) VALUES (?, 'running', ?)", (dumps(spec), time.time())
        )
        return int(cur.lastrowid or 0)


def get_sweep(store: RunStore, sweep_id: int) -> dict | None:
    """``{"id", "spec", "status", "created_at", "finished_at"}`` or None."""
    rows = store._read("SELECT * FROM sweeps WHERE id = ?", (int(sweep_id),))
    if not rows:
        return None
    d = dict(rows[0])
    d["spec"] = _loads(d["spec"]) or {}
    return d


def set_sweep_status(store: RunStore, sweep_id: int, status: str) -> None:
    """Set the sweep's status (``finished_at`` for a final one, cleared for ``running``)."""
    if status not in SWEEP_STATUSES:
        raise RunStoreError(f"unknown sweep status {status!r}; expected one of {', '.join(SWEEP_STATUSES)}")
    finished = None if status == "running" else time.time()
    with store._write() as c:
        n = c.execute(
            "UPDATE sweeps SET status = ?, finished_at = ? WHERE id = ?", (status, finished, int(sweep_id))
        ).rowcount
    if not n:
        raise RunStoreError(f"no sweep #{sweep_id} in the run store ({store.path})")


def trial_runs(store: RunStore, sweep_id: int) -> dict[int, dict]:
    """The newest run of each trial of the sweep: ``{trial index: run}``."""
    out: dict[int, dict] = {}
    for run in store.list_runs(sweep_id=int(sweep_id), limit=None):
        if run.get("trial") is not None:
            out.setdefault(int(run["trial"]), run)  # list_runs is newest first
    return out


def list_sweeps(store: RunStore, limit: int | None = 100) -> list[dict]:
    """The sweeps, newest first: ``{"id", "status", "created_at", "finished_at", "methods", "dataset", "n_trials",
    "grid"}`` (``grid``: the keys the trials vary, besides the seed)."""
    sql = "SELECT id FROM sweeps ORDER BY id DESC" + (" LIMIT ?" if limit is not None else "")
    out = []
    for row in store._read(sql, (int(limit),) if limit is not None else ()):
        sweep = get_sweep(store, row["id"])
        if sweep is None:
            continue
        trials = sweep["spec"].get("trials") or []
        out.append(
            {
                **{k: sweep[k] for k in ("id", "status", "created_at", "finished_at")},
                "methods": sorted({t["method"] for t in trials}),
                "dataset": (trials[0]["config"].get("dataset") if trials else None),
                "n_trials": len(trials),
                "grid": sorted({k for t in trials for k in t.get("params") or {}}),
            }
        )
    return out
