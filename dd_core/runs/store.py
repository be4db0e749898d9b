"""The run store: one SQLite file that pages, workers and CLI runs share.

Pages write a run (``create_run``), a worker process claims it (``claim_next_queued``) and streams its events into the
store (see :mod:`dd_core.runs.recorder`), pages poll it. The file lives at ``<data home>/runs.sqlite3`` and each run's
artifacts (snapshots, final set, PNGs, ``run.json``) in ``<data home>/runs/<id>/``.

Concurrency: WAL journal (readers never block the writer nor each other), ``busy_timeout`` 10 s, every write in a short
``BEGIN IMMEDIATE`` transaction, one connection per ``RunStore`` per thread (Streamlit calls from many threads; a
thread's connection is closed when the thread ends). Every method returns plain dicts/lists with JSON decoded;
timestamps are unix seconds (floats).

Status machine::

    queued ──▶ running ──▶ done | failed | cancelled | interrupted
       └──────▶ cancelled | failed
    interrupted ──▶ running | done | failed | cancelled     (only by the run's own process: it was not dead)

``interrupted`` = the worker went away without finishing, set by :meth:`RunStore.reap`. A run on this host is dead when
its process (host + pid + start time) is gone; the heartbeat decides only for runs of other hosts (or when the start
time is unknown), after ``DD_HEARTBEAT_TIMEOUT_S`` seconds (default 30).

Nothing lost: run ids are never reused (a high-water mark in ``meta``, and never below an existing run folder), a run's
folder is created exclusively, and ``run.json`` in it mirrors the run's row, evaluations and snapshots, so that
:func:`repair_store` (``python -m dd_core runs --repair``) can rebuild a damaged store from the run folders. Nothing
silently wrong: a damaged or unreadable store file makes every operation raise :class:`RunStoreError` naming the file
and the repair command.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import os
import shutil
import socket
import sqlite3
import threading
import time
import urllib.parse
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

from ..errors import DDError
from ..paths import HOME_ENV, atomic_path, data_home, not_writable

__all__ = [
    "RunStore",
    "RunStoreError",
    "DamagedStoreError",
    "KINDS",
    "STATUSES",
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "SOURCES",
    "SCHEMA_VERSION",
    "DB_FILENAME",
    "RUN_JSON",
    "REPAIR_COMMAND",
    "HEARTBEAT_ENV",
    "heartbeat_timeout",
    "process_start",
    "repair_store",
    "to_jsonable",
    "dumps",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
DB_FILENAME = "runs.sqlite3"
RUN_JSON = "run.json"
BUSY_TIMEOUT_S = 10.0
HEARTBEAT_ENV = "DD_HEARTBEAT_TIMEOUT_S"
DEFAULT_HEARTBEAT_TIMEOUT_S = 30.0
REPAIR_COMMAND = "python -m dd_core runs --repair"

KINDS = ("distill", "baseline", "evaluate", "experts", "sweep")
SOURCES = ("ui", "cli")
STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE_STATUSES = ("queued", "running")
FINAL_STATUSES = ("done", "failed", "cancelled", "interrupted")

# allowed status transitions (running -> running is accepted as an idempotent no-op, see set_status)
_TRANSITIONS = {
    "queued": frozenset({"running", "cancelled", "failed"}),
    "running": frozenset({"done", "failed", "cancelled", "interrupted"}),
}
# an interrupted run whose own process turns out alive may go on (set_status checks host + pid + start time)
_RESUME = frozenset({"running", "done", "failed", "cancelled"})

# a sweep's driver job queued by `python -m dd_core sweep` (waiting for the device): only that command claims it
_CLI_DRIVER = "kind = 'sweep' AND source = 'cli'"

_EVAL_COLUMNS = ("iteration", "net", "acc_mean", "acc_std", "n_models", "epochs", "protocol")
_PROGRESS_TABLES = ("metrics", "evals", "snapshots", "progress")


class RunStoreError(DDError, ValueError):
    """A run-store request that cannot be honoured (unknown run, invalid status change, deleting a running run...)."""


class DamagedStoreError(RunStoreError):
    """The store file is corrupt or unreadable; the message names it and ``python -m dd_core runs --repair``."""


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
def this_host() -> str:
    """The host name recorded with a run's worker (runs of other hosts are judged by their heartbeat)."""
    return socket.gethostname()


