"""Sweeps without Ray: the ``sweeps`` table, trials a worker never claims, ``runs --json``'s ``sweep_id``, the grid."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dd_core.errors import ConfigError
from dd_core.runs import RunStore
from dd_core.runs.store import RunStoreError
from dd_core.runs.sweeps import create_sweep, get_sweep, list_sweeps, set_sweep_status, trial_runs
from dd_core.sweeps.grid import check_keys, parse_grid, parse_seeds, points
from tests.helpers import last_json, run_cli


def test_the_sweeps_table_and_the_newest_run_of_each_trial(store):
    sweep = create_sweep(store, {"trials": [{"index": 0}]})
    assert get_sweep(store, sweep)["status"] == "running" and get_sweep(store, sweep)["spec"]["trials"]
    old = store.create_run("distill", {}, status="queued", sweep_id=sweep, trial=0)
    store.request_cancel(old)
    new = store.create_run("distill", {}, status="queued", sweep_id=sweep, trial=0)
    other = store.create_run("distill", {}, status="queued", sweep_id=sweep, trial=1)
    assert {i: r["id"] for i, r in trial_runs(store, sweep).items()} == {0: new, 1: other}
    set_sweep_status(store, sweep, "cancelled")
    assert get_sweep(store, sweep)["finished_at"] is not None
    with pytest.raises(RunStoreError, match="unknown sweep status"):
        set_sweep_status(store, sweep, "paused")
    assert get_sweep(store, sweep + 1) is None


def test_list_sweeps_newest_first_with_methods_and_trial_counts_and_runs_in_or_out_of_one(store):
    assert list_sweeps(store) == []
    trials = [{"method": m, "params": {"ipc": 1}, "config": {"dataset": "mnist-5k"}} for m in ("dm", "random", "dm")]
    first = create_sweep(store, {"trials": trials})
    second = create_sweep(store, {})
    set_sweep_status(store, first, "done")
    listed = list_sweeps(store)
    assert [s["id"] for s in listed] == [second, first] and [s["id"] for s in list_sweeps(store, limit=1)] == [second]
    assert {k: listed[1][k] for k in ("status", "methods", "n_trials", "dataset", "grid")} == {
        "status": "done",
        "methods": ["dm", "random"],
        "n_trials": 3,
        "dataset": "mnist-5k",
        "grid": ["ipc"],
    }
    assert listed[1]["created_at"] and listed[1]["finished_at"] and listed[0]["finished_at"] is None
    assert listed[0]["methods"] == [] and listed[0]["n_trials"] == 0
    trial = store.create_run("distill", {}, status="queued", sweep_id=first, trial=0)
    plain = store.create_run("distill", {}, status="queued")
    assert [r["id"] for r in store.list_runs(in_sweep=True)] == [trial]
    assert [r["id"] for r in store.list_runs(in_sweep=False)] == [plain]
    assert [r["id"] for r in store.list_runs(in_sweep=False, sweep_id=first)] == []


def test_a_worker_never_claims_a_sweeps_trial(store):
    sweep = create_sweep(store, {})
    trial = store.create_run("distill", {}, status="queued", sweep_id=sweep, trial=0)
    plain = store.create_run("distill", {}, status="queued")
    assert store.claim_next_queued("cpu")["id"] == plain
    assert store.claim_next_queued("cpu", max_running=5) is None
    claimed = store.claim_next_queued("ray", max_running=5, run_id=trial, sweep_id=sweep)
    assert claimed["id"] == trial and claimed["status"] == "running" and claimed["sweep_id"] == sweep


def test_runs_json_carries_the_sweep_id(store, capsys):
    sweep = create_sweep(store, {})
    trial = store.create_run("distill", {}, status="queued", sweep_id=sweep, trial=0)
    plain = store.create_run("distill", {}, status="queued")
    code, out, _ = run_cli(capsys, "runs", "--json")
    assert code == 0
    assert {r["id"]: r["sweep_id"] for r in last_json(out)["runs"]} == {trial: sweep, plain: None}


def test_the_grid_expands_every_combination_and_refuses_bad_axes():
    grid = parse_grid(["ipc=1,10", "lr-img=0.1, 1"])
    assert grid == {"ipc": ["1", "10"], "lr_img": ["0.1", "1"]}
    assert points(grid)[:2] == [{"ipc": "1", "lr_img": "0.1"}, {"ipc": "1", "lr_img": "1"}] and len(points(grid)) == 4
    assert points({}) == [{}]
    for bad, words in [
        (["ipc"], "KEY=V1,V2"),
        (["ipc="], "empty"),
        (["ipc=1", "ipc=2"], "twice"),
        (["ipc=1,1"], "repeated"),
        (["seed=1,2"], "--seeds"),
    ]:
        with pytest.raises(ConfigError, match=words):
            parse_grid(bad)
    fields = {"dm": ["ipc", "lr_img"], "random": ["ipc"]}
    assert check_keys(grid, fields) == {"dm": ["ipc", "lr_img"], "random": ["ipc"]}
    assert check_keys({"iterations": ["5"]}, fields) == {"dm": ["iterations"], "random": ["iterations"]}
    with pytest.raises(ConfigError, match="valid keys: run options: iterations.*dm: ipc, lr_img; random: ipc"):
        check_keys({"power": ["4"]}, fields)
    assert parse_seeds("0, 2") == [0, 2] and parse_seeds(None) is None
    with pytest.raises(ConfigError, match="from 0 to"):
        parse_seeds("-1")


# ------------------------------------------------------------------------------------ the driver in the device queue
def _driver(store, sweep: int, source: str, pid: int | None = None) -> int:
    from dd_core.sweeps.job import driver_config

    cfg = driver_config(sweep, "mnist-5k", {"cpus_per_trial": 1.0}, "cpu")
    return store.create_run(
        "sweep", cfg.to_dict(), status="queued", source=source, device="cpu", pid=pid, sweep_id=sweep
    )


def test_a_sweep_job_is_checked_like_any_run():
    from dd_core.spec import RunConfig

    with pytest.raises(ConfigError, match="sweep_id"):
        RunConfig(kind="sweep", method=None, sweep={}).validate()
    with pytest.raises(ConfigError, match="cpus-per-trial 0"):
        RunConfig(kind="sweep", method=None, sweep={"sweep_id": 1, "cpus_per_trial": 0}).validate()
    with pytest.raises(ConfigError, match="unknown sweep job option"):
        RunConfig(kind="sweep", method=None, sweep={"sweep_id": 1, "cpu": 2}).validate()
    job = RunConfig(kind="sweep", method=None, sweep={"sweep_id": 3}).validate().sweep
    assert job == {
        "sweep_id": 3,
        "address": None,
        "cpus_per_trial": None,
        "gpus_per_trial": 0.0,
        "ray_dashboard": False,
    }


def test_a_worker_runs_a_page_sweep_but_never_takes_one_the_cli_waits_for(store):
    sweep = create_sweep(store, {}, status="queued")
    cli = _driver(store, sweep, "cli", pid=os.getpid())
    plain = store.create_run("distill", {}, status="queued")
    ui = _driver(store, create_sweep(store, {}, status="queued"), "ui")
    assert store.claim_next_queued("cpu")["id"] == plain  # the older CLI driver is left to its command
    store.set_status(plain, "done")
    assert store.claim_next_queued("cpu")["id"] == ui
    assert store.claim_next_queued("cpu", run_id=cli) is None  # the device is busy with the page's sweep
    store.set_status(ui, "done")
    assert store.claim_next_queued("cpu", run_id=cli)["id"] == cli  # the command claims its own job by id


def test_a_cli_sweep_whose_command_died_while_waiting_is_cancelled(store):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sweep = create_sweep(store, {}, status="queued")
    run = _driver(store, sweep, "cli", pid=dead.pid)
    store.reap()
    row = store.get_run(run)
    assert row["status"] == "cancelled" and "ended while it waited" in row["error"]
    assert get_sweep(store, sweep)["status"] == "interrupted"  # no driver job of it is alive any more


def test_wait_for_device_waits_for_the_dashboards_run_then_claims(store):
    from dd_core.cli.sweep import wait_for_device

    busy = store.create_run("distill", {}, status="running", device="cpu")  # this process: alive
    run = _driver(store, create_sweep(store, {}, status="queued"), "cli", pid=os.getpid())
    seen: list[list[int]] = []
    assert wait_for_device(store, run, lambda: len(seen) >= 2, lambda rs: seen.append([r["id"] for r in rs])) is None
    assert seen[0] == [busy]
    store.set_status(busy, "done")
    claimed = wait_for_device(store, run, lambda: True, seen.append)
    assert claimed["id"] == run and claimed["status"] == "running" and claimed["config_obj"].kind == "sweep"


def test_repair_rebuilds_the_sweeps_table_from_its_files(store, capsys):
    sweep = create_sweep(store, {"trials": [], "fixed": {"dataset": "mnist-5k"}})
    set_sweep_status(store, sweep, "done")
    store.close()
    store.path.write_bytes(b"this is not a database" * 100)
    code, out, err = run_cli(capsys, "runs", "--repair", "--json")
    assert code == 0, err
    assert last_json(out)["sweeps"] == 1
    fresh = RunStore(store.path)
    got = get_sweep(fresh, sweep)
    assert got["status"] == "done" and got["spec"]["fixed"] == {"dataset": "mnist-5k"}


def test_a_stop_while_queued_cancels_the_sweep_and_ends_the_commands_wait(store):
    from dd_core.cli.sweep import wait_for_device

    busy = store.create_run("distill", {}, status="running", device="cpu")
    sweep = create_sweep(store, {}, status="queued")
    run = _driver(store, sweep, "cli", pid=os.getpid())
    assert store.request_cancel(run) == "cancelled"  # the dashboard's Stop
    assert wait_for_device(store, run, lambda: False, lambda rs: None) is None  # returns at once, not forever
    assert get_sweep(store, sweep)["status"] == "cancelled"
    store.set_status(busy, "done")


def test_a_bad_job_or_a_busy_sweep_is_refused_before_anything_is_recorded(store):
    from dd_core.sweeps.job import queue_sweep
    from dd_core.sweeps.submit import resume_sweep

    with pytest.raises(ConfigError, match="cpus-per-trial"):
        queue_sweep(store, [], {}, {"cpus_per_trial": -1}, source="ui")
    assert not store._read("SELECT id FROM sweeps") and not store.list_runs()
    sweep = create_sweep(store, {"trials": []})
    trial = store.create_run("distill", {}, status="queued", sweep_id=sweep, trial=0)
    store.claim_next_queued("ray", max_running=9, run_id=trial, sweep_id=sweep)  # running, in this process
    with pytest.raises(RunStoreError, match="still queued or running"):
        resume_sweep(store, sweep, {})


# ------------------------------------------------------------------------ resources (GPUs: mapping only, no GPU in CI)
def test_the_resources_of_a_trial_and_the_gpu_mapping():
    import argparse

    from dd_core.cli.sweep import trial_device
    from dd_core.sweeps.ray_env import RayError, check_feasible
    from dd_core.sweeps.resources import trial_resources

    assert trial_resources(None) == trial_resources(1.0)  # the default: one CPU, one thread, as many trials as cores
    r = trial_resources(2.5, 0.25)
    assert (r.cpus, r.gpus, r.threads) == (2.5, 0.25, 2)  # threads: the CPUs rounded down; a quarter of a GPU
    ns = argparse.Namespace
    assert trial_device(ns(gpus_per_trial=0.5, cpus_per_trial=None, device=None)) == "cuda"
    assert trial_device(ns(gpus_per_trial=0.0, cpus_per_trial=None, device=None)) == "cpu"
    with pytest.raises(ConfigError, match="--gpus-per-trial > 0"):
        trial_device(ns(gpus_per_trial=0.0, cpus_per_trial=None, device="cuda"))

    class Nodes:  # the one call of Ray's API check_feasible makes, with a GPU node
        @staticmethod
        def nodes() -> list[dict]:
            return [{"Alive": True, "Resources": {"CPU": 8.0, "GPU": 1.0}}, {"Alive": False, "Resources": {"GPU": 4}}]

    check_feasible(Nodes, 2, 0.5)
    with pytest.raises(RayError, match="no Ray node can run a trial of 1 CPUs and 2 GPUs"):
        check_feasible(Nodes, 1, 2)  # the dead node's 4 GPUs do not count
