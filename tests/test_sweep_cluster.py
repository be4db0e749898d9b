"""Sweeps on a real multi-node Ray cluster on this machine (``ray.cluster_utils.Cluster``: a head with no CPU for
trials and two worker nodes of one CPU each, every node its own raylet): the command connects with ``--address`` as
to a cluster started with ``ray start --head``, and a node that dies leaves its trial ``interrupted`` while the
sweep goes on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dd_core.runs import RunStore
from dd_core.runs.sweeps import get_sweep
from tests.helpers import SWEEP_TINY as TINY
from tests.helpers import last_json, run_cli, write_learnable_fashion

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three nodes: the head (no CPU: trials go to the workers) and two workers of 1 CPU. Their processes inherit
    the tiny dataset's folder, as nodes of a real cluster would have it on their disks."""
    fashion = write_learnable_fashion(tmp_path_factory.mktemp("cluster") / "fashion")
    saved = {k: os.environ.get(k) for k in ("DD_FASHION_MNIST_DIR", "OMP_NUM_THREADS")}
    os.environ.update(DD_FASHION_MNIST_DIR=str(fashion), OMP_NUM_THREADS="1")
    fast_death = {
        "health_check_initial_delay_ms": 0,
        "health_check_period_ms": 500,
        "health_check_failure_threshold": 2,
    }
    c = cluster_utils.Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False, "_system_config": fast_death}
    )
    workers = [c.add_node(num_cpus=1) for _ in range(2)]
    c.wait_for_nodes()
    try:
        yield c, workers, fashion
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_the_command_runs_a_sweep_on_the_cluster_at_address(cluster, tmp_path):
    c, _, fashion = cluster
    home = tmp_path / "home"
    env = {**os.environ, "DD_HOME": str(home), "DD_FASHION_MNIST_DIR": str(fashion)}
    proc = subprocess.run(
        [sys.executable, "-m", "dd_core", "sweep", "--method", "dm,random", *TINY, "--iterations", "2",
         "--grid", "ipc=1,2", "--cpus-per-trial", "1", "--address", c.address, "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = last_json(proc.stdout)
    assert rec["ray_address"] == c.address and rec["status"] == "done"
    assert [(t["method"], t["params"], t["status"]) for t in rec["trials"]] == [
        ("dm", {"ipc": 1}, "done"),
        ("dm", {"ipc": 2}, "done"),
        ("random", {"ipc": 1}, "done"),
        ("random", {"ipc": 2}, "done"),
    ]
    with RunStore(home / "runs.sqlite3") as store:
        for t in rec["trials"]:
            run = store.get_run(t["run_id"])
            assert run["sweep_id"] == rec["sweep_id"] and store.evals(run["id"])
            assert (store.artifacts_dir(run["id"]) / "synthetic.pt").is_file()  # shipped back from its node
        (driver,) = store.list_runs(kind="sweep")
        assert driver["status"] == "done" and driver["sweep_id"] == rec["sweep_id"]
    assert "Traceback" not in proc.stderr


def test_a_node_that_dies_leaves_its_trial_interrupted_and_the_sweep_goes_on(cluster, capsys, monkeypatch):
    c, workers, fashion = cluster
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(fashion))
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    here = ray.get_runtime_context().get_node_id()  # the driver's node (and its hub's): it stays
    victim = next(n for n in workers if n.node_id != here)
    store = RunStore()
    killed: list[int] = []

    def kill_a_node_once_both_run() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = [r for r in store.list_runs(status="running") if r.get("trial") is not None]
            if len(running) == 2 and all((r["iteration"] or 0) >= 2 for r in running):
                c.remove_node(victim, allow_graceful=False)
                killed.append(1)
                return
            time.sleep(0.1)

    threading.Thread(target=kill_a_node_once_both_run, daemon=True).start()
    try:
        code, out, err = run_cli(
            capsys, "sweep", "--method", "dm", *TINY, "--eval-at", "none", "--grid", "iterations=40,41",
            "--cpus-per-trial", "1", "--json",
        )  # fmt: skip
    finally:
        ray.shutdown()
    assert killed, "both trials never ran at once"
    assert code == 0, err
    rec = last_json(out)
    states = sorted(t["status"] for t in rec["trials"])
    assert states == ["done", "interrupted"], rec["trials"]
    lost = next(t for t in rec["trials"] if t["status"] == "interrupted")
    assert "node" in store.get_run(lost["run_id"])["error"]
    assert "1 interrupted" in out and get_sweep(store, rec["sweep_id"])["status"] == "done"