def process_start(pid: int) -> float | None:
    """When process ``pid`` started: ``/proc/<pid>/stat`` field 22 (clock ticks since boot) on Linux, else psutil's
    ``create_time()`` when psutil is installed; None when unknown (no such process, no way to tell)."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            stat = fh.read()
        return float(stat[stat.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError, OverflowError):
        pass
    if os.path.isdir("/proc/self"):  # Linux and the process is gone: nothing more to learn
        return None
    try:
        import psutil
    except ImportError:
        return None
    try:
        return float(psutil.Process(int(pid)).create_time())
    except Exception:  # noqa: BLE001 - no such process, access denied...
        return None


_OWN_START: dict[int, float | None] = {}


def _own_identity() -> tuple[str, int, float | None]:
    """(host, pid, start time) of this process: what a run it owns records."""
    pid = os.getpid()
    if pid not in _OWN_START:
        _OWN_START[pid] = process_start(pid)
    return this_host(), pid, _OWN_START[pid]


def _identity_of(pid: int | None) -> tuple[str, int, float | None]:
    """(host, pid, start time) of ``pid`` on this host (default: this process)."""
    if pid is None or int(pid) == os.getpid():
        return _own_identity()
    return this_host(), int(pid), process_start(int(pid))


def _is_mine(row: sqlite3.Row | dict) -> bool:
    """True when the run's recorded worker is this very process (same host, pid and start time)."""
    host, pid, start = _own_identity()
    return row["host"] == host and row["pid"] == pid and row["pid_start"] == start


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


def heartbeat_timeout() -> float:
    """Seconds without a heartbeat after which a run of another host counts as dead: ``$DD_HEARTBEAT_TIMEOUT_S``,
    default 30."""
    raw = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not raw:
        return DEFAULT_HEARTBEAT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise RunStoreError(
            f"{HEARTBEAT_ENV}={raw!r} is not a positive number of seconds; set it to e.g. 30 or unset it"
        )
    return value


