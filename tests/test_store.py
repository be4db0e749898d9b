"""Run store (SQLite) and RunRecorder: runs, status machine, metrics/evals/snapshots/progress, cancel, claim, reap,
delete, cross-process concurrency, and the batching event writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dd_core.errors import DDError
from dd_core.paths import data_home
from dd_core.runs import RunRecorder, RunStore, RunStoreError, to_jsonable
from tests.helpers import sql_rows

REPO = Path(__file__).resolve().parents[1]


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ----------------------------------------------------------------------------------------------------- basics
def test_default_location_wal_and_schema(store):
    assert store.path == data_home() / "runs.sqlite3"
    rid = store.create_run("distill", {"lr": 1.0})
    assert store.path.exists()
    assert sql_rows(store.path, "PRAGMA journal_mode")[0][0] == "wal"
    assert sql_rows(store.path, "PRAGMA user_version")[0][0] >= 1
    conn = store._conn()
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    d = store.artifacts_dir(rid)
    assert d == data_home() / "runs" / str(rid) and d.is_dir()
    # a second store on the same file sees the same data (schema creation is idempotent)
    assert RunStore(store.path).get_run(rid)["config"] == {"lr": 1.0}


def test_create_get_list(store):
    a = store.create_run(
        "distill",
        {"lr": float("nan"), "steps": np.int64(3), "w": torch.tensor(0.5)},
        method="dm",
        dataset="mnist-5k",
        ipc=10,
        total_iterations=100,
        device="cpu",
        label="first",
    )
    b = store.create_run("baseline", {}, dataset="fashion-mnist", source="cli", status="running")
    c = store.create_run("distill", {}, method="pad", dataset="mnist-5k", ipc=1)
    run = store.get_run(a)
    assert run["config"] == {"lr": None, "steps": 3, "w": 0.5}
    assert (run["kind"], run["method"], run["dataset"], run["ipc"], run["status"], run["source"]) == (
        "distill",
        "dm",
        "mnist-5k",
        10,
        "queued",
        "ui",
    )
    assert run["total_iterations"] == 100 and run["label"] == "first" and run["device"] == "cpu"
    assert run["cancel_requested"] is False and run["started_at"] is None and run["created_at"] > 0
    cli = store.get_run(b)
    assert cli["status"] == "running" and cli["pid"] == os.getpid() and cli["started_at"] and cli["heartbeat"]
    assert store.get_run(999) is None
    assert [r["id"] for r in store.list_runs()] == [c, b, a]
    assert [r["id"] for r in store.list_runs(kind="distill")] == [c, a]
    assert [r["id"] for r in store.list_runs(method="dm")] == [a]
    assert [r["id"] for r in store.list_runs(dataset="mnist-5k", status="queued")] == [c, a]
    assert [r["id"] for r in store.list_runs(status=["running", "done"])] == [b]
    assert [r["id"] for r in store.list_runs(limit=1)] == [c]
    with pytest.raises(RunStoreError):
        store.create_run("bogus", {})
    with pytest.raises(RunStoreError):
        store.create_run("distill", {}, status="done")
    with pytest.raises(RunStoreError):
        store.create_run("distill", {}, source="web")


def test_jsonable():
    assert to_jsonable(
        {
            "a": float("inf"),
            1: np.float32(0.25),
            "t": torch.tensor([1.0, float("nan")]),
            "b": np.bool_(True),
            "p": Path("/x"),
        }
    ) == {"a": None, "1": 0.25, "t": [1.0, None], "b": True, "p": "/x"}


def test_status_transitions(store):
    rid = store.create_run("distill", {})
    with pytest.raises(RunStoreError, match="cannot go from 'queued' to 'done'"):
        store.set_status(rid, "done")
    with pytest.raises(RunStoreError):
        store.set_status(rid, "interrupted")
    with pytest.raises(RunStoreError):
        store.set_status(rid, "weird")
    store.set_status(rid, "running")
    r = store.get_run(rid)
    assert r["status"] == "running" and r["started_at"] and r["finished_at"] is None
    store.set_status(rid, "running")  # idempotent
    with pytest.raises(RunStoreError):
        store.set_status(rid, "queued")
    store.set_status(rid, "done", summary={"acc": np.float64(0.9), "bad": float("nan")})
    r = store.get_run(rid)
    assert r["status"] == "done" and r["finished_at"] >= r["started_at"]
    assert r["summary"] == {"acc": 0.9, "bad": None}
    for s in ("running", "failed", "cancelled", "done", "queued"):
        with pytest.raises(RunStoreError):
            store.set_status(rid, s)
    q = store.create_run("evaluate", {})
    store.set_status(q, "failed", error="dataset missing")
    assert store.get_run(q)["error"] == "dataset missing" and store.get_run(q)["finished_at"]
    with pytest.raises(RunStoreError, match="no run #12345"):
        store.set_status(12345, "running")
    assert isinstance(RunStoreError("x"), DDError)


# ------------------------------------------------------------------------------------------ metrics & friends
def test_metrics_evals_snapshots_progress(store):
    rid = store.create_run("distill", {})
    store.record_steps(
        rid,
        [
            (i, {"loss": np.float32(1.0 / (i + 1)), "loss_attention": torch.tensor(float(i)), "nan": float("nan")})
            for i in range(10)
        ],
    )
    rows = store.metrics(rid)
    assert [r["iteration"] for r in rows] == list(range(10))
    assert rows[3]["loss"] == pytest.approx(0.25) and rows[3]["loss_attention"] == 3.0 and rows[3]["nan"] is None
    assert rows[0]["t"] > 0
    assert [r["iteration"] for r in store.metrics(rid, after_iteration=6)] == [7, 8, 9]
    store.heartbeat(rid, iteration=9, seconds=np.float64(1.5))
    assert store.get_run(rid)["iteration"] == 9 and store.get_run(rid)["seconds"] == 1.5

    store.add_eval(
        rid,
        {
            "type": "eval",
            "iteration": 10,
            "net": "convnet-3",
            "acc_mean": np.float64(0.8),
            "acc_std": 0.01,
            "n_models": 2,
            "epochs": 300,
            "protocol": "quick",
            "accs": [0.79, 0.81],
            "seconds": 3.2,
        },
    )
    store.add_eval(
        rid,
        {
            "iteration": None,
            "net": "lenet",
            "acc_mean": 0.7,
            "acc_std": float("nan"),
            "n_models": 1,
            "epochs": 5,
            "protocol": "paper",
        },
    )
    ev = store.evals(rid)
    assert [e["net"] for e in ev] == ["convnet-3", "lenet"]
    assert ev[0]["acc_mean"] == 0.8 and ev[0]["accs"] == [0.79, 0.81] and ev[0]["seconds"] == 3.2
    assert ev[0]["protocol"] == "quick" and ev[0]["iteration"] == 10 and "type" not in ev[0]
    assert ev[1]["iteration"] is None and ev[1]["acc_std"] is None

    store.add_snapshot(rid, 20, "snapshots/000020.pt")
    store.add_snapshot(rid, 10, Path("snapshots") / "000010.pt")
    snaps = store.snapshots(rid)
    assert [(s["iteration"], s["path"]) for s in snaps] == [(10, "snapshots/000010.pt"), (20, "snapshots/000020.pt")]
    assert snaps[0]["abs_path"] == str(store.artifacts_dir(rid, create=False) / "snapshots/000010.pt")

    for k in range(5):
        store.set_progress(rid, "eval", {"done": k, "total": 5})
    store.set_progress(rid, "experts", {"done": 1})
    prog = store.progress(rid)
    assert prog["eval"]["done"] == 4 and prog["experts"]["done"] == 1 and prog["eval"]["t"] > 0
    assert sql_rows(store.path, "SELECT COUNT(*) FROM progress WHERE run_id = ?", (rid,))[0][0] == 2


def test_cancel_queued_vs_running(store):
    q = store.create_run("distill", {})
    r = store.create_run("distill", {})
    store.set_status(r, "running")
    assert store.request_cancel(q) == "cancelled"
    run = store.get_run(q)
    assert run["status"] == "cancelled" and run["finished_at"] and store.run_state(q)["cancel_requested"]
    assert not store.run_state(r)["cancel_requested"]
    assert store.request_cancel(r) == "running"
    assert store.get_run(r)["status"] == "running" and store.run_state(r)["cancel_requested"]
    store.set_status(r, "cancelled")
    assert store.get_run(r)["status"] == "cancelled"
    with pytest.raises(RunStoreError):
        store.request_cancel(777)


def test_claim_order_and_max_running(store):
    ids = [store.create_run("distill", {"n": i}, device=("cuda" if i == 1 else None)) for i in range(4)]
    first = store.claim_next_queued("cpu")
    assert first["id"] == ids[0] and first["status"] == "running" and first["started_at"] and first["device"] == "cpu"
    assert first["pid"] == os.getpid()
    assert store.claim_next_queued("cpu") is None  # max_running=1 on cpu
    second = store.claim_next_queued("cpu", max_running=2)
    assert second["id"] == ids[2]  # ids[1] is queued for cuda
    assert store.claim_next_queued("cpu", max_running=2) is None
    assert store.claim_next_queued("cuda")["id"] == ids[1]  # other device: its own slot
    store.set_status(ids[0], "done")
    assert store.claim_next_queued("cpu", max_running=2, run_id=ids[0]) is None  # not queued
    third = store.claim_next_queued("cpu", max_running=2, run_id=ids[3], pid=4242424)
    assert third["id"] == ids[3] and third["pid"] == 4242424
    assert store.claim_next_queued("cpu", max_running=5) is None  # queue empty


def test_reap_dead_pid_stale_heartbeat_live(store):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    dead, stale, live, queued = (store.create_run("distill", {}) for _ in range(4))
    for rid in (dead, stale, live):
        store.claim_next_queued("cpu", max_running=3, run_id=rid)
    sql_rows(store.path, "UPDATE runs SET pid = ? WHERE id = ?", (p.pid, dead))
    # a run of another host is judged by its heartbeat only
    sql_rows(store.path, "UPDATE runs SET heartbeat = ?, host = 'elsewhere' WHERE id = ?", (time.time() - 100, stale))
    sql_rows(store.path, "UPDATE runs SET device = NULL WHERE id IN (?, ?, ?)", (dead, stale, live))
    assert sorted(store.reap(stale_after=30)) == sorted([dead, stale])
    assert store.get_run(dead)["status"] == "interrupted" and str(p.pid) in store.get_run(dead)["error"]
    assert "heartbeat" in store.get_run(stale)["error"] and store.get_run(stale)["finished_at"]
    assert store.get_run(live)["status"] == "running" and store.get_run(queued)["status"] == "queued"
    assert store.reap() == []
    # a claim reaps first: the live run still blocks the cpu slot, a dead one would not
    sql_rows(store.path, "UPDATE runs SET device = 'cpu' WHERE id = ?", (live,))
    assert store.claim_next_queued("cpu") is None
    sql_rows(store.path, "UPDATE runs SET pid = ? WHERE id = ?", (p.pid, live))
    assert store.claim_next_queued("cpu")["id"] == queued
    assert store.get_run(live)["status"] == "interrupted"


def test_delete_run(store):
    rid = store.create_run("distill", {})
    store.record_steps(rid, [(0, {"loss": 1.0})])
    store.add_eval(rid, {"iteration": 0, "net": "convnet-3", "acc_mean": 0.5, "acc_std": 0.0})
    store.add_snapshot(rid, 0, "snapshots/000000.pt")
    store.set_progress(rid, "eval", {"done": 1})
    f = store.artifacts_dir(rid) / "snapshots" / "000000.pt"
    f.parent.mkdir(parents=True)
    f.write_bytes(b"x")
    store.set_status(rid, "running")
    with pytest.raises(RunStoreError, match="running"):
        store.delete_run(rid)
    assert f.exists() and store.get_run(rid)
    store.set_status(rid, "done")
    assert store.delete_run(rid) is True
    assert store.get_run(rid) is None and not f.parent.parent.exists()
    for table in ("metrics", "evals", "snapshots", "progress"):
        assert sql_rows(store.path, f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (rid,))[0][0] == 0
    assert store.delete_run(rid) is False
    r2 = store.create_run("distill", {})
    store.set_status(r2, "running")
    assert store.delete_run(r2, force=True) and store.get_run(r2) is None


# ------------------------------------------------------------------------------------------------ concurrency
def test_threads_share_one_store(store):
    rid = store.create_run("distill", {})
    errors = []

    def work(k):
        try:
            for i in range(20):
                store.record_steps(rid, [(k * 100 + i, {"loss": 1.0})])
                store.metrics(rid)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and len(store.metrics(rid)) == 80


def test_reader_never_blocks_while_another_process_writes(store):
    rid = store.create_run("distill", {})
    writer = _python(
        """
        import sys, time
        from dd_core.runs import RunStore
        s = RunStore(sys.argv[1]); rid = int(sys.argv[2])
        for b in range(100):
            s.record_steps(rid, [(b * 20 + i, {"loss": 1.0 / (b * 20 + i + 1), "x": float(i)}) for i in range(20)])
            time.sleep(0.002)
        print("ok")
    """,
        str(store.path),
        str(rid),
    )
    reader = RunStore(store.path)
    worst, seen, reads, last, partial = 0.0, [], 0, -1, False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        new = reader.metrics(rid, after_iteration=last)
        reader.get_run(rid)
        worst = max(worst, time.monotonic() - t0)
        reads += 1
        if new:
            seen.extend(r["iteration"] for r in new)
            last = new[-1]["iteration"]
            partial = partial or len(seen) < 2000
        if writer.poll() is not None and len(seen) >= 2000:
            break
        time.sleep(0.001)
    out, err = writer.communicate(timeout=30)
    assert writer.returncode == 0 and out.strip() == "ok", err
    seen.extend(r["iteration"] for r in reader.metrics(rid, after_iteration=last))
    assert seen == list(range(2000)) and len(reader.metrics(rid)) == 2000
    assert worst < 1.0 and reads > 10 and partial  # read while the writer was mid-way
    reader.close()


def test_two_processes_never_claim_the_same_run(store, tmp_path):
    n = 100
    ids = {store.create_run("distill", {"i": i}) for i in range(n)}
    code = """
        import json, sys, time
        from pathlib import Path
        from dd_core.runs import RunStore
        s = RunStore(sys.argv[1]); barrier = Path(sys.argv[2]); me = sys.argv[3]
        s.reap()  # open the connection before the race starts
        (barrier / me).touch()
        deadline = time.time() + 20
        while len(list(barrier.iterdir())) < 2 and time.time() < deadline:  # start together
            time.sleep(0.001)
        got = []
        while True:
            r = s.claim_next_queued("cpu", max_running=10_000)
            if r is None:
                break
            got.append(r["id"])
        print(json.dumps(got))
    """
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [_python(code, str(store.path), str(barrier), str(k)) for k in range(2)]
    claimed = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        claimed.append(json.loads(out))
    a, b = claimed
    print("claims per process:", len(a), len(b))
    assert not set(a) & set(b)
    assert len(a) + len(b) == len(set(a) | set(b)) == n and set(a) | set(b) == ids
    assert a and b  # both really competed


# ----------------------------------------------------------------------------------------------- RunRecorder
class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class CountingStore(RunStore):
    """Counts write transactions."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.transactions = 0

    def _write(self):
        self.transactions += 1
        return super()._write()


