"""Schema migration: a store made by schema 1 (table ``events``, no liveness columns, no id high-water mark) is
migrated in place to schema 2 keeping every run, metric, evaluation, snapshot and progress row; new runs get ids above
the old ones."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from dd_core.paths import data_home
from dd_core.runs import RunStore
from dd_core.runs.store import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[1]

# the schema of DistillLab's first run store (user_version 1), verbatim
SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    method TEXT,
    dataset TEXT,
    ipc INTEGER,
    status TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    device TEXT,
    source TEXT NOT NULL DEFAULT 'ui',
    pid INTEGER,
    heartbeat REAL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    error TEXT,
    iteration INTEGER,
    total_iterations INTEGER,
    seconds REAL,
    summary TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    label TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, device);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    iteration INTEGER NOT NULL,
    t REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run_it ON metrics(run_id, iteration);
CREATE TABLE IF NOT EXISTS evals (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    iteration INTEGER,
    net TEXT,
    acc_mean REAL,
    acc_std REAL,
    n_models INTEGER,
    epochs INTEGER,
    protocol TEXT,
    data TEXT NOT NULL,
    t REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS evals_run ON evals(run_id);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    iteration INTEGER NOT NULL,
    path TEXT NOT NULL,
    t REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_run ON snapshots(run_id, iteration);
CREATE TABLE IF NOT EXISTS events (
    run_id INTEGER NOT NULL,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, kind)
);
"""


def _schema_1_store(path: Path) -> dict:
    """A store as schema-1 code left it: runs 1, 2 and 5 (3 and 4 deleted), with every kind of row."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    now = time.time()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
    con.executescript(SCHEMA_1)
    con.execute("PRAGMA user_version = 1")
    common = {"device": "cpu", "cancel_requested": 0}
    runs = [
        dict(common, id=1, kind="distill", method="dm", dataset="fashion-mnist", ipc=10, status="done", source="ui",
             config='{"kind": "distill", "iterations": 20}', pid=11, heartbeat=now - 50, created_at=now - 100,
             started_at=now - 90, finished_at=now - 50, iteration=20, total_iterations=20, seconds=30.5,
             summary='{"iterations": 20, "evals": []}', label="first"),
        dict(common, id=2, kind="baseline", dataset="mnist-5k", status="running", source="cli",
             config='{"kind": "baseline"}', pid=gone.pid, heartbeat=now, created_at=now - 40, started_at=now - 39,
             iteration=3, seconds=2.0),
        dict(common, id=5, kind="distill", method="am", dataset="mnist-5k", ipc=1, status="queued", source="ui",
             config='{"kind": "distill"}', device=None, created_at=now - 10, total_iterations=100),
    ]  # fmt: skip
    for run in runs:
        con.execute(f"INSERT INTO runs ({', '.join(run)}) VALUES ({','.join('?' * len(run))})", list(run.values()))
    con.executemany(
        "INSERT INTO metrics (run_id, iteration, t, data) VALUES (?,?,?,?)",
        [(1, i, now - 60 + i, json.dumps({"loss": 1.0 / (i + 1)})) for i in range(20)] + [(2, 1, now, '{"loss": 2.0}')],
    )
    con.execute(
        "INSERT INTO evals (run_id, iteration, net, acc_mean, acc_std, n_models, epochs, protocol, data, t) "
        "VALUES (1, 20, 'convnet-3', 0.8, 0.01, 2, 300, 'quick', ?, ?)",
        (json.dumps({"iteration": 20, "net": "convnet-3", "acc_mean": 0.8, "accs": [0.79, 0.81]}), now - 51),
    )
    con.executemany(
        "INSERT INTO snapshots (run_id, iteration, path, t) VALUES (?,?,?,?)",
        [(1, 0, "snapshots/000000.pt", now - 89), (1, 20, "snapshots/000020.pt", now - 50)],
    )
    con.executemany(
        "INSERT INTO events (run_id, t, kind, data) VALUES (?,?,?,?)",
        [(1, now - 52, "eval", '{"epoch": 300, "epochs": 300}'), (2, now - 1, "experts", '{"expert": 1}')],
    )
    con.commit()
    con.close()
    return {"pid": gone.pid}


def _tables(path: Path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()


def test_a_schema_1_store_is_migrated_in_place_keeping_everything():
    path = data_home() / "runs.sqlite3"
    old = _schema_1_store(path)
    assert "events" in _tables(path)
    store = RunStore()
    run = store.get_run(1)
    assert (run["kind"], run["method"], run["dataset"], run["ipc"], run["status"], run["label"]) == (
        "distill",
        "dm",
        "fashion-mnist",
        10,
        "done",
        "first",
    )
    assert run["config"] == {"kind": "distill", "iterations": 20} and run["summary"]["iterations"] == 20
    assert run["host"] is None and run["pid_start"] is None  # unknown for old runs
    assert run["sweep_id"] is None and run["trial"] is None  # no old run is a sweep's trial
    assert [m["iteration"] for m in store.metrics(1)] == list(range(20)) and store.metrics(2)[0]["loss"] == 2.0
    ev = store.evals(1)
    assert len(ev) == 1 and ev[0]["acc_mean"] == 0.8 and ev[0]["accs"] == [0.79, 0.81]
    assert [(s["iteration"], s["path"]) for s in store.snapshots(1)] == [
        (0, "snapshots/000000.pt"),
        (20, "snapshots/000020.pt"),
    ]
    assert store.progress(1)["eval"]["epoch"] == 300 and store.progress(2)["experts"]["expert"] == 1
    assert store.get_run(5)["status"] == "queued"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    con.close()
    tables = _tables(path)
    assert "progress" in tables and "events" not in tables and "meta" in tables and "sweeps" in tables
    # the old running run's worker is dead (its pid is known even without host/start time): reaped
    assert store.reap() == [2] and str(old["pid"]) in store.get_run(2)["error"]
    # new runs get ids above the old ones, and keep doing so after the newest is deleted
    new = store.create_run("distill", {})
    assert new == 6
    store.delete_run(new)
    assert store.create_run("distill", {}) == 7
    # the old queued run is still claimable and runs as any other
    assert store.claim_next_queued("cpu")["id"] == 5
    store.close()
    assert RunStore().get_run(1)["label"] == "first"  # reopening: already at schema 2, nothing changes


def test_two_processes_opening_a_schema_1_store_at_once_both_succeed():
    path = data_home() / "runs.sqlite3"
    _schema_1_store(path)
    code = "import sys; from dd_core.runs import RunStore; print(len(RunStore(sys.argv[1]).list_runs()))"
    env = {**os.environ}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and outs == ["3", "3"]
    assert "events" not in _tables(path)
