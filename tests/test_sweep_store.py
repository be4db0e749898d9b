"""Sweeps without Ray: the ``sweeps`` table, trials a worker never claims, ``runs --json``'s ``sweep_id``, the grid."""

from __future__ import annotations

import pytest

from dd_core.errors import ConfigError
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