class FakeSyn:
    def __init__(self, tag):
        self.tag = tag

    def save(self, path):
        Path(path).write_text(self.tag)
        return Path(path)


def test_writer_batches_steps():
    store = CountingStore()
    rid = store.create_run("distill", {}, status="running")
    clock = FakeClock()
    w = RunRecorder(store, rid, flush_every=0.5, clock=clock)
    store.transactions = 0
    for i in range(1000):
        clock.t += 0.01  # 100 it/s -> 10 s in all
        w(
            {
                "type": "step",
                "iteration": i,
                "metrics": {"loss": np.float32(1.0), "part": torch.tensor(2.0)},
                "seconds": i * 0.01,
            }
        )
    assert w.flushes <= 25 and store.transactions <= 25  # ~every 0.5 s, never per step
    w.close()
    w.close()  # idempotent
    rows = store.metrics(rid)
    assert [r["iteration"] for r in rows] == list(range(1000))
    assert rows[5]["loss"] == 1.0 and rows[5]["part"] == 2.0 and rows[5]["seconds"] == pytest.approx(0.05)
    run = store.get_run(rid)
    assert run["iteration"] == 999 and run["seconds"] == pytest.approx(9.99)
    store.close()


def test_writer_flushes_at_least_once_per_second():
    store = RunStore()
    rid = store.create_run("distill", {}, status="running")
    clock = FakeClock()
    w = RunRecorder(store, rid, flush_every=30.0, clock=clock)  # capped at 1 s
    w({"type": "step", "iteration": 0, "metrics": {"loss": 1.0}, "seconds": 0.1})  # first step: at once
    assert len(store.metrics(rid)) == 1
    clock.t += 0.4
    w({"type": "step", "iteration": 1, "metrics": {"loss": 1.0}, "seconds": 0.2})
    assert len(store.metrics(rid)) == 1
    clock.t += 0.7
    w({"type": "step", "iteration": 2, "metrics": {"loss": 1.0}, "seconds": 0.3})
    assert len(store.metrics(rid)) == 3
    # eval flushes pending steps first, then is stored at once
    w({"type": "step", "iteration": 3, "metrics": {"loss": 1.0}, "seconds": 0.4})
    w(
        {
            "type": "eval",
            "iteration": 3,
            "net": "convnet-3",
            "acc_mean": 0.5,
            "acc_std": 0.1,
            "n_models": 2,
            "epochs": 10,
            "protocol": "quick",
            "accs": [0.4, 0.6],
        }
    )
    assert len(store.metrics(rid)) == 4 and store.evals(rid)[0]["accs"] == [0.4, 0.6]
    # heartbeat at least every 5 s even without steps
    before = store.get_run(rid)["heartbeat"]
    time.sleep(0.01)
    clock.t += 6
    w({"type": "status", "status": "running"})  # ignored, but ticks
    assert store.get_run(rid)["heartbeat"] > before
    # baseline epochs become metrics rows
    w({"type": "epoch", "epoch": 7, "loss": 0.3, "test_acc": 0.91})
    w.close()
    assert store.metrics(rid, after_iteration=3) == [
        {"iteration": 7, "t": pytest.approx(time.time(), abs=60), "loss": 0.3, "test_acc": 0.91}
    ]
    store.close()


