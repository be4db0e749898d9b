"""The run store: one SQLite file that pages, workers and CLI runs share.

Pages write a run (``create_run``), a worker process claims it (``claim_next_queued``) and streams its events into the
store (see :mod:`dd_core.runs.recorder`), pages poll it. The file lives at ``<data home>/runs.sqlite3`` and each run's
artifacts (snapshots, final set, PNGs) in ``<data home>/runs/<id>/``.

Concurrency: WAL journal (readers never block the writer nor each other), ``busy_timeout`` 10 s, every write in a short
``BEGIN IMMEDIATE`` transaction, one connection per ``RunStore`` per thread (Streamlit calls from many threads; a
thread's connection is closed when the thread ends). Every method returns plain dicts/lists with JSON decoded;
timestamps are unix seconds (floats).

Status machine::

    queued ──▶ running ──▶ done | failed | cancelled | interrupted
       └──────▶ cancelled | failed

``interrupted`` = the worker went away without finishing (dead pid or stale heartbeat), set by :meth:`RunStore.reap`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import shutil
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

from ..errors import DDError
from ..paths import data_home

__all__ = [
    "RunStore",
    "RunStoreError",
    "KINDS",
    "STATUSES",
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "SOURCES",
    "SCHEMA_VERSION",
    "DB_FILENAME",
    "to_jsonable",
    "dumps",
]

SCHEMA_VERSION = 1
DB_FILENAME = "runs.sqlite3"
BUSY_TIMEOUT_S = 10.0

KINDS = ("distill", "baseline", "evaluate", "experts")
SOURCES = ("ui", "cli")
STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE_STATUSES = ("queued", "running")
FINAL_STATUSES = ("done", "failed", "cancelled", "interrupted")

# allowed status transitions (running -> running is accepted as an idempotent no-op, see set_status)
_TRANSITIONS = {
    "queued": frozenset({"running", "cancelled", "failed"}),
    "running": frozenset({"done", "failed", "cancelled", "interrupted"}),
}

_EVAL_COLUMNS = ("iteration", "net", "acc_mean", "acc_std", "n_models", "epochs", "protocol")


class RunStoreError(DDError, ValueError):
    """A run-store request that cannot be honoured (unknown run, invalid status change, deleting a running run...)."""


# ---------------------------------------------------------------------------------------------------------- JSON
def to_jsonable(x: Any) -> Any:
    """Plain JSON types only: NaN/inf -> None, numpy/torch scalars and arrays -> Python numbers/lists,
    paths -> str, dataclasses -> dicts, enums -> their value, anything else -> ``float(x)`` or ``str(x)``."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, dict):
        return {(k if isinstance(k, str) else str(to_jsonable(k))): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, PurePath):
        return str(x)
    if isinstance(x, enum.Enum):
        return to_jsonable(x.value)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return to_jsonable(dataclasses.asdict(x))
    tolist = getattr(x, "tolist", None)  # numpy scalars/arrays, torch tensors (0-d -> Python scalar)
    if callable(tolist):
        try:
            v = tolist()
        except Exception:  # noqa: BLE001 - fall through to float()/str()
            pass
        else:
            if v is not x:
                return to_jsonable(v)
    try:
        return to_jsonable(float(x))
    except Exception:  # noqa: BLE001
        return str(x)


def dumps(obj: Any) -> str:
    """``json.dumps`` that never fails on NaN, numpy/torch scalars, paths..."""
    return json.dumps(to_jsonable(obj), allow_nan=False, separators=(",", ":"))


def _loads(text: str | None) -> Any:
    if text is None or text == "":
        return None
    return json.loads(text)


# ----------------------------------------------------------------------------------------------------- processes
def _pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this host and is not a zombie."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except (OverflowError, OSError):
        return False
    try:  # a finished child nobody waited for is a zombie: dead for our purpose
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]
        if state in (b"Z", b"X"):
            return False
    except (OSError, ValueError):
        pass
    return True