def _death(row: sqlite3.Row, now: float, stale_after: float) -> str | None:
    """Why a running run's worker is gone, or None while it lives. On this host the process decides (pid alive with
    the recorded start time: alive, even paused with a stale heartbeat); elsewhere, or when the start time is unknown,
    the heartbeat."""
    pid, host = row["pid"], row["host"]
    if pid is not None and (host is None or host == this_host()):
        if not _pid_alive(pid):
            return f"worker process {pid} ended without finishing the run"
        if host is not None and row["pid_start"] is not None:
            start = process_start(pid)
            if start is not None:
                if start != row["pid_start"]:
                    return (
                        f"worker process {pid} ended without finishing the run (its pid now belongs to another process)"
                    )
                return None
    last = row["heartbeat"] or row["started_at"] or row["created_at"]
    if now - last > stale_after:
        where = f" on {host}" if host and host != this_host() else ""
        return (
            f"no heartbeat for {now - last:.0f} s from its worker{where} (hung, killed or unreachable; "
            f"limit {stale_after:g} s, {HEARTBEAT_ENV})"
        )
    return None


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
    label TEXT,
    host TEXT,
    pid_start REAL,
    sweep_id INTEGER,
    trial INTEGER
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, device);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep_id, trial);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL
);
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
CREATE TABLE IF NOT EXISTS progress (
    run_id INTEGER NOT NULL,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, kind)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reference_cache (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    t REAL NOT NULL
);
"""

# schema 1 -> 2: the worker's host and start time (liveness), 'events' renamed 'progress' (the latest progress per
# run and phase; "events" are the engine's dicts), a 'meta' table for the run-id high-water mark
_MIGRATE_1_TO_2 = """
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN pid_start REAL;
CREATE TABLE progress (
    run_id INTEGER NOT NULL,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, kind)
);
INSERT INTO progress (run_id, t, kind, data) SELECT run_id, t, kind, data FROM events;
DROP TABLE events;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR REPLACE INTO meta (key, value) SELECT 'last_run_id', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM runs;
"""

# schema 2 -> 3: a cache of random-real references (dd_core/reference.py), keyed by their evaluation settings
_MIGRATE_2_TO_3 = """
CREATE TABLE IF NOT EXISTS reference_cache (
    key TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    t REAL NOT NULL
);
"""

# schema 3 -> 4: sweeps (python -m dd_core sweep): a 'sweeps' table, and each trial run tagged with its sweep and its
# trial's index in the sweep's spec (NULL for runs that are no trial)
_MIGRATE_3_TO_4 = """
ALTER TABLE runs ADD COLUMN sweep_id INTEGER;
ALTER TABLE runs ADD COLUMN trial INTEGER;
CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep_id, trial);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    finished_at REAL
);
"""


def _statements(script: str) -> list[str]:
    return [s for s in script.split(";") if s.strip()]


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


def _as_list(v: str | int | Iterable[str] | None) -> list | None:
    if v is None:
        return None
    if isinstance(v, (str, int)):
        return [v]
    return list(v)


def _largest_folder_id(root: Path) -> int:
    """The largest run id that has a folder (or any entry) named ``<id>`` under ``root``; 0 when none."""
    try:
        with os.scandir(root) as it:
            return max((int(e.name) for e in it if e.name.isascii() and e.name.isdigit()), default=0)
    except FileNotFoundError:
        return 0
    except NotADirectoryError:
        return 0


def _eval_values(record: dict) -> tuple[list, str]:
    """An eval record as its column values and its JSON text."""
    rec = to_jsonable(dict(record))
    rec.pop("type", None)
    vals = [rec.get(k) for k in _EVAL_COLUMNS]
    for i in (0, 4, 5):  # iteration, n_models, epochs
        vals[i] = None if vals[i] is None else int(vals[i])
    for i in (2, 3):  # acc_mean, acc_std
        vals[i] = _num(vals[i])
    if vals[1] is not None:
        vals[1] = str(vals[1])
    return vals, json.dumps(rec, separators=(",", ":"))


def _first_line(text: str, limit: int = 160) -> str:
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunStoreError(not_writable(self.path.parent, err.strerror or type(err).__name__)) from None
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

    # ----------------------------------------------------------------------------------------------------- errors
    def _damaged(self, detail: str) -> DamagedStoreError:
        """The error of a damaged file; this thread's connection is dropped (a repaired file is opened afresh)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        self._schema_ready = False
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        return DamagedStoreError(
            f"the run store {self.path} is damaged or unreadable ({_first_line(detail)}); run `{REPAIR_COMMAND}` "
            "to keep a backup of it and rebuild it from the run folders"
        )

    def _error(self, err: sqlite3.Error) -> RunStoreError:
        """One readable line for an SQLite failure: damaged file, unwritable folder, lock held too long, other."""
        msg = _first_line(str(err)) or type(err).__name__
        low = msg.lower()
        if any(k in low for k in ("not a database", "malformed", "corrupt", "encrypted")):
            return self._damaged(msg)
        if "locked" in low or "busy" in low:
            return RunStoreError(
                f"the run store {self.path} stayed locked by another process for over {self.busy_timeout:g} s "
                f"({msg}); try again"
            )
        if any(k in low for k in ("readonly", "read-only", "unable to open", "disk i/o", "permission")):
            folder = self.path.parent
            if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
                return RunStoreError(not_writable(folder, msg))
            if self.path.exists() or self.path.is_symlink():
                return self._damaged(msg)
        return RunStoreError(f"the run store {self.path} failed ({msg}); if this persists, run `{REPAIR_COMMAND}`")

    # ------------------------------------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
                factory=_Connection,
            )
        except sqlite3.Error as err:
            raise self._error(err) from err
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # e.g. a file system without shared memory support
                raise RunStoreError(
                    f"cannot use a WAL journal for the run store {self.path} (got {mode!r}); "
                    f"set {HOME_ENV} to a folder on a local disk"
                )
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = OFF")
        except sqlite3.Error as err:
            conn.close()
            raise self._error(err) from err
        except BaseException:
            conn.close()
            raise
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
                        try:
                            self._ensure_schema(conn)
                        except sqlite3.Error as err:
                            conn.close()
                            raise self._error(err) from err
                        except BaseException:
                            conn.close()
                            raise
                        self._schema_ready = True
            self._local.conn = conn
            with self._lock:
                self._conns.add(conn)
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        """Check the file (``PRAGMA quick_check``, once per store object), then create or migrate the schema."""
        check = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
        if check != ["ok"]:
            raise self._damaged("; ".join(check))
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RunStoreError(
                f"the run store {self.path} has schema version {version}, newer than this "
                f"DistillLab understands ({SCHEMA_VERSION}); upgrade DistillLab or set {HOME_ENV} "
                "to another folder"
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have just done it
            if version == 0:
                for stmt in _statements(_SCHEMA):
                    conn.execute(stmt)
            else:
                steps = {1: _MIGRATE_1_TO_2, 2: _MIGRATE_2_TO_3, 3: _MIGRATE_3_TO_4}
                for v in range(version, SCHEMA_VERSION):
                    for stmt in _statements(steps[v]):
                        conn.execute(stmt)
                log.warning("run store %s migrated from schema %d to %d", self.path, version, SCHEMA_VERSION)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (``BEGIN IMMEDIATE``: takes the write lock up front, waits up to busy_timeout)."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise self._error(err) from err
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        conn = self._conn()
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise self._error(err) from err

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
        """``<data home>/runs/<id>/`` (made by ``create_run``; made again here unless ``create=False``)."""
        d = self.artifacts_root / str(int(run_id))
        if create:
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise RunStoreError(not_writable(d.parent, err.strerror or type(err).__name__)) from None
        return d

    def _make_run_folder(self, run_id: int) -> Path:
        """Create a new run's folder exclusively: an existing one is an error, never a mix of two runs' files."""
        d = self.artifacts_root / str(int(run_id))
        try:
            self.artifacts_root.mkdir(parents=True, exist_ok=True)
            d.mkdir()
        except FileExistsError:
            raise RunStoreError(
                f"the run folder {d} already exists although run #{run_id} is new; move that folder aside "
                "(it holds files of another run) and try again"
            ) from None
        except OSError as err:
            raise RunStoreError(not_writable(self.artifacts_root, err.strerror or type(err).__name__)) from None
        return d

    def _next_id(self, c: sqlite3.Connection) -> int:
        """The next run id: above the high-water mark, every row and every run folder (ids are never reused)."""
        row = c.execute("SELECT value FROM meta WHERE key = 'last_run_id'").fetchone()
        mark = int(row[0]) if row else 0
        top = int(c.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0])
        folders = _largest_folder_id(self.artifacts_root)
        if folders > max(mark, top):
            log.warning(
                "run folders up to %s have no run in the store %s; new run ids continue from #%d",
                self.artifacts_root / str(folders),
                self.path,
                folders + 1,
            )
        return max(mark, top, folders) + 1

    def _set_mark(self, c: sqlite3.Connection, run_id: int) -> None:
        """Record ``run_id`` as the largest id ever given out (callers pass a value above the current mark)."""
        c.execute(
            "INSERT INTO meta (key, value) VALUES ('last_run_id', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(int(run_id)),),
        )

    def _run_record(self, c: sqlite3.Connection, run_id: int) -> dict | None:
        """What ``run.json`` holds: the run's row, its evaluations and its snapshot list."""
        run = _run_row(c.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone())
        if run is None:
            return None
        snaps = c.execute(
            "SELECT iteration, path FROM snapshots WHERE run_id = ? ORDER BY iteration, id", (int(run_id),)
        ).fetchall()
        return {
            "format": 1,
            "run": run,
            "evals": self._evals(c, run_id),
            "snapshots": [{"iteration": r["iteration"], "path": r["path"]} for r in snaps],
        }

    def _write_run_json(self, c: sqlite3.Connection, run_id: int, *, strict: bool = False) -> None:
        """Mirror the run into ``<run folder>/run.json`` (atomically; inside the caller's write transaction, so writers
        never interleave). What ``repair_store`` rebuilds a run from. Failures are logged, raised only if ``strict``."""
        d = self.artifacts_root / str(int(run_id))
        if not strict and not d.is_dir():
            return
        record = self._run_record(c, run_id)
        if record is None:
            return
        try:
            with atomic_path(d / RUN_JSON) as tmp:
                tmp.write_text(json.dumps(to_jsonable(record), indent=1, allow_nan=False))
        except OSError as err:
            if strict:
                raise RunStoreError(not_writable(d, err.strerror or type(err).__name__)) from None
            log.warning("could not write %s (%s); the run store still has the run", d / RUN_JSON, err)

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
        sweep_id: int | None = None,
        trial: int | None = None,
    ) -> int:
        """Record a new run, create its folder (exclusively) and return its id, never one used before.
        ``status='running'`` (a CLI run recording itself) also sets ``started_at``, the heartbeat and the worker
        (``pid``, default this process, with its host and start time). ``sweep_id`` / ``trial``: the sweep this run
        is a trial of and the trial's index in it (its driver claims it; a worker never does)."""
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
        host, pid, start = _identity_of(pid) if running else (None, pid, None)
        folder = None
        try:
            with self._write() as c:
                run_id = self._next_id(c)
                c.execute(
                    "INSERT INTO runs (id, kind, method, dataset, ipc, status, config, device, source, pid, heartbeat, "
                    "created_at, started_at, total_iterations, label, host, pid_start, sweep_id, trial) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        kind,
                        method,
                        dataset,
                        None if ipc is None else int(ipc),
                        status,
                        dumps(cfg),
                        device,
                        source,
                        pid,
                        now if running else None,
                        now,
                        now if running else None,
                        None if total_iterations is None else int(total_iterations),
                        label,
                        host,
                        start,
                        None if sweep_id is None else int(sweep_id),
                        None if trial is None else int(trial),
                    ),
                )
                self._set_mark(c, run_id)
                folder = self._make_run_folder(run_id)
                self._write_run_json(c, run_id, strict=True)
        except BaseException:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        return run_id

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
        sweep_id: int | None = None,
        in_sweep: bool | None = None,
        limit: int | None = 200,
    ) -> list[dict]:
        """Runs, newest first. Each filter takes one value or a list of values; ``in_sweep``: only the runs of a
        sweep (True) or only those of none (False)."""
        where: list[str] = []
        params: list[Any] = []
        if in_sweep is not None:
            where.append("sweep_id IS NOT NULL" if in_sweep else "sweep_id IS NULL")
        filters = (("kind", kind), ("status", status), ("dataset", dataset), ("method", method), ("sweep_id", sweep_id))
        for col, val in filters:
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
        return [row for r in self._read(sql, params) if (row := _run_row(r)) is not None]

    def run_state(self, run_id: int) -> dict | None:
        """Cheap poll: ``{"status", "cancel_requested", "iteration", "heartbeat", "mine"}`` (``mine``: this process is
        the run's worker) or None if the run is gone."""
        rows = self._read(
            "SELECT status, cancel_requested, iteration, heartbeat, host, pid, pid_start FROM runs WHERE id = ?",
            (int(run_id),),
        )
        if not rows:
            return None
        row = rows[0]
        return {
            "status": row["status"],
            "cancel_requested": bool(row["cancel_requested"]),
            "iteration": row["iteration"],
            "heartbeat": row["heartbeat"],
            "mine": _is_mine(row),
        }

    def set_status(self, run_id: int, status: str, *, error: str | None = None, summary: Any = None) -> None:
        """Move a run along queued -> running -> done | failed | cancelled | interrupted (queued may also go to
        cancelled or failed; an interrupted run may go on only in its own process). Anything else raises
        :class:`RunStoreError`; running -> running is a no-op that refreshes the heartbeat."""
        if status not in STATUSES:
            raise RunStoreError(f"unknown run status {status!r}; expected one of {', '.join(STATUSES)}")
        now = time.time()
        with self._write() as c:
            row = self._require(c, run_id)
            old = row["status"]
            if old == status == "running":
                c.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (now, int(run_id)))
                return
            resume = old == "interrupted" and status in _RESUME and _is_mine(row)
            if not resume and status not in _TRANSITIONS.get(old, ()):
                why = (
                    " (only its own worker process can take an interrupted run further)" if old == "interrupted" else ""
                )
                raise RunStoreError(f"run #{run_id} cannot go from {old!r} to {status!r}{why}")
            sets: list[str] = ["status = ?"]
            params: list[Any] = [status]
            if status == "running":
                sets += ["started_at = COALESCE(started_at, ?)", "heartbeat = ?", "finished_at = NULL"]
                params += [now, now]
            else:
                sets.append("finished_at = ?")
                params.append(now)
            if error is not None:
                sets.append("error = ?")
                params.append(str(error))
            elif resume:
                sets.append("error = NULL")  # the reaper's reason no longer holds
            if summary is not None:
                sets.append("summary = ?")
                params.append(dumps(summary))
            params.append(int(run_id))
            c.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", params)
            self._write_run_json(c, run_id)

    def claim_next_queued(
        self,
        device: str,
        max_running: int = 1,
        *,
        run_id: int | None = None,
        pid: int | None = None,
        stale_after: float | None = None,
        sweep_id: int | None = None,
    ) -> dict | None:
        """Atomically claim the oldest queued run for ``device`` (queued runs with that device or none) if fewer than
        ``max_running`` runs are running on it; dead runs are reaped first. The claimed run becomes 'running' with
        ``started_at``, a fresh heartbeat and its worker: ``pid`` (default: this process), host and start time.
        ``run_id`` claims only that run. A sweep's trials are claimed only by their sweep's driver (``sweep_id``); a
        worker (``sweep_id=None``) never claims one, nor a sweep's driver job queued by the CLI (that command waits
        for the device and claims it by its ``run_id``). Returns the run (as :meth:`get_run`) or None."""
        self.reap(stale_after=stale_after)
        now = time.time()
        host, pid, start = _identity_of(pid)
        with self._write() as c:
            n = c.execute("SELECT COUNT(*) FROM runs WHERE status = 'running' AND device IS ?", (device,)).fetchone()[0]
            if n >= max_running:
                return None
            sql = "SELECT id FROM runs WHERE status = 'queued' AND (device IS ? OR device IS NULL)"
            params: list[Any] = [device]
            if sweep_id is not None:  # a sweep's driver claims its own trials
                sql += " AND sweep_id = ? AND trial IS NOT NULL"
                params.append(int(sweep_id))
            else:  # a worker: runs that are no trial; a sweep driver queued by the CLI only when named
                sql += " AND trial IS NULL"
                if run_id is None:
                    sql += f" AND NOT ({_CLI_DRIVER})"
            if run_id is not None:
                sql += " AND id = ?"
                params.append(int(run_id))
            row = c.execute(sql + " ORDER BY created_at, id LIMIT 1", params).fetchone()
            if row is None:
                return None
            claimed = int(row["id"])
            c.execute(
                "UPDATE runs SET status = 'running', started_at = ?, heartbeat = ?, pid = ?, host = ?, pid_start = ?, "
                "device = ? WHERE id = ?",
                (now, now, pid, host, start, device, claimed),
            )
            self._write_run_json(c, claimed)
        return self.get_run(claimed)

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
                self._write_run_json(c, run_id)
                return "cancelled"
            if status in ("running", "interrupted"):  # interrupted: in case its process is alive after all
                c.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (int(run_id),))
            return status

    def reap(self, stale_after: float | None = None) -> list[int]:
        """Mark running runs whose worker is gone as 'interrupted' and return their ids. On this host a worker is gone
        when its pid is dead or belongs to another process (start time differs); a live worker is never reaped, even
        paused. Runs of other hosts (or without a start time) go after ``stale_after`` seconds without a heartbeat
        (default ``$DD_HEARTBEAT_TIMEOUT_S``, 30)."""
        limit = heartbeat_timeout() if stale_after is None else float(stale_after)
        self._drop_orphan_drivers()
        sql = "SELECT id, pid, host, pid_start, heartbeat, started_at, created_at FROM runs WHERE status = 'running'"
        # lock-free pass first: most calls find nothing to reap and need no write lock
        if not any(_death(r, time.time(), limit) for r in self._read(sql)):
            return []
        reaped: list[int] = []
        with self._write() as c:  # re-check under the write lock (a heartbeat may have arrived meanwhile)
            now = time.time()
            for row in c.execute(sql).fetchall():
                reason = _death(row, now, limit)
                if reason:
                    c.execute(
                        "UPDATE runs SET status = 'interrupted', finished_at = ?, "
                        "error = COALESCE(error, ?) WHERE id = ?",
                        (now, reason, row["id"]),
                    )
                    self._write_run_json(c, row["id"])
                    reaped.append(int(row["id"]))
        return reaped

    def _drop_orphan_drivers(self) -> None:
        """A sweep's driver job queued by a command that ended while it waited for the device is cancelled."""
        sql = f"SELECT id, pid FROM runs WHERE status = 'queued' AND {_CLI_DRIVER} AND host IS NULL"
        gone = [(int(r["id"]), r["pid"]) for r in self._read(sql) if r["pid"] is not None and not _pid_alive(r["pid"])]
        for run_id, pid in gone:
            why = f"the sweep command (pid {pid}) ended while it waited for the device"
            with self._write() as c:
                c.execute(
                    "UPDATE runs SET status = 'cancelled', finished_at = ?, error = ? "
                    "WHERE id = ? AND status = 'queued'",
                    (time.time(), why, run_id),
                )
                self._write_run_json(c, run_id)

    def delete_run(self, run_id: int, *, force: bool = False) -> bool:
        """Remove a run's rows in every table and its artifact folder (its id is never given out again). Refuses a
        running run unless ``force``. Returns False if there was no such run."""
        with self._write() as c:
            row = c.execute("SELECT status FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is not None and row["status"] == "running" and not force:
                raise RunStoreError(f"run #{run_id} is running; cancel it first (or delete with force=True)")
            for table in _PROGRESS_TABLES:
                c.execute(f"DELETE FROM {table} WHERE run_id = ?", (int(run_id),))
            c.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
        shutil.rmtree(self.artifacts_dir(run_id, create=False), ignore_errors=True)
        return row is not None

    # ---------------------------------------------------------------------------------------------------- metrics
    def record_steps(
        self,
        run_id: int,
        rows: Iterable[tuple],
        *,
        iteration: int | None = None,
        seconds: float | None = None,
        heartbeat: bool | None = None,
    ) -> None:
        """Append step metrics ``[(iteration, {"loss": ...}), ...]`` (optionally ``(iteration, data, t)``) and (when
        ``iteration``/``seconds`` are given or ``heartbeat``) refresh the heartbeat, in a single transaction: what
        :class:`~dd_core.runs.recorder.RunRecorder` calls on each flush. A heartbeat from the run's own process takes
        an interrupted run back to running (it was paused, not dead)."""
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
                host, pid, start = _own_identity()
                resumed = c.execute(
                    "UPDATE runs SET status = 'running', finished_at = NULL, error = NULL WHERE id = ? "
                    "AND status = 'interrupted' AND host = ? AND pid = ? AND pid_start IS ?",
                    (int(run_id), host, pid, start),
                ).rowcount
                if resumed:
                    log.warning(
                        "run #%d was marked interrupted, but its process %d is alive: running again", run_id, pid
                    )
                    self._write_run_json(c, run_id)

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
        record, per-model accuracies, seconds... is kept as JSON, and in the run's ``run.json``)."""
        vals, text = _eval_values(record)
        with self._write() as c:
            c.execute(
                "INSERT INTO evals (run_id, iteration, net, acc_mean, acc_std, n_models, epochs, protocol, "
                "data, t) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (int(run_id), *vals, text, time.time()),
            )
            self._write_run_json(c, run_id)

    @staticmethod
    def _evals(c: sqlite3.Connection, run_id: int) -> list[dict]:
        out = []
        for r in c.execute("SELECT * FROM evals WHERE run_id = ? ORDER BY id", (int(run_id),)).fetchall():
            d = _loads(r["data"]) or {}
            d.update({k: r[k] for k in ("run_id", *_EVAL_COLUMNS, "t")})
            out.append(d)
        return out

    def evals(self, run_id: int) -> list[dict]:
        """Evaluation results in the order they were recorded: the stored record plus its columns and ``t``."""
        conn = self._conn()
        try:
            return self._evals(conn, run_id)
        except sqlite3.Error as err:
            raise self._error(err) from err

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
                "INSERT INTO progress (run_id, t, kind, data) VALUES (?,?,?,?) "
                "ON CONFLICT(run_id, kind) DO UPDATE SET t = excluded.t, data = excluded.data",
                (int(run_id), time.time(), str(kind), dumps(data)),
            )

    def progress(self, run_id: int) -> dict[str, dict]:
        """``{kind: data}``; each data also carries ``t`` (time written) unless it had its own."""
        out = {}
        for r in self._read("SELECT kind, t, data FROM progress WHERE run_id = ? ORDER BY t", (int(run_id),)):
            d = _loads(r["data"])
            if isinstance(d, dict):
                d.setdefault("t", r["t"])
            out[r["kind"]] = d
        return out

    # ------------------------------------------------------------------------------------------ reference cache
    def get_reference(self, key: str) -> dict | None:
        """A cached random-real reference (``dd_core/reference.py``) or None."""
        rows = self._read("SELECT data FROM reference_cache WHERE key = ?", (str(key),))
        value = _loads(rows[0]["data"]) if rows else None
        return value if isinstance(value, dict) else None

    def references(self) -> dict[str, dict]:
        """Every cached reference, ``{key: value}`` (what a sweep's driver hands its trials)."""
        out = {}
        for r in self._read("SELECT key, data FROM reference_cache"):
            value = _loads(r["data"])
            if isinstance(value, dict):
                out[r["key"]] = value
        return out

    def put_reference(self, key: str, value: dict) -> None:
        """Cache a reference under ``key`` (overwrites: the same key means the same settings)."""
        with self._write() as c:
            c.execute(
                "INSERT INTO reference_cache (key, data, t) VALUES (?,?,?) "
                "ON CONFLICT(key) DO UPDATE SET data = excluded.data, t = excluded.t",
                (str(key), dumps(value), time.time()),
            )

    # ----------------------------------------------------------------------------------------------------- repair
    def _rebuild(self, folders: list[tuple[int, dict]], salvaged: dict[str, list[tuple]] | None = None) -> None:
        """Insert recovered runs (``(id, record)`` as :func:`_read_run_folder` returns) with their own ids, and the
        metrics / progress rows salvaged from the damaged file."""
        salvaged = salvaged or {}
        with self._write() as c:
            c.executemany(
                "INSERT INTO metrics (run_id, iteration, t, data) VALUES (?,?,?,?)", salvaged.get("metrics", [])
            )
            c.executemany(
                "INSERT OR REPLACE INTO progress (run_id, t, kind, data) VALUES (?,?,?,?)", salvaged.get("progress", [])
            )
            top = 0
            for run_id, rec in folders:
                top = max(top, run_id)
                if c.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                    continue
                run = rec["run"]
                cols = ["id", *(k for k in _REBUILD_COLUMNS if k in run)]
                vals = [run_id, *(_column_value(k, run[k]) for k in cols[1:])]
                c.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})", vals)
                for ev in rec["evals"]:
                    ev_vals, text = _eval_values({k: v for k, v in ev.items() if k not in ("run_id", "t")})
                    c.execute(
                        "INSERT INTO evals (run_id, iteration, net, acc_mean, acc_std, n_models, epochs, protocol, "
                        "data, t) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (run_id, *ev_vals, text, float(ev.get("t") or time.time())),
                    )
                for it, path in rec["snapshots"]:
                    c.execute(
                        "INSERT INTO snapshots (run_id, iteration, path, t) VALUES (?,?,?,?)",
                        (run_id, it, path, (self.artifacts_root / str(run_id) / path).stat().st_mtime),
                    )
                self._write_run_json(c, run_id)
            row = c.execute("SELECT value FROM meta WHERE key = 'last_run_id'").fetchone()
            if top > (int(row[0]) if row else 0):
                self._set_mark(c, top)