def test_writer_snapshots_and_progress():
    store = CountingStore()
    rid = store.create_run("distill", {}, status="running")
    clock = FakeClock()
    w = RunRecorder(store, rid, clock=clock)
    for it in (0, 10, 20):
        w({"type": "snapshot", "iteration": it, "synthetic": FakeSyn(f"s{it}")})
    snaps = store.snapshots(rid)
    assert [s["path"] for s in snaps] == ["snapshots/000000.pt", "snapshots/000010.pt", "snapshots/000020.pt"]
    assert (store.artifacts_dir(rid) / "snapshots" / "000010.pt").read_text() == "s10"

    store.transactions = 0
    for k in range(100):  # 100 progress events within 1 s: at most ~2 writes/s
        clock.t += 0.01
        w({"type": "progress", "phase": "eval", "done": k, "total": 100})
    assert store.transactions <= 3
    w({"type": "progress", "phase": "eval", "done": 100, "total": 100, "final": True})
    assert store.progress(rid)["eval"]["done"] == 100 and store.progress(rid)["eval"]["final"] is True
    w({"type": "progress", "phase": "experts", "done": 1})
    clock.t += 0.1
    w({"type": "progress", "phase": "experts", "done": 2})  # throttled: pending until close
    assert store.progress(rid)["experts"]["done"] == 1
    w.close()
    assert store.progress(rid)["experts"]["done"] == 2
    store.close()


def test_writer_should_stop_after_cancel():
    store = RunStore()
    rid = store.create_run("distill", {}, status="running")
    clock = FakeClock()
    w = RunRecorder(store, rid, clock=clock)
    assert w.should_stop() is False
    store.request_cancel(rid)
    assert w.should_stop() is False  # cached for 0.5 s
    clock.t += 0.6
    assert w.should_stop() is True
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    other = store.create_run("distill", {}, status="running", pid=gone.pid)  # its worker is another process
    w2 = RunRecorder(store, other, clock=clock)
    store.set_status(other, "interrupted")  # reaped: the worker should stop too
    assert w2.should_stop() is True
    w.close(), w2.close()
    store.close()


def test_writer_background_heartbeat():
    store = RunStore()
    rid = store.create_run("distill", {}, status="running")
    w = RunRecorder(store, rid, flush_every=0.05, heartbeat_every=0.05).start_heartbeat(0.02)
    w({"type": "step", "iteration": 0, "metrics": {"loss": 1.0}})
    w({"type": "step", "iteration": 1, "metrics": {"loss": 1.0}})  # pending; the thread flushes it
    deadline = time.monotonic() + 5
    while len(store.metrics(rid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(store.metrics(rid)) == 2
    w.close()
    store.close()
