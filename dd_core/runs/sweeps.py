"""The ``sweeps`` table of the run store: one row per sweep (its spec, status and times).

A sweep's trials are ordinary runs tagged with ``sweep_id`` and ``trial`` (the trial's index in the spec); its driver
jobs are runs of kind ``sweep`` with the ``sweep_id`` and no ``trial``. A trial that is run again (``--resume``) gets
a new run with the same ``trial``; the newest run of a trial is its state.

Status: ``queued`` (its driver job waits for the device) → ``running`` → ``done`` (every trial finished, some
perhaps failed) | ``cancelled`` (Ctrl-C, Stop) | ``failed`` (the driver itself failed) | ``interrupted`` (the driver
went away); ``--resume`` takes any of them back to ``queued``. Every sweep is also written to
``<store folder>/sweeps/<id>.json`` (spec, status, times), so that ``runs --repair`` rebuilds the table.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..paths import atomic_path
from .store import RunStore, RunStoreError, _loads, dumps

SWEEP_STATUSES = ("queued", "running", "done", "cancelled", "failed", "interrupted")
ACTIVE = ("queued", "running")


def sweeps_folder(store_path: Path) -> Path:
    return Path(store_path).parent / "sweeps"


def create_sweep(store: RunStore, spec: dict, status: str = "running") -> int:
    """A new sweep with its ``spec`` (JSON), ``running`` (or ``queued``); returns its id."""
    with store._write() as c:
        cur = c.execute(
            "INSERT INTO sweeps (spec, status, created_at) VALUES (?, ?, ?)", (dumps(spec), status, time.time())
        )
        sweep_id = int(cur.lastrowid or 0)
    write_sweep_file(store, sweep_id)
    return sweep_id


def write_sweep_file(store: RunStore, sweep_id: int) -> None:
    """``sweeps/<id>.json``: the row as it is now (written whole, never half)."""
    sweep = get_sweep(store, sweep_id, reconcile=False)
    if sweep is None:
        return
    folder = sweeps_folder(store.path)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"{sweep_id}.json") as tmp:
        tmp.write_text(dumps(sweep))


def rebuild_sweeps(store: RunStore) -> int:
    """Insert the sweeps of ``sweeps/*.json`` missing from the table (``runs --repair``); returns how many."""
    folder = sweeps_folder(store.path)
    n = 0
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            row = json.loads(path.read_text())
            values = (int(row["id"]), dumps(row["spec"]), str(row["status"]), float(row["created_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        with store._write() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO sweeps (id, spec, status, created_at, finished_at) VALUES (?, ?, ?, ?, ?)",
                (*values, row.get("finished_at")),
            )
            n += cur.rowcount
    return n


def get_sweep(store: RunStore, sweep_id: int, *, reconcile: bool = True) -> dict | None:
    """``{"id", "spec", "status", "created_at", "finished_at"}`` or None. A sweep still marked queued or running
    whose driver jobs have all ended takes the end of the newest (``reconcile``): ``cancelled`` when it was
    cancelled on request before it started (Stop on the dashboard), else ``interrupted`` (its process was killed,
    or the command that queued it ended)."""
    rows = store._read("SELECT * FROM sweeps WHERE id = ?", (int(sweep_id),))
    if not rows:
        return None
    d = dict(rows[0])
    d["spec"] = _loads(d["spec"]) or {}
    if reconcile and d["status"] in ACTIVE and driver_runs(store, sweep_id) and not driver_runs(store, sweep_id, True):
        store.reap()
        drivers = driver_runs(store, sweep_id)
        if drivers and drivers[0]["status"] not in ACTIVE:
            asked = drivers[0]["status"] == "cancelled" and drivers[0].get("cancel_requested")
            end = "cancelled" if asked else "interrupted"
            set_sweep_status(store, sweep_id, end)
            d.update(status=end, finished_at=time.time())
    return d


def driver_runs(store: RunStore, sweep_id: int, active: bool = False) -> list[dict]:
    """The sweep's driver jobs (kind ``sweep``), newest first (``active``: queued or running only)."""
    runs = store.list_runs(kind="sweep", sweep_id=int(sweep_id), limit=None)
    return [r for r in runs if not active or r["status"] in ACTIVE]


def busy_runs(store: RunStore, sweep_id: int) -> list[int]:
    """The ids of the sweep's driver jobs still queued or running and of its trials still running (a sweep is
    resumed only when this is empty)."""
    busy = [r["id"] for r in driver_runs(store, sweep_id, active=True)]
    return busy + sorted(r["id"] for r in trial_runs(store, sweep_id).values() if r["status"] == "running")


def set_sweep_status(store: RunStore, sweep_id: int, status: str) -> None:
    """Set the sweep's status (``finished_at`` for a final one, cleared for an active one)."""
    if status not in SWEEP_STATUSES:
        raise RunStoreError(f"unknown sweep status {status!r}; expected one of {', '.join(SWEEP_STATUSES)}")
    finished = None if status in ACTIVE else time.time()
    with store._write() as c:
        n = c.execute(
            "UPDATE sweeps SET status = ?, finished_at = ? WHERE id = ?", (status, finished, int(sweep_id))
        ).rowcount
    if not n:
        raise RunStoreError(f"no sweep #{sweep_id} in the run store ({store.path})")
    write_sweep_file(store, sweep_id)


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