def _num(x: Any) -> float | None:
    if x is None:
        return None
    v = to_jsonable(x)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


# ------------------------------------------------------------------------------------------------------- repair
_REBUILD_COLUMNS = (
    "kind",
    "method",
    "dataset",
    "ipc",
    "status",
    "config",
    "device",
    "source",
    "pid",
    "heartbeat",
    "created_at",
    "started_at",
    "finished_at",
    "error",
    "iteration",
    "total_iterations",
    "seconds",
    "summary",
    "cancel_requested",
    "label",
    "host",
    "pid_start",
    "sweep_id",
    "trial",
)


def _column_value(key: str, value: Any) -> Any:
    if key == "config":
        return dumps(value if isinstance(value, dict) else {})
    if key == "summary":
        return None if value is None else dumps(value)
    if key == "cancel_requested":
        return int(bool(value))
    v = to_jsonable(value)
    return v if v is None or isinstance(v, (int, float, str)) else str(v)


def _snapshot_files(folder: Path) -> list[tuple[int, str]]:
    """``[(iteration, "snapshots/<iteration>.pt"), ...]`` of the snapshot files in a run folder."""
    d = folder / "snapshots"
    if not d.is_dir():
        return []
    found = [(int(p.stem), f"snapshots/{p.name}") for p in d.iterdir() if p.suffix == ".pt" and p.stem.isdigit()]
    return sorted(found)


