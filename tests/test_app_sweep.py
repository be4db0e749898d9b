"""Sweep page (AppTest), without Ray: the page explains sweeps and shows its form when there is none; the form
previews the trials of dm,random × IPC 1,2 × seeds 0,1 and refuses a bad value under its field in the form's words;
Start queues the sweep's driver job (no worker starts) and ``?sweep=ID`` watches it, Stop cancels it and Resume
queues it again; a running sweep shows its live trials (errors in UI words) and Stop asks its driver to stop; a
finished sweep built in the store shows its trials, results and best configuration, whose "Load into Distill" fills
the Distill form."""

from __future__ import annotations

import json
import os
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dd_core.runs.sweeps import create_sweep, driver_runs, get_sweep, set_sweep_status
from tests import app_support
from tests.app_support import APP, all_text, error_under, texts

clean_streamlit = app_support.clean_streamlit  # fixture

PAGE = "pages/sweep.py"
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def sweep_app(sweep: int | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    if sweep is not None:
        at.query_params["sweep"] = str(sweep)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def no_worker(monkeypatch):
    """The pages' worker starts are recorded, never made (no Ray, no process); Ray counts as installed."""
    from dd_core.runs import worker
    from dd_core.ui import sweep_form

    started: list = []
    monkeypatch.setattr(worker, "launch_worker", lambda run_id=None: started.append(run_id) or 0)
    monkeypatch.setattr(sweep_form, "ray_missing", lambda: None)
    return started


def query_sweep(at: AppTest) -> int:
    v = at.query_params.get("sweep")
    return int(v[0] if isinstance(v, list) else v)


def fill(at: AppTest, methods: list[str], ipc: str, seeds: str, dataset: str | None = None) -> None:
    at.multiselect(key="sweep.methods").set_value(methods)
    if dataset:
        at.selectbox(key="sweep.dataset").set_value(dataset)
    at.text_input(key="sweep.ipc").set_value(ipc)
    at.text_input(key="sweep.seeds").set_value(seeds)
    at.run()
    assert not at.exception, at.exception


def test_with_no_sweep_the_page_explains_what_a_sweep_is_and_shows_the_form(no_worker):
    at = sweep_app()
    assert "A **sweep** runs every chosen method" in texts(at.info)
    assert at.multiselect(key="sweep.methods").value == ["dm"]
    assert at.text_input(key="sweep.ipc").value == "1,10" and at.text_input(key="sweep.seeds").value == "0,1"
    assert "4 trials" in texts(at.markdown)  # DM × IPC 1, 10 × seeds 0, 1
    assert not at.button(key="sweep.start").disabled
    assert not at.error
    assert not FLAG.search(all_text(at)), FLAG.search(all_text(at))  # the form's words, never the command's flags
    assert not [w for w in app_support.widgets(at) if w.key == "sweep.gpus"]  # no CUDA here: no GPU field


def test_with_cuda_the_form_asks_for_gpus_per_trial_and_the_trials_use_it(no_worker, monkeypatch):
    import torch

    from dd_core import device

    monkeypatch.setattr(device, "pick_device", lambda name=None: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    at = sweep_app()
    assert at.number_input(key="sweep.gpus").value == 1.0
    assert at.selectbox(key="sweep.preset").value == "paper"  # as on the Distill page
    assert set(at.dataframe[0].value["device"]) == {"cuda"}
    at.number_input(key="sweep.gpus").set_value(2.0).run()
    assert error_under(at, "sweep.gpus") == "GPUs per trial: this machine has 1 GPU"
    at.number_input(key="sweep.gpus").set_value(0.0).run()
    assert set(at.dataframe[0].value["device"]) == {"cpu"} and not at.exception


def test_the_form_previews_the_trials_and_a_bad_value_is_shown_under_its_field(no_worker):
    at = sweep_app()
    fill(at, ["dm", "random"], "1,2", "0,1")
    assert "**8 trials**" in texts(at.markdown)
    preview = at.dataframe[0].value
    assert len(preview) == 8
    assert list(preview["method"]) == ["DM"] * 4 + ["random real"] * 4
    assert sorted(set(preview["IPC"])) == [1, 2] and sorted(set(preview["seed"])) == [0, 1]
    assert not at.button(key="sweep.start").disabled
    # a bad IPC value: under the IPC field, in the form's words, no traceback, Start disabled
    at.text_input(key="sweep.ipc").set_value("1,abc").run()
    message = error_under(at, "sweep.ipc")
    assert message.startswith("IPC values abc: Images per class (IPC) must be a whole number"), message
    assert not FLAG.search(message), message
    assert at.button(key="sweep.start").disabled and not at.exception and not at.dataframe
    # a second grid key: its values are checked by the engine, and the message names the field
    at.text_input(key="sweep.ipc").set_value("1").run()
    at.selectbox(key="sweep.key.1").set_value("lr_img").run()
    at.text_input(key="sweep.values.1.lr_img").set_value("0.1,abc").run()
    message = error_under(at, "sweep.values.1.lr_img")
    assert message.startswith("Image learning rate values abc: Image learning rate must be a number"), message
    assert "lr_img" not in message and not FLAG.search(message), message
    at.text_input(key="sweep.values.1.lr_img").set_value("0.1,1").run()
    assert "**6 trials**" in texts(at.markdown)  # DM × 2 learning rates × 2 seeds + Random real × 2 seeds
    assert "Image learning rate is not varied for random real" in texts(at.caption)
    # seeds
    at.text_input(key="sweep.seeds").set_value("0,0").run()
    assert error_under(at, "sweep.seeds") == "Seeds 0,0: A seed is repeated"
    # a resource a local Ray does not have, an address that is none
    at.text_input(key="sweep.seeds").set_value("0").run()
    at.number_input(key="sweep.cpus").set_value(10_000).run()
    assert "this machine has" in error_under(at, "sweep.cpus")
    at.number_input(key="sweep.cpus").set_value(1).run()
    at.text_input(key="sweep.address").set_value("nowhere").run()
    assert error_under(at, "sweep.address").startswith("Ray address 'nowhere': Use auto, HOST:PORT")
    assert at.button(key="sweep.start").disabled
    assert not at.exception


def test_without_ray_the_page_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, find_spec finds none
    at = sweep_app()
    assert "pip install" in texts(at.warning) and "ray" in texts(at.warning)
    assert at.button(key="sweep.start").disabled and not at.exception


def test_start_queues_the_sweep_and_the_url_watches_it_stop_and_resume(no_worker, store, tiny_fashion):
    at = sweep_app()
    fill(at, ["dm"], "1", "0", dataset="fashion-mnist")
    assert "**1 trial**" in texts(at.markdown)
    at.button(key="sweep.start").click().run()
    assert not at.exception
    sweep_id = query_sweep(at)
    assert get_sweep(store, sweep_id)["status"] == "queued"
    (driver,) = driver_runs(store, sweep_id)
    assert driver["status"] == "queued" and driver["kind"] == "sweep" and driver["source"] == "ui"
    assert no_worker, "a worker was asked for"
    assert "Queued" in texts(at.info)
    assert not at.button(key=f"sweep.stop.{sweep_id}").disabled and at.button(key=f"sweep.resume.{sweep_id}").disabled
    # a fresh session opened on ?sweep=ID shows it
    other = sweep_app(sweep_id)
    assert at.selectbox(key=f"sweep.pick.{sweep_id}").value == sweep_id
    assert other.dataframe, "the trials table"
    # Stop: the queued driver job is cancelled at once, and the sweep with it; Resume queues another
    at.button(key=f"sweep.stop.{sweep_id}").click().run()
    assert store.get_run(driver["id"])["status"] == "cancelled"
    assert get_sweep(store, sweep_id)["status"] == "cancelled"
    assert at.button(key=f"sweep.stop.{sweep_id}").disabled and not at.button(key=f"sweep.resume.{sweep_id}").disabled
    at.button(key=f"sweep.resume.{sweep_id}").click().run()
    assert not at.exception
    assert [r["status"] for r in driver_runs(store, sweep_id)] == ["queued", "cancelled"]
    assert get_sweep(store, sweep_id)["status"] == "queued"


SWEEP = ["--method", "dm,random", "--dataset", "mnist-5k", "--grid", "ipc=1,2", "--seeds", "0,1"]


def recorded_sweep(
    store, statuses: dict[int, str | None] | None = None, argv: list[str] = SWEEP
) -> tuple[int, dict[int, int]]:
    """A sweep (default: dm,random × IPC 1,2 × seeds 0,1) recorded in the store (nothing executed): (sweep id,
    {trial: run id}). ``statuses``: a trial's status (None: no run yet; default: every trial ``done`` and so the
    sweep). DM's accuracy grows with IPC and seed (and lr_img 1 adds 5 points); the default's best is DM IPC 2 seed 1
    (trial 3)."""
    from dd_core.cli.sweep import plan
    from dd_core.sweeps.job import driver_config
    from dd_core.sweeps.trials import sweep_spec

    trials, fixed = plan([*argv, "--iterations", "10", "--eval-models", "1", "--eval-epochs", "5"])
    statuses = {t.index: "done" for t in trials} if statuses is None else statuses
    finished = all(statuses.get(t.index) == "done" for t in trials)
    sweep_id = create_sweep(store, sweep_spec(trials, fixed), status="running")
    job = {"address": None, "cpus_per_trial": 1.0, "gpus_per_trial": 0.0, "ray_dashboard": False}
    cfg = driver_config(sweep_id, "mnist-5k", job, "cpu", f"sweep #{sweep_id}")
    driver = store.create_run("sweep", cfg.to_dict(), dataset="mnist-5k", status="running", sweep_id=sweep_id)
    runs = {}
    for t in trials:
        status = statuses.get(t.index)
        if status is None:
            continue
        c = t.config
        rid = store.create_run(
            "distill",
            c,
            method=t.method,
            dataset="mnist-5k",
            ipc=t.params["ipc"],
            total_iterations=c["iterations"],
            status="running",
            pid=os.getpid(),
            sweep_id=sweep_id,
            trial=t.index,
        )
        runs[t.index] = rid
        if status == "running":
            continue
        if status == "failed":
            error = "IPC 500 is larger than class '0' of mnist-5k, which has 400 training images; use --ipc 400 or less"
            store.set_status(rid, "failed", error=error)
            continue
        acc = (0.6 if t.method == "dm" else 0.4) + 0.1 * t.params["ipc"] + 0.01 * t.seed
        acc += 0.05 if t.params.get("lr_img") == 1 else 0.0
        store.add_eval(
            rid,
            {
                "iteration": c["iterations"],
                "net": "convnet-3",
                "acc_mean": acc,
                "acc_std": 0.0,
                "n_models": 1,
                "epochs": 5,
                "protocol": "custom",
                "random_acc_mean": 0.4 + 0.1 * t.params["ipc"],
            },
        )
        store.set_status(rid, status)
    if finished:
        store.set_status(driver, "done")
        set_sweep_status(store, sweep_id, "done")
    return sweep_id, runs


def test_a_running_sweep_shows_its_live_trials_and_stop_asks_its_driver_to_stop(no_worker, store):
    sweep_id, runs = recorded_sweep(store, {0: "done", 1: "running", 2: "failed"})
    at = sweep_app(sweep_id)
    assert [p.proto.text for p in at.get("progress")] == [
        "2 / 8 trials finished (1 done, 1 failed, 1 running, 5 queued)"
    ]
    table = at.dataframe[1].value
    assert list(table["status"][:4]) == ["✓ done", "▸ running", "✗ failed", "… queued"]
    assert "set Images per class (IPC) to 400 or less" in table["error"][2] and "--ipc" not in table["error"][2]
    assert pd.isna(table["run"][3])  # no run yet: no link
    stop = at.button(key=f"sweep.stop.{sweep_id}")
    assert not stop.disabled and at.button(key=f"sweep.resume.{sweep_id}").disabled
    stop.click().run()
    assert not at.exception
    (driver,) = driver_runs(store, sweep_id)
    assert driver["cancel_requested"] and driver["status"] == "running"  # the driver stops its trials itself
    assert get_sweep(store, sweep_id)["status"] == "running"
    assert (
        at.button(key=f"sweep.stop.{sweep_id}").label == "Stopping…"
        and at.button(key=f"sweep.stop.{sweep_id}").disabled
    )


def test_a_finished_sweep_shows_its_trials_results_and_best_configuration(no_worker, store):
    sweep_id, runs = recorded_sweep(store)
    at = sweep_app(sweep_id)
    assert not texts(at.error), texts(at.error)
    table = at.dataframe[1].value  # after the form's preview
    assert len(table) == 8 and set(table["status"]) == {"✓ done"}
    assert list(table["accuracy (%)"][:4]) == pytest.approx([70, 71, 80, 81])
    assert list(table["random real (%)"][:4]) == pytest.approx([50, 50, 60, 60])
    assert set(table["run"]) == {f"distill?run={r}" for r in runs.values()}
    best = runs[1]  # DM, IPC 1, seed 1: the best seed of DM's best configuration
    # each method's best configuration by gain over random real (DM gains +20.5 points at both IPCs: the first
    # of equals stays), random real's own row at IPC 1
    md = texts(at.markdown)
    assert "**DM** · IPC 1: **70.50 ± 0.50 %** over 2 seeds · random real 50.00 % (+20.50 points)" in md
    assert "**random real** · IPC 1: **50.50 ± 0.50 %** over 2 seeds · random real 50.00 % (+0.50 points)" in md
    assert [p.proto.text for p in at.get("progress")] == ["8 / 8 trials finished (8 done)"]
    assert at.button(key=f"sweep.stop.{sweep_id}").disabled and at.button(key=f"sweep.resume.{sweep_id}").disabled
    links = [p.proto for p in at.get("page_link")]
    assert any(f"run={best}" in (link.query_string or "") for link in links), links
    assert any(link.page == "compare" and link.query_string == f"sweep={sweep_id}" for link in links), links
    # Table 1: methods × IPC, mean ± std over the seeds, random real beside, the seeds counted; no heatmap (one key)
    table1 = at.dataframe[2].value
    assert list(table1["method"]) == ["DM", "random real"]
    assert list(table1["IPC 1 (%)"]) == ["70.50 ± 0.50 · 2 seeds", "50.50 ± 0.50 · 2 seeds"]
    assert list(table1["IPC 2 random real (%)"]) == ["60.00", "60.00"]  # one shared reference, its spread unknown
    assert "mean ± std over seeds" in texts(at.caption)
    assert not at.get("plotly_chart")
    assert not FLAG.search(all_text(at))


def test_a_sweep_over_two_grid_keys_shows_their_heatmap_and_each_cells_best_configuration(no_worker, store):
    argv = ["--method", "dm", "--grid", "ipc=1,2", "--grid", "lr_img=0.1,1", "--seeds", "0,1"]
    sweep_id, _ = recorded_sweep(store, argv=argv)
    at = sweep_app(sweep_id)
    assert not at.exception and not texts(at.error), texts(at.error)
    assert at.selectbox(key=f"sweep.hm.method.{sweep_id}").options == ["DM"]
    assert at.selectbox(key=f"sweep.hm.x.{sweep_id}.dm").value == "ipc"
    assert at.selectbox(key=f"sweep.hm.y.{sweep_id}.dm.ipc").value == "lr_img"
    (chart,) = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    (trace,) = spec["data"]
    assert trace["type"] == "heatmap" and trace["x"] == ["1", "2"] and trace["y"] == ["0.1", "1.0"]
    assert trace["z"] == [pytest.approx([70.5, 80.5]), pytest.approx([75.5, 85.5])]  # mean over seeds 0, 1
    assert spec["layout"]["xaxis"]["title"]["text"] == "IPC"
    assert spec["layout"]["yaxis"]["title"]["text"] == "Image learning rate"
    # Table 1: each IPC's best configuration, named in the form's words
    table1 = at.dataframe[2].value
    assert list(table1["IPC 2 (%)"]) == ["85.50 ± 0.50 · 2 seeds"]
    assert list(table1["IPC 2 best config"]) == ["Image learning rate 1.0"]
    # the axes swap
    at.selectbox(key=f"sweep.hm.x.{sweep_id}.dm").set_value("lr_img").run()
    trace = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert trace["x"] == ["0.1", "1.0"] and trace["y"] == ["1", "2"]


def test_load_into_distill_fills_the_distill_form(no_worker, store):
    sweep_id, runs = recorded_sweep(store)
    at = sweep_app(sweep_id)
    at.button(key=f"sweep.load.{sweep_id}.dm").click().run()
    assert not at.exception
    sb = at.sidebar
    assert sb.selectbox(key="distill.method").value == "dm"
    assert sb.selectbox(key="distill.preset").value == "none"
    assert sb.number_input(key="distill.dm.ipc").value == 1  # DM's best configuration, its best seed
    assert sb.number_input(key="distill.dm.seed").value == 1
    assert sb.number_input(key="distill.iterations").value == 10
    assert sb.number_input(key="distill.eval_models.quick").value == 1
    assert sb.number_input(key="distill.eval_epochs.quick").value == 5
    assert f"run #{runs[1]}" in texts(at.success)
    assert not sb.button(key="distill.start").disabled, texts(sb.error)