# ------------------------------------------------------------------------------------------------------- schema
_SCHEMA = """
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


_FORK_ORPHANS: list = []  # connections inherited through fork(): kept open, never touched again


class _Connection(sqlite3.Connection):
    """A plain connection that can be weak-referenced (so ``RunStore.close`` can reach every thread's connection)."""


def _run_row(row: sqlite3.Row | None) -> dict | None:
    if row is None:
        return None
    d = dict(row)
    d["config"] = _loads(d.get("config")) or {}
    d["summary"] = _loads(d.get("summary"))
    d["cancel_requested"] = bool(d.get("cancel_requested"))
    return d


def _as_list(v: str | Iterable[str] | None) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    return list(v)


class RunStore:
    """SQLite-backed store of runs, their step metrics, evaluations, snapshots and phase progress.

    ``RunStore()`` opens ``<data home>/runs.sqlite3``; ``RunStore(path)`` any other file (artifacts then live in
    ``<path's folder>/runs/<id>/`` unless ``artifacts_root`` says otherwise). Cheap to construct; safe to share
    between threads; picklable (a copy reopens the same file).
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        artifacts_root: str | os.PathLike | None = None,
        busy_timeout: float = BUSY_TIMEOUT_S,
    ):
        self.path = Path(path).expanduser() if path is not None else data_home() / DB_FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.artifacts_root = (
            Path(artifacts_root).expanduser() if artifacts_root is not None else self.path.parent / "runs"
        )
        self.busy_timeout = float(busy_timeout)
        self._init_state()

    def _init_state(self) -> None:
        self._local = threading.local()
        self._conns: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._schema_ready = False

    def __getstate__(self) -> dict:
        return {"path": self.path, "artifacts_root": self.artifacts_root, "busy_timeout": self.busy_timeout}

    def __setstate__(self, state: dict) -> None:
        self.path = state["path"]
        self.artifacts_root = state["artifacts_root"]
        self.busy_timeout = state["busy_timeout"]
        self._init_state()

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # ------------------------------------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path),
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            factory=_Connection,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # e.g. a file system without shared memory support
            raise RunStoreError(f"cannot use WAL journal for the run store {self.path} (got {mode!r})")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = OFF")
        return conn

    def _conn(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:  # forked: never use (nor close) the parent's connections
            _FORK_ORPHANS.extend(self._conns)
            self._init_state()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            if not self._schema_ready:
                with self._lock:
                    if not self._schema_ready:
                        self._ensure_schema(conn)
                        self._schema_ready = True
            self._local.conn = conn
            with self._lock:
                self._conns.add(conn)
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RunStoreError(
                f"the run store {self.path} has schema version {version}, newer than this "
                f"DistillLab understands ({SCHEMA_VERSION}); upgrade DistillLab or set DD_HOME "
                "to another folder"
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (``BEGIN IMMEDIATE``: takes the write lock up front, waits up to busy_timeout)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()

    def close(self) -> None:
        """Close every thread's connection (the store reopens lazily if used again)."""
        with self._lock:
            conns = list(self._conns)
            self._conns = weakref.WeakSet()
            self._local = threading.local()
        for c in conns:
            try:
                c.close()
            except sqlite3.Error:
                pass

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------------------------------------------- artifacts
    def artifacts_dir(self, run_id: int, create: bool = True) -> Path:
        """``<data home>/runs/<id>/`` (created unless ``create=False``)."""
        d = self.artifacts_root / str(int(run_id))
        if create:
            d.mkdir(parents=True, exist_ok=True)
        return d

    # ------------------------------------------------------------------------------------------------------- runs
    def create_run(
        self,
        kind: str,
        config: dict | Any,
        *,
        method: str | None = None,
        dataset: str | None = None,
        ipc: int | None = None,
        total_iterations: int | None = None,
        status: str = "queued",
        source: str = "ui",
        device: str | None = None,
        label: str | None = None,
        pid: int | None = None,
    ) -> int:
        """Record a new run and return its id. ``status='running'`` (a CLI run recording itself) also sets
        ``started_at``, the heartbeat and ``pid`` (default: this process)."""
        if kind not in KINDS:
            raise RunStoreError(f"unknown run kind {kind!r}; expected one of {', '.join(KINDS)}")
        if status not in ACTIVE_STATUSES:
            raise RunStoreError(f"a new run starts as 'queued' or 'running', not {status!r}")
        if source not in SOURCES:
            raise RunStoreError(f"unknown run source {source!r}; expected one of {', '.join(SOURCES)}")
        cfg = to_jsonable(config if config is not None else {})
        if not isinstance(cfg, dict):
            raise RunStoreError(f"a run config must be a dict, got {type(config).__name__}")
        now = time.time()
        running = status == "running"
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO runs (kind, method, dataset, ipc, status, config, device, source, pid, heartbeat, "
                "created_at, started_at, total_iterations, label) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    kind,
                    method,
                    dataset,
                    None if ipc is None else int(ipc),
                    status,
                    dumps(cfg),
                    device,
                    source,
                    (pid if pid is not None else os.getpid()) if running else pid,
                    now if running else None,
                    now,
                    now if running else None,
                    None if total_iterations is None else int(total_iterations),
                    label,
                ),
            )
            return int(cur.lastrowid)

    def get_run(self, run_id: int) -> dict | None:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (int(run_id),))
        return _run_row(rows[0]) if rows else None

    def _require(self, c: sqlite3.Connection, run_id: int) -> sqlite3.Row:
        row = c.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise RunStoreError(f"no run #{run_id} in the run store ({self.path})")
        return row

    def list_runs(
        self,
        *,
        kind: str | Iterable[str] | None = None,
        status: str | Iterable[str] | None = None,
        dataset: str | Iterable[str] | None = None,
        method: str | Iterable[str] | None = None,
        limit: int | None = 200,
    ) -> list[dict]:
        """Runs, newest first. Each filter takes one value or a list of values."""
        where, params = [], []
        for col, val in (("kind", kind), ("status", status), ("dataset", dataset), ("method", method)):
            vals = _as_list(val)
            if vals is None:
                continue
            if not vals:
                return []
            where.append(f"{col} IN ({','.join('?' * len(vals))})")
            params.extend(vals)
        sql = "SELECT * FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_run_row(r) for r in self._read(sql, params)]

    def run_state(self, run_id: int) -> dict | None:
        """Cheap poll: ``{"status", "cancel_requested", "iteration", "heartbeat"}`` or None if the run is gone."""
        rows = self._read(
            "SELECT status, cancel_requested, iteration, heartbeat FROM runs WHERE id = ?", (int(run_id),)
        )
        if not rows:
            return None
        d = dict(rows[0])
        d["cancel_requested"] = bool(d["cancel_requested"])
        return d

    def set_status(self, run_id: int, status: str, *, error: str | None = None, summary: Any = None) -> None:
        """Move a run along queued -> running -> done | failed | cancelled | interrupted (queued may also go to
        cancelled or failed). Anything else raises :class:`RunStoreError`; running -> running is a no-op that
        refreshes the heartbeat."""
        if status not in STATUSES:
            raise RunStoreError(f"unknown run status {status!r}; expected one of {', '.join(STATUSES)}")
        now = time.time()
        with self._write() as c:
            row = self._require(c, run_id)
            old = row["status"]
            if old == status == "running":
                c.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (now, int(run_id)))
                return
            if status not in _TRANSITIONS.get(old, ()):
                raise RunStoreError(f"run #{run_id} cannot go from {old!r} to {status!r}")
            sets, params = ["status = ?"], [status]
            if status == "running":
                sets += ["started_at = COALESCE(started_at, ?)", "heartbeat = ?"]
                params += [now, now]
            else:
                sets.append("finished_at = ?")
                params.append(now)
            if error is not None:
                sets.append("error = ?")
                params.append(str(error))
            if summary is not None:
                sets.append("summary = ?")
                params.append(dumps(summary))
            params.append(int(run_id))
            c.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", params)

    def update_summary(self, run_id: int, summary: Any) -> None:
        with self._write() as c:
            self._require(c, run_id)
            c.execute("UPDATE runs SET summary = ? WHERE id = ?", (dumps(summary), int(run_id)))

    def claim_next_queued(
        self,
        device: str,
        max_running: int = 1,
        *,
        run_id: int | None = None,
        pid: int | None = None,
        stale_after: float = 30.0,
    ) -> dict | None:
        """Atomically claim the oldest queued run for ``device`` (queued runs with that device or none) if fewer than
        ``max_running`` runs are running on it; dead runs are reaped first. The claimed run becomes 'running' with
        ``started_at``, a fresh heartbeat and ``pid`` (default: this process). ``run_id`` claims only that run.
        Returns the run (as :meth:`get_run`) or None."""
        self.reap(stale_after=stale_after)
        now = time.time()
        with self._write() as c:
            n = c.execute("SELECT COUNT(*) FROM runs WHERE status = 'running' AND device IS ?", (device,)).fetchone()[0]
            if n >= max_running:
                return None
            sql = "SELECT id FROM runs WHERE status = 'queued' AND (device IS ? OR device IS NULL)"
            params: list[Any] = [device]
            if run_id is not None:
                sql += " AND id = ?"
                params.append(int(run_id))
            row = c.execute(sql + " ORDER BY created_at, id LIMIT 1", params).fetchone()
            if row is None:
                return None
            claimed = int(row["id"])
            c.execute(
                "UPDATE runs SET status = 'running', started_at = ?, heartbeat = ?, pid = ?, device = ? WHERE id = ?",
                (now, now, pid if pid is not None else os.getpid(), device, claimed),
            )
        return self.get_run(claimed)

    def attach_worker(self, run_id: int, pid: int) -> None:
        with self._write() as c:
            self._require(c, run_id)
            c.execute("UPDATE runs SET pid = ?, heartbeat = ? WHERE id = ?", (int(pid), time.time(), int(run_id)))

    def heartbeat(self, run_id: int, *, iteration: int | None = None, seconds: float | None = None) -> None:
        """Refresh the run's heartbeat; also record the latest completed ``iteration`` and work ``seconds``."""
        self.record_steps(run_id, (), iteration=iteration, seconds=seconds, heartbeat=True)

    def request_cancel(self, run_id: int) -> str:
        """A queued run is cancelled at once; a running one is flagged (its worker stops at its next check).
        Returns the run's status after the request."""
        now = time.time()
        with self._write() as c:
            row = self._require(c, run_id)
            status = row["status"]
            if status == "queued":
                c.execute(
                    "UPDATE runs SET status = 'cancelled', cancel_requested = 1, finished_at = ? WHERE id = ?",
                    (now, int(run_id)),
                )
                return "cancelled"
            if status == "running":
                c.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (int(run_id),))
            return status

    def cancel_requested(self, run_id: int) -> bool:
        """True once a cancel was requested (or if the run no longer exists: nothing left to work for)."""
        rows = self._read("SELECT cancel_requested FROM runs WHERE id = ?", (int(run_id),))
        return True if not rows else bool(rows[0][0])

    def reap(self, stale_after: float = 30.0) -> list[int]:
        """Mark running runs whose worker is gone as 'interrupted': pid dead (on this host) or heartbeat older than
        ``stale_after`` seconds. Returns their ids."""

        def reason_for(row, now: float) -> str | None:
            if row["pid"] is not None and not _pid_alive(row["pid"]):
                return f"worker process {row['pid']} ended without finishing the run"
            if stale_after is not None:
                last = row["heartbeat"] or row["started_at"] or row["created_at"]
                if now - last > stale_after:
                    return f"no heartbeat for {now - last:.0f} s (worker hung or was killed; limit {stale_after:g} s)"
            return None

        sql = "SELECT id, pid, heartbeat, started_at, created_at FROM runs WHERE status = 'running'"
        # lock-free pass first: most calls find nothing to reap and need no write lock
        if not any(reason_for(r, time.time()) for r in self._read(sql)):
            return []
        reaped: list[int] = []
        with self._write() as c:  # re-check under the write lock (a heartbeat may have arrived meanwhile)
            now = time.time()
            for row in c.execute(sql).fetchall():
                reason = reason_for(row, now)
                if reason:
                    c.execute(
                        "UPDATE runs SET status = 'interrupted', finished_at = ?, "
                        "error = COALESCE(error, ?) WHERE id = ?",
                        (now, reason, row["id"]),
                    )
                    reaped.append(int(row["id"]))
        return reaped

    def delete_run(self, run_id: int, *, force: bool = False) -> bool:
        """Remove a run's rows in every table and its artifact folder. Refuses a running run unless ``force``.
        Returns False if there was no such run."""
        with self._write() as c:
            row = c.execute("SELECT status FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is not None and row["status"] == "running" and not force:
                raise RunStoreError(f"run #{run_id} is running; cancel it first (or delete with force=True)")
            for table in ("metrics", "evals", "snapshots", "events"):
                c.execute(f"DELETE FROM {table} WHERE run_id = ?", (int(run_id),))
            c.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
        shutil.rmtree(self.artifacts_dir(run_id, create=False), ignore_errors=True)
        return row is not None

    # ---------------------------------------------------------------------------------------------------- metrics
    def add_metrics(self, run_id: int, rows: Iterable[tuple]) -> None:
        """Append step metrics ``[(iteration, {"loss": ...}), ...]`` (optionally ``(iteration, data, t)``) in one
        transaction."""
        self.record_steps(run_id, rows)

    def record_steps(
        self,
        run_id: int,
        rows: Iterable[tuple],
        *,
        iteration: int | None = None,
        seconds: float | None = None,
        heartbeat: bool | None = None,
    ) -> None:
        """``add_metrics`` and (when ``iteration``/``seconds`` are given or ``heartbeat``) ``heartbeat`` in a single
        transaction: what :class:`~dd_core.runs.recorder.RunRecorder` calls on each flush."""
        now = time.time()
        prepared = []
        for r in rows:
            it, data = r[0], r[1]
            t = r[2] if len(r) > 2 and r[2] is not None else now
            d = to_jsonable(data if data is not None else {})
            if not isinstance(d, dict):
                d = {"value": d}
            prepared.append((int(run_id), int(it), float(t), json.dumps(d, separators=(",", ":"))))
        if heartbeat is None:
            heartbeat = iteration is not None or seconds is not None
        if not prepared and not heartbeat:
            return
        with self._write() as c:
            if prepared:
                c.executemany("INSERT INTO metrics (run_id, iteration, t, data) VALUES (?,?,?,?)", prepared)
            if heartbeat:
                c.execute(
                    "UPDATE runs SET heartbeat = ?, iteration = COALESCE(?, iteration), "
                    "seconds = COALESCE(?, seconds) WHERE id = ?",
                    (now, None if iteration is None else int(iteration), _num(seconds), int(run_id)),
                )

    def metrics(self, run_id: int, *, after_iteration: int = -1) -> list[dict]:
        """Step metrics with ``iteration > after_iteration``, in order: ``[{"iteration", "t", **data}, ...]``."""
        out = []
        for r in self._read(
            "SELECT iteration, t, data FROM metrics WHERE run_id = ? AND iteration > ? ORDER BY iteration, id",
            (int(run_id), int(after_iteration)),
        ):
            d = {"iteration": r["iteration"], "t": r["t"]}
            d.update(_loads(r["data"]) or {})
            out.append(d)
        return out

    # ------------------------------------------------------------------------------------------------------ evals
    def add_eval(self, run_id: int, record: dict) -> None:
        """Store one evaluation result (keys iteration, net, acc_mean, acc_std, n_models, epochs, protocol; the whole
        record, per-model accuracies, seconds... is kept as JSON)."""
        rec = to_jsonable(dict(record))
        rec.pop("type", None)
        vals = [rec.get(k) for k in _EVAL_COLUMNS]
        for i in (0, 4, 5):  # iteration, n_models, epochs
            vals[i] = None if vals[i] is None else int(vals[i])
        for i in (2, 3):  # acc_mean, acc_std
            vals[i] = _num(vals[i])
        if vals[1] is not None:
            vals[1] = str(vals[1])
        with self._write() as c:
            c.execute(
                "INSERT INTO evals (run_id, iteration, net, acc_mean, acc_std, n_models, epochs, protocol, "
                "data, t) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (int(run_id), *vals, json.dumps(rec, separators=(",", ":")), time.time()),
            )

    def evals(self, run_id: int) -> list[dict]:
        """Evaluation results in the order they were recorded: the stored record plus its columns and ``t``."""
        out = []
        for r in self._read("SELECT * FROM evals WHERE run_id = ? ORDER BY id", (int(run_id),)):
            d = _loads(r["data"]) or {}
            d.update({k: r[k] for k in ("run_id", *_EVAL_COLUMNS, "t")})
            out.append(d)
        return out

    # -------------------------------------------------------------------------------------------------- snapshots
    def add_snapshot(self, run_id: int, iteration: int, rel_path: str | os.PathLike) -> None:
        """Record a snapshot file (path relative to the run's artifact folder)."""
        p = PurePath(rel_path)
        with self._write() as c:
            c.execute(
                "INSERT INTO snapshots (run_id, iteration, path, t) VALUES (?,?,?,?)",
                (int(run_id), int(iteration), p.as_posix(), time.time()),
            )

    def snapshots(self, run_id: int) -> list[dict]:
        """``[{"iteration", "path" (relative), "abs_path", "t"}, ...]`` by iteration."""
        base = self.artifacts_dir(run_id, create=False)
        return [
            {"iteration": r["iteration"], "path": r["path"], "abs_path": str(base / r["path"]), "t": r["t"]}
            for r in self._read(
                "SELECT iteration, path, t FROM snapshots WHERE run_id = ? ORDER BY iteration, id", (int(run_id),)
            )
        ]

    # --------------------------------------------------------------------------------------------------- progress
    def set_progress(self, run_id: int, kind: str, data: dict) -> None:
        """Latest progress of a phase (eval training, expert training...): one row per (run, kind), overwritten."""
        with self._write() as c:
            c.execute(
                "INSERT INTO events (run_id, t, kind, data) VALUES (?,?,?,?) "
                "ON CONFLICT(run_id, kind) DO UPDATE SET t = excluded.t, data = excluded.data",
                (int(run_id), time.time(), str(kind), dumps(data)),
            )

    def progress(self, run_id: int) -> dict[str, dict]:
        """``{kind: data}``; each data also carries ``t`` (time written) unless it had its own."""
        out = {}
        for r in self._read("SELECT kind, t, data FROM events WHERE run_id = ? ORDER BY t", (int(run_id),)):
            d = _loads(r["data"])
            if isinstance(d, dict):
                d.setdefault("t", r["t"])
            out[r["kind"]] = d
        return out


def _num(x: Any) -> float | None:
    if x is None:
        return None
    v = to_jsonable(x)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