def _read_run_folder(folder: Path) -> tuple[dict | None, str | None]:
    """What a run folder tells about its run: ``({"run", "evals", "snapshots"}, None)`` or ``(None, why not)``."""
    snaps = _snapshot_files(folder)
    made = folder.stat().st_mtime
    note = f"no {RUN_JSON}"
    if (folder / RUN_JSON).is_file():
        try:
            data = json.loads((folder / RUN_JSON).read_text())
            run, evals = dict(data["run"]), [e for e in data.get("evals") or [] if isinstance(e, dict)]
        except (OSError, ValueError, KeyError, TypeError) as err:
            note = f"unreadable {RUN_JSON} ({_first_line(str(err), 80)})"
        else:
            if run.get("kind") not in KINDS:
                return None, f"{RUN_JSON} names no known run kind ({run.get('kind')!r})"
            status = run.get("status")
            if status not in STATUSES or status == "running":
                run["status"] = "interrupted"
                run["finished_at"] = run.get("finished_at") or time.time()
                run["error"] = run.get("error") or (
                    f"the run was {status} when the run store was damaged; recovered by `{REPAIR_COMMAND}`"
                )
            run.setdefault("created_at", made)
            return {"run": run, "evals": evals, "snapshots": snaps}, None
    if not snaps:
        return None, f"{note} and no snapshots"
    from ..synthetic import SyntheticSet

    try:  # a folder made before run.json existed: its last snapshot still says what the run was
        meta = SyntheticSet.load(folder / snaps[-1][1]).meta
    except DDError as err:
        return None, f"{note} and its last snapshot is unreadable ({_first_line(str(err), 80)})"
    run = {
        "kind": "distill",
        "method": meta.get("method"),
        "dataset": meta.get("dataset"),
        "ipc": meta.get("ipc"),
        "status": "interrupted",
        "config": {
            "kind": "distill",
            "dataset": meta.get("dataset"),
            "method": meta.get("method"),
            "method_options": meta.get("config") or {},
        },
        "created_at": made,
        "finished_at": made,
        "iteration": meta.get("iteration"),
        "error": f"recovered by `{REPAIR_COMMAND}` from its snapshots only ({note}): status, evaluations and summary "
        "are lost",
    }
    return {"run": run, "evals": [], "snapshots": snaps}, None


