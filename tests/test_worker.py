"""The background worker under faults, with real worker processes (``python -m dd_core worker``): runs queued from
two 'tabs' finish in order; cancel keeps the last complete set; a crash fails the run with its message; a killed
worker leaves the run interrupted with its snapshots viewable; a dead worker's queue is picked up again; SIGTERM
cancels cleanly; finished workers do not stay zombies."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dd_core.runs.worker import ensure_worker, submit
from dd_core.synthetic import SyntheticSet
from tests import app_support
from tests.app_support import ROOT, finish_queued, tiny_run, wait_for

# the fixtures of app_support, used here by name
clean_streamlit, workers = app_support.clean_streamlit, app_support.workers


def test_two_submits_in_a_row_both_finish_in_order(tiny_fashion, workers, store):
    a = submit(store, tiny_run("random", epochs=2))
    b = submit(store, tiny_run("random", epochs=2, seed=1))  # a second 'tab', right away
    assert {store.get_run(a)["status"], store.get_run(b)["status"]} <= {"queued", "running"}
    ra, rb = wait_for(store, a), wait_for(store, b)
    assert ra["status"] == rb["status"] == "done", (ra["error"], rb["error"])
    assert ra["finished_at"] <= rb["started_at"] + 1e-6  # one run at a time per device, oldest first
    assert ra["source"] == "ui" and ra["pid"] != os.getpid()
    assert store.get_run(a)["summary"]["evals"]


def test_cancel_stops_cleanly_and_keeps_the_last_complete_set(tiny_fashion, workers, store):
    rid = submit(store, tiny_run("dm", iterations=5000, eval_at=[]))
    wait_for(store, rid, predicate=lambda r: (r["iteration"] or 0) >= 3, timeout=90)
    assert store.request_cancel(rid) == "running"
    run = wait_for(store, rid)
    assert run["status"] == "cancelled", run["error"]
    snaps = store.snapshots(rid)
    assert snaps and snaps[0]["iteration"] == 0
    last = SyntheticSet.load(snaps[-1]["abs_path"])
    assert last.meta["iteration"] == snaps[-1]["iteration"] == run["summary"]["iterations"] >= 3
    final = SyntheticSet.load(run["summary"]["synthetic_path"])
    assert final.meta["iteration"] == run["summary"]["iterations"] and run["summary"]["stopped"] is True


def test_a_corrupt_dataset_fails_the_run_with_its_message(tmp_path, monkeypatch, workers, store):
    from tests.helpers import write_learnable_fashion

    folder = write_learnable_fashion(tmp_path / "corrupt")
    blob = (folder / "train-images-idx3-ubyte.gz").read_bytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(gzip.decompress(blob)[:-500]))
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(folder))
    rid = submit(store, tiny_run("dm", iterations=2))
    run = wait_for(store, rid)
    assert run["status"] == "failed"
    assert "truncated IDX file" in run["error"] and "train-images" in run["error"]


def test_an_unexpected_crash_is_recorded_with_its_traceback(store, monkeypatch):
    import dd_core.jobs as jobs

    def boom(*a, **kw):
        raise RuntimeError("boom in the engine")

    monkeypatch.setattr(jobs, "execute", boom)
    rid = submit(store, tiny_run("dm", iterations=2), start_worker=False)
    finish_queued(store)
    run = store.get_run(rid)
    assert run["status"] == "failed" and run["error"] == "RuntimeError: boom in the engine"
    assert "Traceback" in (store.artifacts_dir(rid) / "error.txt").read_text()


def test_killed_worker_leaves_the_run_interrupted_with_snapshots(tiny_fashion, workers, store):
    rid = submit(store, tiny_run("dm", iterations=100, eval_at=[]))  # a snapshot every 2 iterations
    run = wait_for(store, rid, predicate=lambda r: len(store.snapshots(rid)) >= 2, timeout=90)
    pid = store.get_run(rid)["pid"]
    assert pid and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    assert store.reap() == [rid]
    run = store.get_run(rid)
    assert run["status"] == "interrupted" and str(pid) in run["error"]
    snaps = store.snapshots(rid)
    assert len(snaps) >= 2
    syn = SyntheticSet.load(snaps[-1]["abs_path"])  # viewable: a complete, valid set
    assert syn.meta["iteration"] == snaps[-1]["iteration"] > 0
    assert store.metrics(rid)  # partial results kept
    # ... and the pages show it: the Distill page says what happened, the Gallery shows its snapshots
    from tests.app_support import app, texts

    page = app("pages/distill.py", run=rid)
    assert "interrupted" in texts(page.warning).lower() and not page.exception
    gallery = app("pages/gallery.py", run=rid)
    assert not gallery.exception and len(gallery.image) >= 3


def test_queued_runs_whose_worker_died_are_picked_up_again(tiny_fashion, workers, store):
    rid = submit(store, tiny_run("random", epochs=1), start_worker=False)  # e.g. the worker was killed at start
    assert store.get_run(rid)["status"] == "queued"
    pid = ensure_worker(store, "cpu")
    assert pid
    workers.append(pid)
    assert wait_for(store, rid)["status"] == "done"


def test_cancel_of_a_queued_run_is_immediate(store):
    rid = submit(store, tiny_run("dm"), start_worker=False)
    assert store.request_cancel(rid) == "cancelled"
    assert store.get_run(rid)["status"] == "cancelled"


def test_worker_runs_at_lower_priority():
    """The worker yields the CPU to the dashboard: `python -m dd_core worker` lowers its own priority by 10."""
    import subprocess
    import sys

    code = (
        "import os; from dd_core.runs.worker import lower_priority, WORKER_NICE; "
        "before = os.nice(0); lower_priority(); print(os.nice(0) - before, WORKER_NICE)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1] == "10" or int(out[0]) > 0  # already near the maximum niceness: still lowered


def _proc_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat ('R', 'S', 'Z'...), None once the process is gone (reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return None
    return stat[stat.rindex(b")") + 2 :].split()[0].decode()


def test_sigterm_cancels_the_run_cleanly_like_a_stop(tiny_fashion, store):
    """A real worker process gets SIGTERM mid-run: the run ends cancelled (not interrupted) with its last complete
    set in the run folder, and the worker exits 143."""
    rid = submit(store, tiny_run("dm", iterations=5000, eval_at=[]), start_worker=False)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dd_core", "worker", str(rid)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(store, rid, predicate=lambda r: (r["iteration"] or 0) >= 3, timeout=90)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode in (130, 143), out[-3000:]
    run = store.get_run(rid)
    assert run["status"] == "cancelled" and run["error"] is None, run
    assert run["summary"]["stopped"] is True and run["summary"]["iterations"] >= 3
    folder = store.artifacts_dir(rid, create=False)
    final = SyntheticSet.load(folder / "synthetic.pt")  # the last complete set, in the run folder
    assert Path(run["summary"]["synthetic_path"]) == folder / "synthetic.pt"
    snaps = store.snapshots(rid)
    last = SyntheticSet.load(snaps[-1]["abs_path"])
    assert last.meta["iteration"] == final.meta["iteration"] == run["summary"]["iterations"]
    assert "SIGTERM" in out


def test_finished_workers_do_not_stay_zombies(tiny_fashion, workers, store):
    """The dashboard's process starts workers; once one has finished it must not linger as a zombie child."""
    rid = submit(store, tiny_run("random", epochs=1))
    assert wait_for(store, rid)["status"] == "done"
    assert len(workers) == 1
    pid = workers[0]
    deadline = time.monotonic() + 20
    while _proc_state(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _proc_state(pid) is None, f"worker {pid} is still there, state {_proc_state(pid)!r} (Z = zombie)"
