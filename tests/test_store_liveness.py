"""Liveness: a paused process is not a dead one. A run records its worker's host, pid and start time; a reader on the
same host decides by the process (gone or pid reused: dead; alive with the same start time: alive, however stale the
heartbeat), the heartbeat (DD_HEARTBEAT_TIMEOUT_S) only for other hosts; an interrupted run whose own process writes
again goes on and ends ``done``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dd_core.runs import RunRecorder, RunStoreError
from dd_core.runs import store as store_mod
from tests.helpers import sql_rows

REPO = Path(__file__).resolve().parents[1]


def _start_ticks(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return float(stat[stat.rindex(b")") + 2 :].split()[19])


def test_a_run_records_host_pid_and_start_time(store):
    import socket

    cli = store.create_run("distill", {}, status="running")
    queued = store.create_run("distill", {})
    claimed = store.claim_next_queued("cpu", max_running=2)
    assert claimed["id"] == queued
    for run in (store.get_run(cli), claimed):
        assert run["host"] == socket.gethostname() and run["pid"] == os.getpid()
        assert run["pid_start"] == _start_ticks(os.getpid())


def test_same_host_a_live_process_is_never_reaped_a_reused_pid_is(store):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        paused, reused = (store.create_run("distill", {}, status="running", pid=sleeper.pid) for _ in range(2))
        os.kill(sleeper.pid, signal.SIGSTOP)
        sql_rows(store.path, "UPDATE runs SET heartbeat = ?", (time.time() - 3600,))  # an hour without a heartbeat
        # the pid now is another process
        sql_rows(store.path, "UPDATE runs SET pid_start = pid_start - 1 WHERE id = ?", (reused,))
        assert store.reap(stale_after=1) == [reused]
        assert store.get_run(paused)["status"] == "running"
        run = store.get_run(reused)
        assert run["status"] == "interrupted" and "another process" in run["error"] and str(sleeper.pid) in run["error"]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert store.reap() == [paused]  # gone now: dead at once, no need to wait for the heartbeat


def test_heartbeat_timeout_decides_for_other_hosts_and_comes_from_the_environment(store, monkeypatch):
    rid = store.create_run("distill", {}, status="running")
    sql_rows(store.path, "UPDATE runs SET host = 'elsewhere', heartbeat = ? WHERE id = ?", (time.time() - 5, rid))
    assert store.reap() == []  # default 30 s
    monkeypatch.setenv("DD_HEARTBEAT_TIMEOUT_S", "2")
    assert store.reap() == [rid]
    run = store.get_run(rid)
    assert "elsewhere" in run["error"] and "DD_HEARTBEAT_TIMEOUT_S" in run["error"]
    monkeypatch.setenv("DD_HEARTBEAT_TIMEOUT_S", "soon")
    with pytest.raises(RunStoreError, match="DD_HEARTBEAT_TIMEOUT_S='soon' is not a positive number"):
        store.reap()


def test_only_the_runs_own_process_takes_an_interrupted_run_further(store):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    mine = store.create_run("distill", {}, status="running")
    theirs = store.create_run("distill", {}, status="running", pid=gone.pid)
    for rid in (mine, theirs):
        sql_rows(
            store.path,
            "UPDATE runs SET status = 'interrupted', error = 'no heartbeat', finished_at = 1 WHERE id = ?",
            (rid,),
        )
    with pytest.raises(RunStoreError, match="only its own worker process"):
        store.set_status(theirs, "done")
    # the owner's next heartbeat (or any flush) makes it running again; then it finishes with its result
    store.heartbeat(mine, iteration=3)
    run = store.get_run(mine)
    assert run["status"] == "running" and run["error"] is None and run["finished_at"] is None
    sql_rows(store.path, "UPDATE runs SET status = 'interrupted' WHERE id = ?", (mine,))
    store.set_status(mine, "done", summary={"iterations": 3})
    run = store.get_run(mine)
    assert run["status"] == "done" and run["summary"] == {"iterations": 3} and run["error"] is None
    # the recorder of the owner does not stop for a spurious 'interrupted', the one of another run does
    other = store.create_run("distill", {}, status="running")
    w = RunRecorder(store, other)
    sql_rows(store.path, "UPDATE runs SET status = 'interrupted' WHERE id = ?", (other,))
    assert w.should_stop() is False and store.get_run(other)["status"] == "running"
    w.close()
    assert RunRecorder(store, theirs).should_stop() is True


def test_a_paused_cli_run_is_not_dead_and_ends_done(tiny_fashion, tmp_path, monkeypatch, store):
    """The real CLI run is SIGSTOPped past the (short) heartbeat timeout: a reader on this host does not reap it; a
    reader that sees only the heartbeat (another host) marks it interrupted; after SIGCONT it goes on and ends done."""
    monkeypatch.setenv("DD_HEARTBEAT_TIMEOUT_S", "1")
    cmd = [sys.executable, "-m", "dd_core", "distill", "--method", "dm", "--dataset", "fashion-mnist", "--ipc", "1"]
    cmd += ["--iterations", "40", "--net", "convnet-2", "--batch-real", "8", "--eval-at", "none"]
    cmd += ["--option", "chunk=0", "--out", str(tmp_path / "out"), "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            runs = store.list_runs()
            if runs and (runs[0]["iteration"] or 0) >= 2:
                break
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
            time.sleep(0.1)
        rid = runs[0]["id"]
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            time.sleep(2.5)
            assert time.time() - store.get_run(rid)["heartbeat"] > 1  # stale: the process is paused
            # same host, same pid and start time: paused, not dead (whatever the timeout)
            assert store.reap() == [] and store.reap(stale_after=1) == []
            assert store.get_run(rid)["status"] == "running"
            with monkeypatch.context() as m:  # a reader on another host has only the heartbeat to go by
                m.setattr(store_mod, "this_host", lambda: "another-host")
                assert store.reap() == [rid]
            assert store.get_run(rid)["status"] == "interrupted"
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    run = store.get_run(rid)
    assert run["status"] == "done" and run["error"] is None, run
    assert run["summary"]["iterations"] == 40 and run["summary"]["stopped"] is False