def _back_up(path: Path) -> Path:
    """Move a damaged store file (and its WAL) aside to ``<name>.corrupt-<time>``; return the backup's path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
    while target.exists() or target.is_symlink():
        target, n = path.with_name(f"{path.name}.corrupt-{stamp}-{n}"), n + 1
    os.replace(path, target)
    for suffix in ("-wal", "-journal"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{target}{suffix}"))
    Path(f"{path}-shm").unlink(missing_ok=True)
    return target


def repair_store(path: str | os.PathLike | None = None, *, artifacts_root: str | os.PathLike | None = None) -> dict:
    """``python -m dd_core runs --repair``: a damaged or unreadable store file is moved aside to
    ``runs.sqlite3.corrupt-<time>`` and the store rebuilt from the run folders (``run.json``: id, kind, method,
    dataset, IPC, status, config, summary, evaluations; the snapshot files), plus the step metrics and phase progress
    still readable in the damaged file; a missing store is rebuilt too, a healthy one left alone. Returns
    ``{"status": "healthy" | "rebuilt", "path", "backup", "problem", "recovered", "recovered_ids", "skipped",
    "salvaged": {"metrics": n, "progress": n}}``."""
    path = Path(path).expanduser() if path is not None else data_home() / DB_FILENAME
    root = Path(artifacts_root).expanduser() if artifacts_root is not None else path.parent / "runs"
    result: dict[str, Any] = {"status": "rebuilt", "path": str(path), "runs_folder": str(root), "backup": None}
    result.update(problem=None, recovered=0, recovered_ids=[], skipped=[])
    if path.exists() or path.is_symlink():
        probe = RunStore(path, artifacts_root=root)
        try:
            probe._conn()
        except DamagedStoreError as err:
            result["problem"] = str(err)
        finally:
            probe.close()
        if result["problem"] is None:
            return {**result, "status": "healthy"}
        result["backup"] = str(_back_up(path))
    found: list[tuple[int, dict]] = []
    if root.is_dir():
        for folder in sorted((p for p in root.iterdir() if p.name.isdigit() and p.is_dir()), key=lambda p: int(p.name)):
            rec, why = _read_run_folder(folder)
            if rec is None:
                result["skipped"].append({"id": int(folder.name), "folder": str(folder), "reason": why})
            else:
                found.append((int(folder.name), rec))
    ids = {i for i, _ in found}
    salvaged = {
        "metrics": _salvage(result["backup"], "SELECT run_id, iteration, t, data FROM metrics", ids),
        "progress": _salvage(result["backup"], "SELECT run_id, t, kind, data FROM progress", ids)
        or _salvage(result["backup"], "SELECT run_id, t, kind, data FROM events", ids),  # a schema-1 file
    }
    store = RunStore(path, artifacts_root=root)
    try:
        store._rebuild(found, salvaged)
    finally:
        store.close()
    result["recovered"], result["recovered_ids"] = len(found), sorted(ids)
    result["salvaged"] = {table: len(rows) for table, rows in salvaged.items()}
    return result


def _salvage(backup: str | None, sql: str, run_ids: set[int]) -> list[tuple]:
    """Rows still readable in a damaged store file, for the recovered runs (reading stops at the first damaged page;
    rows whose JSON does not parse are left out)."""
    if backup is None:
        return []
    rows: list[tuple] = []
    try:
        con = sqlite3.connect(f"file:{urllib.parse.quote(backup)}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return rows
    try:
        for row in con.execute(sql):
            try:
                ok = row[0] in run_ids and isinstance(json.loads(row[-1]), dict)
            except (TypeError, ValueError):
                ok = False
            if ok:
                rows.append(tuple(row))
    except sqlite3.Error:
        pass
    finally:
        con.close()
    return rows
