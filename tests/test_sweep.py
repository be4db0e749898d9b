"""``python -m dd_core sweep`` on a real local Ray (no mock): tiny DM runs on the generated Fashion-MNIST set.

One Ray per module; its workers get a ``DD_HOME`` below a plain file (it cannot exist nor be created), so a trial
that touched the run store or the data home would fail: every event reaches the store through the driver.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dd_core.runs import RunStore
from dd_core.runs.sweeps import get_sweep, trial_runs
from tests.helpers import SWEEP_TINY as TINY
from tests.helpers import last_json, run_cli, write_learnable_fashion

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A local Ray of 2 CPUs whose trials cannot see any data home; yields the tiny dataset's folder."""
    base = tmp_path_factory.mktemp("sweep")
    fashion = write_learnable_fashion(base / "fashion")
    blocker = base / "a-file"
    blocker.write_text("not a folder")
    env = {"DD_HOME": str(blocker / "home"), "DD_FASHION_MNIST_DIR": str(fashion), "OMP_NUM_THREADS": "1"}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        logging_level=logging.ERROR,
        runtime_env={"env_vars": env},
    )
    yield fashion
    ray.shutdown()


@pytest.fixture
def sweep_env(local_ray, monkeypatch):
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(local_ray))
    return local_ray


def test_a_2x2_grid_lands_4_runs_with_their_evaluations_through_the_driver(sweep_env, capsys):
    code, out, err = run_cli(
        capsys, "sweep", "--method", "dm", *TINY, "--iterations", "3", "--grid", "ipc=1,2", "--grid", "lr_img=0.1,1",
        "--cpus-per-trial", "1", "--json",
    )  # fmt: skip
    assert code == 0, err
    rec = last_json(out)
    assert rec["engine"] == "ray" and rec["ray_address"] and rec["status"] == "done"
    trials = rec["trials"]
    assert [t["params"] for t in trials] == [
        {"ipc": 1, "lr_img": 0.1},
        {"ipc": 1, "lr_img": 1.0},
        {"ipc": 2, "lr_img": 0.1},
        {"ipc": 2, "lr_img": 1.0},
    ]
    assert all(t["status"] == "done" and 0 <= t["acc_mean"] <= 1 and t["random_acc_mean"] is not None for t in trials)
    assert rec["best"]["acc_mean"] == max(t["acc_mean"] for t in trials)
    assert "trials finished" in err and "best so far" in err  # progress on stderr
    store = RunStore()
    for t in trials:
        run = store.get_run(t["run_id"])
        assert run["sweep_id"] == rec["sweep_id"] and run["status"] == "done" and run["source"] == "cli"
        assert run["host"] is not None and run["pid"] == os.getpid()  # the driver owned its liveness
        assert store.evals(run["id"]) and store.metrics(run["id"]) and store.snapshots(run["id"])
        folder = store.artifacts_dir(run["id"])
        assert (folder / "synthetic.pt").is_file() and (folder / "png" / "all.png").is_file()
        assert all(Path(s["abs_path"]).is_file() for s in store.snapshots(run["id"]))
        assert run["summary"]["synthetic_path"] == str(folder / "synthetic.pt")
    assert len(store.references()) == 2  # one random-real reference per IPC, computed on a node, stored by the driver
    assert get_sweep(store, rec["sweep_id"])["status"] == "done"
    code, out, _ = run_cli(capsys, "runs", "--json")
    listed = {r["id"]: r["sweep_id"] for r in last_json(out)["runs"]}
    assert all(listed[t["run_id"]] == rec["sweep_id"] for t in trials)


def test_a_trial_cannot_see_the_data_home(local_ray):
    @ray.remote
    def probe() -> str:
        from dd_core.errors import DDError
        from dd_core.paths import data_home

        try:
            data_home()
        except DDError as err:
            return str(err)
        return "reachable"

    assert "not writable" in ray.get(probe.remote())


def test_dry_run_lists_the_trials_and_runs_nothing(sweep_env, capsys):
    code, out, err = run_cli(
        capsys, "sweep", "--method", "dm,random", *TINY, "--grid", "ipc=1,10", "--grid", "lr_img=0.1,1",
        "--seeds", "0,1", "--dry-run", "--json",
    )  # fmt: skip
    assert code == 0, err
    rec = last_json(out)
    assert rec["dry_run"] and rec["sweep_id"] is None
    assert len(rec["trials"]) == 2 * 2 * 2 + 2 * 2  # random has no lr_img: not varied there
    assert "lr_img does not apply to random" in out
    assert not (Path(os.environ["DD_HOME"]) / "runs.sqlite3").exists()  # nothing recorded


