"""The store fails safe: a damaged ``runs.sqlite3`` makes every store operation raise RunStoreError with one line naming
the file and ``python -m dd_core runs --repair``; the repair keeps a backup and rebuilds the runs from their folders; a
data home that cannot be written is a DDError naming the folder and DD_HOME, and ``datasets`` / ``flops`` still work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dd_core.cli import main
from dd_core.errors import DDError
from dd_core.paths import data_home
from dd_core.runs import RunStore, RunStoreError, repair_store
from dd_core.runs.worker import submit
from tests.app_support import finish_queued, tiny_run

REPO = Path(__file__).resolve().parents[1]
REPAIR = "python -m dd_core runs --repair"


def _fill(store: RunStore) -> int:
    rid = store.create_run("distill", {"n": 1}, status="running")
    store.record_steps(rid, [(i, {"loss": 1.0 / (i + 1), "pad": "x" * 200}) for i in range(2000)], iteration=1999)
    store.set_status(rid, "done")
    store.close()
    assert not Path(f"{store.path}-wal").exists()  # checkpointed: everything is in the main file
    return rid


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _truncated(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)


def _overwritten_middle(path: Path) -> None:  # header intact, some pages garbage
    with open(path, "r+b") as fh:
        fh.seek(path.stat().st_size // 2)
        fh.write(os.urandom(16384))


def _operations(store: RunStore, rid: int) -> dict:
    return {
        "get_run": lambda: store.get_run(rid),
        "list_runs": lambda: store.list_runs(),
        "create_run": lambda: store.create_run("distill", {}),
        "run_state": lambda: store.run_state(rid),
        "set_status": lambda: store.set_status(rid, "failed"),
        "claim_next_queued": lambda: store.claim_next_queued("cpu"),
        "heartbeat": lambda: store.heartbeat(rid, iteration=1),
        "record_steps": lambda: store.record_steps(rid, [(1, {"loss": 1.0})]),
        "request_cancel": lambda: store.request_cancel(rid),
        "reap": lambda: store.reap(),
        "delete_run": lambda: store.delete_run(rid),
        "metrics": lambda: store.metrics(rid),
        "add_eval": lambda: store.add_eval(rid, {"iteration": 0, "net": "convnet-3", "acc_mean": 0.5}),
        "evals": lambda: store.evals(rid),
        "add_snapshot": lambda: store.add_snapshot(rid, 0, "snapshots/000000.pt"),
        "snapshots": lambda: store.snapshots(rid),
        "set_progress": lambda: store.set_progress(rid, "eval", {"done": 1}),
        "progress": lambda: store.progress(rid),
    }


@pytest.mark.parametrize("damage", [_garbage, _truncated, _overwritten_middle], ids=["garbage", "truncated", "middle"])
def test_a_damaged_store_fails_every_operation_with_one_line(damage, capsys):
    store = RunStore()
    rid = _fill(store)
    damage(store.path)
    broken = RunStore()
    for name, op in _operations(broken, rid).items():
        with pytest.raises(RunStoreError) as err:
            op()
        msg = str(err.value)
        assert str(broken.path) in msg and REPAIR in msg and "\n" not in msg, (name, msg)
    broken.close()
    # the CLI says the same in one line, exit 2
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and REPAIR in err and str(broken.path) in err and "Traceback" not in err


def test_an_unreadable_store_file_names_the_file_and_the_fix():
    path = data_home() / "runs.sqlite3"
    path.mkdir()  # not a file at all
    with pytest.raises(RunStoreError) as err:
        RunStore().list_runs()
    assert str(path) in str(err.value) and REPAIR in str(err.value)


def _assert_same_run(got: dict, want: dict) -> None:
    for key in ("id", "kind", "method", "dataset", "ipc", "config", "summary", "source", "label", "iteration"):
        assert got[key] == want[key], key


def test_repair_keeps_a_backup_and_rebuilds_the_runs_from_their_folders(tiny_fashion, store):
    done = submit(store, tiny_run("dm", iterations=4, eval_at=[2, 4]), start_worker=False)
    assert finish_queued(store) == 1
    queued = store.create_run("baseline", {"kind": "baseline", "dataset": "fashion-mnist"}, dataset="fashion-mnist")
    cancelled = store.create_run("evaluate", {"kind": "evaluate"}, label="to cancel")
    store.request_cancel(cancelled)
    running = store.create_run("distill", {"kind": "distill"}, method="am", status="running")
    assert store.get_run(done)["status"] == "done" and len(store.evals(done)) == 2
    # a folder from before run.json existed: only snapshots; and an empty one
    legacy = data_home() / "runs" / "40"
    shutil.copytree(store.artifacts_dir(done) / "snapshots", legacy / "snapshots")
    (data_home() / "runs" / "41").mkdir()
    want = {rid: store.get_run(rid) for rid in (done, queued, cancelled, running)}
    want_evals = store.evals(done)
    want_snaps = [(s["iteration"], s["path"]) for s in store.snapshots(done)]
    store.close()
    (store.path).write_bytes(b"this is not a database" * 100)
    damaged = store.path.read_bytes()

    proc = subprocess.run(
        [sys.executable, "-m", "dd_core", "runs", "--repair", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    human, rec = proc.stdout.strip().splitlines()[0], json.loads(proc.stdout.strip().splitlines()[-1])
    assert "recovered 5 runs" in human and rec["recovered"] == 5
    assert rec["recovered_ids"] == [done, queued, cancelled, running, 40]
    assert [s["id"] for s in rec["skipped"]] == [41]
    backup = Path(rec["backup"])
    assert backup.parent == store.path.parent and backup.name.startswith("runs.sqlite3.corrupt-")
    assert backup.read_bytes() == damaged

    fresh = RunStore()
    for rid in (done, queued, cancelled):
        _assert_same_run(fresh.get_run(rid), want[rid])
        assert fresh.get_run(rid)["status"] == want[rid]["status"]
    assert fresh.get_run(running)["status"] == "interrupted"  # it was running when the store broke
    assert "runs --repair" in fresh.get_run(running)["error"]
    evals = fresh.evals(done)
    assert [(e["iteration"], e["net"], e["acc_mean"], e["accs"]) for e in evals] == [
        (e["iteration"], e["net"], e["acc_mean"], e["accs"]) for e in want_evals
    ]
    assert [(s["iteration"], s["path"]) for s in fresh.snapshots(done)] == want_snaps
    old = fresh.get_run(40)
    assert (old["kind"], old["method"], old["dataset"], old["ipc"], old["status"]) == (
        "distill",
        "dm",
        "fashion-mnist",
        1,
        "interrupted",
    )
    assert [s["iteration"] for s in fresh.snapshots(40)] == [i for i, _ in want_snaps]
    assert fresh.create_run("distill", {}) == 42  # above every folder
    fresh.close()
    # a second repair finds the store healthy and leaves it alone
    assert main(["runs", "--repair"]) == 0


def test_repair_salvages_the_metrics_still_readable_in_the_damaged_file(store):
    rid = _fill(store)  # 2000 metric rows, run.json in the run folder
    want = {(m["iteration"], m["loss"]) for m in RunStore().metrics(rid)}
    store.set_progress(rid, "eval", {"epoch": 3})
    store.close()
    with open(store.path, "r+b") as fh:  # garbage over some pages near the end: the runs table is still readable
        fh.seek(store.path.stat().st_size - 3 * 4096)
        fh.write(os.urandom(4096))
    with pytest.raises(RunStoreError, match="runs --repair"):
        RunStore().list_runs()
    res = repair_store()
    assert res["recovered_ids"] == [rid] and res["backup"] and 0 < res["salvaged"]["metrics"] <= 2000
    fresh = RunStore()
    got = {(m["iteration"], m["loss"]) for m in fresh.metrics(rid)}
    assert len(got) == res["salvaged"]["metrics"] and got <= want  # only true rows, no garbage
    assert fresh.get_run(rid)["status"] == "done"
    fresh.close()


def test_an_unwritable_data_home_says_so_and_names_dd_home(tmp_path, monkeypatch, capsys):
    afile = tmp_path / "afile"
    afile.write_text("a file, not a folder")
    home = afile / "home"
    monkeypatch.setenv("DD_HOME", str(home))
    for make in (data_home, RunStore):
        with pytest.raises(DDError) as err:
            make()
        msg = str(err.value)
        assert str(home) in msg and "not writable" in msg and "DD_HOME" in msg and "\n" not in msg
    with pytest.raises(RunStoreError, match="not writable.*DD_HOME"):
        RunStore(afile / "store" / "runs.sqlite3")
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert "not writable" in err and "DD_HOME" in err and err.count("\n") == 1
    # commands that do not need the store keep working
    assert main(["datasets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["data_home"] == str(home)
    assert main(["flops", "--net", "convnet-3", "--dataset", "mnist-5k", "--json"]) == 0


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop root's capabilities")
def test_a_read_only_data_home_without_root_powers(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    try:
        cmd = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", sys.executable, "-m", "dd_core"]
        env = {**os.environ, "DD_HOME": str(home)}
        probe = subprocess.run([*cmd[:3], "touch", str(home / "x")], capture_output=True)
        if probe.returncode == 0:
            pytest.skip("setpriv did not stop writes here")
        runs = subprocess.run([*cmd, "runs"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert runs.returncode == 2 and "not writable" in runs.stderr and "DD_HOME" in runs.stderr, runs.stderr
        assert "Traceback" not in runs.stderr
        datasets = subprocess.run([*cmd, "datasets"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert datasets.returncode == 0, datasets.stderr
    finally:
        home.chmod(0o755)
