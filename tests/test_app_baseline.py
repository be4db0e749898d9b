"""Baseline page (AppTest): the seed's defaults, FLOPs, invalid input refused, a whole-dataset run as a job with
its per-epoch curve and final accuracy (and the Compare page's reference row)."""

from __future__ import annotations

import os

import pytest

from dd_core.ui.helptext import BASELINE_LABELS as L
from tests import app_support
from tests.app_support import ancestors, app, element_types, error_under, finish_queued, query_run, texts, widgets

clean_streamlit = app_support.clean_streamlit  # fixture

PAGE = "pages/baseline.py"


def test_defaults_are_the_seeds_and_flops_are_shown():
    at = app(PAGE)
    assert not at.exception
    sb = at.sidebar
    assert sb.selectbox(key="baseline.dataset").value == "mnist-5k"
    assert sb.selectbox(key="baseline.net.mnist-5k").value == "convnet-3"
    assert sb.number_input(key="baseline.epochs").value == 20
    assert sb.number_input(key="baseline.lr").value == 0.01
    assert sb.number_input(key="baseline.momentum").value == 0.9
    assert sb.number_input(key="baseline.batch").value == 256
    assert sb.checkbox(key="baseline.dsa").value is False
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["convnet-3 forward FLOPs / image"] == "49.2 MFLOPs"


def test_invalid_values_are_refused():
    at = app(PAGE)
    at.sidebar.number_input(key="baseline.momentum").set_value(1.5).run()
    assert "Momentum must be in [0, 1)" in error_under(at, "baseline.momentum")
    assert at.sidebar.button(key="baseline.start").disabled


def test_every_error_is_shown_under_its_field_at_once():
    at = app(PAGE)
    sb = at.sidebar
    sb.number_input(key="baseline.momentum").set_value(1.5)
    sb.number_input(key="baseline.lr").set_value(-1.0)
    sb.number_input(key="baseline.batch").set_value(0)
    sb.number_input(key="baseline.epochs").set_value(0)
    sb.number_input(key="baseline.wd").set_value(-0.1)
    at.run()
    expected = {
        "baseline.epochs": f"{L['epochs']} must be > 0",
        "baseline.lr": f"{L['lr']} must be > 0",
        "baseline.momentum": f"{L['momentum']} must be in [0, 1)",
        "baseline.wd": f"{L['weight_decay']} must be >= 0",
        "baseline.batch": f"{L['batch_size']} must be > 0",
    }
    for key, text in expected.items():
        assert text in error_under(at, key), (key, texts(at.sidebar.error))
    assert len(at.sidebar.error) == len(expected)  # each once: nothing repeated under Start
    assert at.sidebar.button(key="baseline.start").disabled
    for key, w in ((k, at.sidebar.number_input(key=k)) for k in expected):
        assert w.label in L.values(), (key, w.label)
    # fixing one field removes its message only
    at.sidebar.number_input(key="baseline.lr").set_value(0.01).run()
    assert not error_under(at, "baseline.lr") and "must be > 0" in error_under(at, "baseline.batch")


@pytest.fixture
def no_launch(monkeypatch):
    from dd_core.runs import worker as worker_mod

    monkeypatch.setattr(worker_mod, "launch_worker", lambda run_id=None: 0)


def test_baseline_job_curve_and_result(tiny_fashion, store, no_launch):
    at = app(PAGE)
    at.sidebar.selectbox(key="baseline.dataset").set_value("fashion-mnist").run()
    at.sidebar.selectbox(key="baseline.net.fashion-mnist").set_value("convnet-2")
    at.sidebar.number_input(key="baseline.epochs").set_value(2)
    at.sidebar.number_input(key="baseline.batch").set_value(64)
    at.run()
    at.sidebar.button(key="baseline.start").click().run()
    rid = query_run(at)
    run = store.get_run(rid)
    assert run["kind"] == "baseline" and run["status"] == "queued"
    assert run["config"]["baseline"]["epochs"] == 2 and run["config"]["baseline"]["lr"] == 0.01
    finish_queued(store)
    run = store.get_run(rid)
    assert run["status"] == "done", run["error"]
    rows = store.metrics(rid)
    assert [r["iteration"] for r in rows] == [1, 2] and {"loss", "test_acc", "lr"} <= set(rows[-1])
    at.run()
    assert not at.exception and not texts(at.error)
    assert "plotly_chart" in element_types(at)
    assert any(m.label == "Final test accuracy" for m in at.metric)
    progress = [p.proto.text for p in at.get("progress")]
    assert any("epoch 2 / 2" in t for t in progress), progress


def test_after_a_delete_the_page_picks_no_other_run(store):
    ids = []
    for _ in range(2):
        rid = store.create_run(
            "baseline",
            {"kind": "baseline", "dataset": "mnist-5k", "baseline": {"net": "convnet-3"}},
            dataset="mnist-5k",
            status="running",
            pid=os.getpid(),
        )
        store.set_status(rid, "done", summary={"test_acc": 0.9, "net": "convnet-3"})
        ids.append(rid)
    older, newer = ids
    at = app(PAGE)
    assert query_run(at) == newer  # arriving without ?run=: the latest baseline is shown
    zone = next(b for b in ancestors(at, f"live-del-{newer}") if b.type == "expander")
    assert "Danger zone" in zone.label and not zone.proto.expanded  # Delete: collapsed, away from Stop
    at.button(key=f"live-del-{newer}").click().run()
    assert f"#{newer} whole mnist-5k · ConvNet-3" in texts(at.markdown)
    at.button(key=f"live-del-yes-{newer}").click().run()
    assert store.get_run(newer) is None and store.get_run(older) is not None
    assert query_run(at) is None and f"Run #{newer} deleted" in texts(at.success)
    assert not [w for w in widgets(at, "button") if w.key.startswith("live-")]  # not on the other run's Delete
    at.run()
    assert query_run(at) is None and not [w for w in widgets(at, "button") if w.key.startswith("live-")]