@pytest.mark.parametrize(
    "grid, words",
    [
        ("power=1,4", ["--grid power", "valid keys", "lr_img", "batch_real", "iterations"]),
        ("ipc=", ["--grid ipc", "empty"]),
        ("ipc=0,1", ["--grid ipc=0", ">= 1"]),
        ("lr_img=fast", ["--grid lr_img=fast", "number"]),
    ],
)
def test_bad_grids_are_refused_before_ray_naming_the_key(sweep_env, capsys, grid, words):
    code, _, err = run_cli(capsys, "sweep", "--method", "dm", *TINY, "--grid", grid)
    assert code == 2 and all(w in err for w in words), err
    assert not (Path(os.environ["DD_HOME"]) / "runs.sqlite3").exists()


def test_without_ray_the_command_says_how_to_install_it(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as where it is not installed
    code, _, err = run_cli(capsys, "sweep", "--method", "dm", *TINY)
    assert code == 2 and "pip install 'ray>=2.40,<3'" in err and "Traceback" not in err


def test_an_unreachable_address_fails_fast_with_the_fix(sweep_env, capsys):
    start = time.monotonic()
    code, _, err = run_cli(capsys, "sweep", "--method", "dm", *TINY, "--address", "127.0.0.1:9")
    assert code == 2 and "127.0.0.1:9" in err and "ray start --head" in err
    assert time.monotonic() - start < 10


def test_a_trial_no_node_can_hold_is_refused(sweep_env, capsys):
    code, _, err = run_cli(capsys, "sweep", "--method", "dm", *TINY, "--cpus-per-trial", "3")
    assert code == 2 and "no Ray node can run a trial of 3 CPUs" in err and "--cpus-per-trial" in err
    assert not RunStore().list_runs()  # nothing recorded


def test_a_failing_trial_does_not_stop_the_others_and_resume_reruns_only_it(sweep_env, capsys):
    code, out, err = run_cli(
        capsys, "sweep", "--method", "dm", *TINY, "--iterations", "2", "--grid", "ipc=1,25", "--json",
    )  # fmt: skip
    assert code == 0, err
    rec = last_json(out)
    ok, bad = rec["trials"]
    assert ok["status"] == "done" and ok["acc_mean"] is not None
    assert bad["status"] == "failed" and "IPC 25 is larger than class" in bad["error"]
    store = RunStore()
    assert store.get_run(bad["run_id"])["error"] == bad["error"]
    code, out, err = run_cli(capsys, "sweep", "--resume", str(rec["sweep_id"]), "--json")
    again = last_json(out)
    assert code == 0, err
    assert again["trials"][0]["run_id"] == ok["run_id"]  # finished: not rerun
    assert again["trials"][1]["run_id"] != bad["run_id"] and again["trials"][1]["status"] == "failed"
    assert len(store.list_runs(sweep_id=rec["sweep_id"], kind="distill")) == 3
    drivers = store.list_runs(sweep_id=rec["sweep_id"], kind="sweep")  # one driver job per command, both done
    assert [d["status"] for d in drivers] == ["done", "done"] and all(d["trial"] is None for d in drivers)


def test_missing_data_on_the_node_says_so(sweep_env, capsys):
    code, out, _ = run_cli(
        capsys, "sweep", "--method", "random", "--dataset", "mhist", "--data-path", "/nonexistent/mhist", "--ipc", "1",
        "--json",
    )  # fmt: skip
    (trial,) = last_json(out)["trials"]
    assert code == 0 and trial["status"] == "failed", trial
    assert trial["error"].startswith("on node ") and "/nonexistent/mhist does not exist" in trial["error"]


def test_ctrl_c_stops_the_running_trial_keeping_its_set_and_cancels_the_queued(sweep_env, capsys):
    store = RunStore()

    def interrupt_once_running() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = [r for r in store.list_runs(status="running") if r.get("sweep_id")]
            if runs and (runs[0]["iteration"] or 0) >= 2:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.1)

    threading.Thread(target=interrupt_once_running, daemon=True).start()
    code, out, err = run_cli(
        capsys, "sweep", "--method", "dm", *TINY, "--iterations", "5000", "--eval-at", "none",
        "--grid", "ipc=1,2", "--cpus-per-trial", "2", "--json",
    )  # fmt: skip
    assert code == 130, err
    rec = last_json(out)
    first, second = rec["trials"]
    assert rec["status"] == "cancelled" and first["status"] == "cancelled" and second["status"] == "cancelled"
    run = store.get_run(first["run_id"])
    assert 2 <= run["summary"]["iterations"] < 5000 and Path(run["summary"]["synthetic_path"]).is_file()
    assert store.get_run(second["run_id"])["started_at"] is None  # never started
    assert get_sweep(store, rec["sweep_id"])["status"] == "cancelled"
    assert set(trial_runs(store, rec["sweep_id"])) == {0, 1}


def test_the_command_starts_its_own_local_ray_and_leaves_nothing_after_ctrl_c(local_ray, tmp_path):
    """A fresh process: a local Ray starts inside the command; a real SIGINT while the second trial runs stops it
    cleanly (exit 130, the JSON still the last line) and no Ray process is left behind."""

    def ray_pids() -> set[int]:
        out = subprocess.run(["pgrep", "-f", "raylet|gcs_server|default_worker"], capture_output=True, text=True).stdout
        return {int(p) for p in out.split()}

    before = ray_pids()
    home = tmp_path / "home"
    env = {**os.environ, "DD_HOME": str(home), "DD_FASHION_MNIST_DIR": str(local_ray)}
    env["RAY_ADDRESS"] = "127.0.0.1:9"  # a stale cluster address in the environment: a local Ray starts all the same
    proc = subprocess.Popen(
        [sys.executable, "-m", "dd_core", "sweep", "--method", "dm", *TINY, "--eval-at", "none",
         "--grid", "iterations=1,100000", "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if (home / "runs.sqlite3").exists():
                with RunStore(home / "runs.sqlite3") as store:
                    long = [r for r in store.list_runs(status="running") if r["trial"] == 1]
                if long and (long[0]["iteration"] or 0) >= 2:
                    proc.send_signal(signal.SIGINT)
                    break
            time.sleep(0.2)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    rec = last_json(out)
    assert rec["ray_address"] and [t["status"] for t in rec["trials"]] == ["done", "cancelled"]
    assert "SIGINT: stopping" in err and "trials finished" in err
    time.sleep(1)
    assert not (ray_pids() - before), "the command left Ray processes behind"


def test_the_dashboards_worker_runs_a_sweep_the_page_queued(sweep_env, monkeypatch):
    """The Sweep page's path: ``plan`` + ``submit_sweep`` queue the driver job; the worker (here in this process, on
    the module's Ray) claims it like any run and drives the trials; a dashboard run queued meanwhile waits."""
    from dd_core.cli.sweep import plan
    from dd_core.runs import worker
    from dd_core.spec import RunConfig
    from dd_core.sweeps.job import run_sweep_job
    from dd_core.sweeps.submit import submit_sweep

    started: list[int] = []
    monkeypatch.setattr(worker, "launch_worker", lambda run_id=None: started.append(1) or 0)
    store = RunStore()
    trials, fixed = plan(["--method", "dm", *TINY, "--iterations", "2", "--grid", "ipc=1,2", "--cpus-per-trial", "1"])
    sweep_id, driver = submit_sweep(store, trials, fixed, {"cpus_per_trial": 1.0})
    assert started and get_sweep(store, sweep_id)["status"] == "queued"
    cheap = {"eval": {"n_models": 1, "epochs": 2}, "reference": False}
    later = worker.submit(
        store, RunConfig(method="random", dataset="fashion-mnist", method_options={"ipc": 1}, **cheap)
    )
    assert worker.work(store=store, executors={"sweep": run_sweep_job}) == 2  # the sweep, then the queued run
    run = store.get_run(driver)
    assert run["status"] == "done" and run["summary"]["sweep_id"] == sweep_id and run["kind"] == "sweep"
    assert [t["status"] for t in run["summary"]["trials"]] == ["done", "done"]
    assert store.progress(driver)["sweep"]["done"] == 2  # the driver's progress, as the page draws it
    assert get_sweep(store, sweep_id)["status"] == "done"
    assert store.get_run(later)["started_at"] > run["finished_at"] - 1  # it waited for the sweep
