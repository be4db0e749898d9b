"""Distill page (AppTest): the form with its defaults and UI labels, IPC bounded by the dataset's smallest class,
every invalid field refused at once next to its field in UI words (engine fields and flags translated), a real run
in the background worker from two 'tabs' at once (both queued, both finish), and the live view (loss curve, gallery,
accuracy) after a rerun; failed / interrupted runs show their message; Stop and Delete apart, Delete confirmed."""

from __future__ import annotations

import os
import re

import pytest

from dd_core.errors import ConfigError
from dd_core.methods import METHODS
from dd_core.ui.helptext import LABELS
from tests import app_support
from tests.app_support import all_text, ancestors, app, element_types, error_under, query_run, texts, wait_for, widgets

clean_streamlit, workers = app_support.clean_streamlit, app_support.workers  # fixtures

PAGE = "pages/distill.py"


def configure_tiny(at, method: str) -> None:
    sb = at.sidebar
    sb.selectbox(key="distill.dataset").set_value("fashion-mnist")
    sb.selectbox(key="distill.method").set_value(method)
    at.run()
    sb = at.sidebar
    sb.number_input(key=f"distill.{method}.ipc").set_value(1)
    sb.selectbox(key=f"distill.{method}.net").set_value("convnet-2")
    sb.number_input(key="distill.iterations").set_value(4)
    sb.number_input(key=f"distill.{method}.batch_real").set_value(8)
    sb.text_input(key="distill.eval_at").set_value("0,4")
    sb.number_input(key="distill.eval_epochs.quick").set_value(3)
    sb.number_input(key="distill.eval_models.quick").set_value(1)
    at.run()


def test_form_has_every_option_with_defaults(tmp_path):
    at = app(PAGE)
    assert not at.exception
    sb = at.sidebar
    assert sb.selectbox(key="distill.dataset").value == "mnist-5k"
    assert sb.selectbox(key="distill.method").value == "dm"
    assert sb.number_input(key="distill.dm.ipc").value == 1  # cpu-demo: IPC 1 from noise
    assert sb.selectbox(key="distill.dm.init").value == "noise"
    assert sb.selectbox(key="distill.dm.net").value == "auto"
    assert sb.number_input(key="distill.dm.lr_img").value == 1.0
    assert sb.number_input(key="distill.dm.momentum").value == 0.5
    assert sb.selectbox(key="distill.preset").value == "cpu-demo"  # CPU default preset
    assert sb.number_input(key="distill.dm.batch_real").value == 64  # from cpu-demo
    assert sb.checkbox(key="distill.dm.dsa").value is True
    assert sb.number_input(key="distill.iterations").value == 200  # cpu-demo
    assert sb.text_input(key="distill.eval_at").value == "final"
    assert sb.selectbox(key="distill.protocol").value == "quick"  # CPU default protocol
    assert sb.number_input(key="distill.eval_epochs.quick").value == 150  # cpu-demo: 1 model x 150 epochs
    assert sb.number_input(key="distill.eval_models.quick").value == 1
    assert sb.button(key="distill.start").disabled is False
    # no preset: each method's own defaults; an edited field is reset by a preset change, the dataset is kept
    sb.selectbox(key="distill.dataset").set_value("fashion-mnist")
    sb.number_input(key="distill.dm.lr_img").set_value(3.0)
    sb.selectbox(key="distill.preset").set_value("none")
    at.run()
    sb = at.sidebar
    assert sb.selectbox(key="distill.dataset").value == "fashion-mnist"
    assert sb.number_input(key="distill.dm.lr_img").value == 1.0
    assert sb.number_input(key="distill.dm.batch_real").value == 256
    assert sb.number_input(key="distill.iterations").value == 200
    assert sb.number_input(key="distill.eval_epochs.quick").value == 300
    assert sb.number_input(key="distill.eval_models.quick").value == 2
    sb.selectbox(key="distill.preset").set_value("cpu-demo")
    at.run()
    sb = at.sidebar
    assert sb.number_input(key="distill.dm.batch_real").value == 64
    # AM's own hyper-parameters, generated from AMConfig, with their help texts
    sb.selectbox(key="distill.method").set_value("am")
    at.run()
    sb = at.sidebar
    assert sb.number_input(key="distill.am.power").value == 1.0
    assert "p = 4" in sb.number_input(key="distill.am.power").help
    assert sb.number_input(key="distill.am.task_balance").value == 0.01
    assert sb.number_input(key="distill.am.loss_weight").value == 100.0
    assert sb.number_input(key="distill.am.batch_real").value == 64
    assert "instance norm" in texts(at.caption)


def test_invalid_input_is_refused_next_to_the_field():
    at = app(PAGE)
    at.sidebar.number_input(key="distill.dm.lr_img").set_value(-1.0)
    at.sidebar.text_input(key="distill.eval_at").set_value("0,5000")
    at.run()
    assert "Image learning rate must be > 0" in error_under(at, "distill.dm.lr_img")
    assert "outside the run" in error_under(at, "distill.eval_at")
    assert at.sidebar.button(key="distill.start").disabled
    assert not at.exception
    # a ConvNet too deep for 28 px
    at.sidebar.text_input(key="distill.eval_at").set_value("final")
    at.sidebar.number_input(key="distill.dm.lr_img").set_value(1.0)
    at.sidebar.selectbox(key="distill.dm.net").set_value("convnet-8")
    at.run()
    assert "too deep" in error_under(at, "distill.dm.net")


CODE_NAME = re.compile(r"\b(?:lr_img|batch_real|lr_lr|lr_y|momentum_img|[a-z]+_[a-z_]*epoch[a-z_]*|n_models)\b")
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def test_ipc_is_capped_by_the_smallest_class_and_refused_next_to_the_field(store):
    at = app(PAGE)
    ipc = at.sidebar.number_input(key="distill.dm.ipc")
    assert ipc.max == 400 and ipc.value == 1  # the cpu-demo preset; mnist-5k: 400 training images per class
    assert ipc.label == LABELS["ipc"]
    ipc.set_value(100000).run()
    message = error_under(at, "distill.dm.ipc")
    assert "400 or less" in message and "mnist-5k" in message and LABELS["ipc"] in message
    assert not FLAG.search(message)
    assert at.sidebar.button(key="distill.start").disabled  # refused before anything is queued
    assert store.list_runs() == [] and query_run(at) is None
    # within the bound: accepted; another dataset has its own bound
    at.sidebar.number_input(key="distill.dm.ipc").set_value(400).run()
    assert not error_under(at, "distill.dm.ipc") and not at.sidebar.button(key="distill.start").disabled
    at.sidebar.selectbox(key="distill.dataset").set_value("cifar10").run()
    assert at.sidebar.number_input(key="distill.dm.ipc").max == 5000
    assert at.sidebar.number_input(key="distill.dm.ipc").value == 400
    assert not at.exception


def test_every_error_of_the_form_is_shown_under_its_field_at_once():
    at = app(PAGE)
    sb = at.sidebar
    sb.number_input(key="distill.dm.lr_img").set_value(-1.0)
    sb.number_input(key="distill.dm.momentum").set_value(2.0)
    sb.number_input(key="distill.dm.batch_real").set_value(0)
    sb.number_input(key="distill.eval_epochs.quick").set_value(0)
    sb.number_input(key="distill.eval_models.quick").set_value(0)
    at.run()
    expected = {
        "distill.dm.lr_img": f"{LABELS['lr_img']} must be > 0",
        "distill.dm.momentum": f"{LABELS['momentum']} must be in [0, 1)",
        "distill.dm.batch_real": f"{LABELS['batch_real']} must be > 0",
        "distill.eval_epochs.quick": f"{LABELS['eval_epochs']} must be > 0",
        "distill.eval_models.quick": f"{LABELS['eval_models']} must be > 0",
    }
    for key, text in expected.items():
        assert text in error_under(at, key), (key, texts(at.sidebar.error))
    assert len(at.sidebar.error) == len(expected)  # each once, none repeated under Start
    assert at.sidebar.button(key="distill.start").disabled
    errors = texts(at.sidebar.error)
    assert not CODE_NAME.search(errors) and not FLAG.search(errors), errors
    # the iterations field: its own error; fixed fields lose theirs
    sb = at.sidebar
    sb.number_input(key="distill.dm.lr_img").set_value(1.0)
    sb.number_input(key="distill.iterations").set_value(-5)
    at.run()
    assert "iterations must be a whole number" in error_under(at, "distill.iterations").lower()
    assert not error_under(at, "distill.dm.lr_img")


def test_pad_preset_passes_and_a_combination_error_sits_under_a_field_it_names():
    at = app(PAGE)
    at.sidebar.selectbox(key="distill.method").set_value("pad").run()
    # cpu-demo's PAD settings are valid together (each alone against the defaults would not be)
    assert not texts(at.sidebar.error), texts(at.sidebar.error)
    assert not at.sidebar.button(key="distill.start").disabled
    at.sidebar.number_input(key="distill.pad.current_max_start_epoch").set_value(30)
    at.sidebar.number_input(key="distill.pad.lr_y").set_value(-2.0)
    at.run()
    window = error_under(at, "distill.pad.current_max_start_epoch")
    assert LABELS["max_start_epoch"] in window and "got 0, 30, 3" in window, texts(at.sidebar.error)
    assert f"{LABELS['lr_y']} must be > 0" in error_under(at, "distill.pad.lr_y")
    errors = texts(at.sidebar.error)
    assert not CODE_NAME.search(errors), errors
    assert at.sidebar.button(key="distill.start").disabled


def test_an_engine_error_goes_under_the_widget_of_its_field(monkeypatch):
    """ConfigError.field names the widget (even for an error that only a combination raises); without a field the
    message's own words do; CLI flags in the message become UI words."""
    cls = METHODS["dm"].config_cls
    original = cls.validate

    def validate(self):
        original(self)
        if self.batch_real == 7 and self.lr_img > 5:
            raise ConfigError("this step is too large for so few real images; use --lr-img 5 or less", field="lr_img")
        if self.batch_real == 9:
            raise ConfigError("batch_real 9 is unlucky; use --batch-real 8")

    monkeypatch.setattr(cls, "validate", validate)
    at = app(PAGE)
    at.sidebar.number_input(key="distill.dm.batch_real").set_value(7)
    at.sidebar.number_input(key="distill.dm.lr_img").set_value(10.0)
    at.run()
    message = error_under(at, "distill.dm.lr_img")
    assert message == f"this step is too large for so few real images; set {LABELS['lr_img']} to 5 or less"
    assert not error_under(at, "distill.dm.batch_real")
    at.sidebar.number_input(key="distill.dm.batch_real").set_value(9)
    at.run()
    message = error_under(at, "distill.dm.batch_real")
    assert message == f"{LABELS['batch_real']} 9 is unlucky; set {LABELS['batch_real']} to 8"
    assert at.sidebar.button(key="distill.start").disabled


@pytest.mark.parametrize("method", list(METHODS))
def test_form_labels_are_ui_words_and_help_names_no_code(method):
    at = app(PAGE)
    at.sidebar.selectbox(key="distill.method").set_value(method).run()
    assert not at.exception
    fields = METHODS[method].config_cls.fields()
    for w in widgets(at):
        name = w.key.split(".")[-1]
        if w.key == f"distill.{method}.{name}" and name in fields:
            assert w.label == LABELS[name], (w.key, w.label)
    text = all_text(at)
    assert not CODE_NAME.search(text), CODE_NAME.search(text)
    assert not FLAG.search(text), FLAG.search(text)


def test_mhist_path_that_is_not_mhist_says_what_is_missing(tmp_path):
    at = app(PAGE)
    at.sidebar.selectbox(key="distill.dataset").set_value("mhist")
    at.run()
    assert "DD_MHIST_DIR" in texts(at.sidebar.error)  # the fix
    (tmp_path / "notmhist").mkdir()
    at.sidebar.text_input(key="distill.path.mhist.path").set_value(str(tmp_path / "notmhist"))
    at.run()
    assert "no annotations.csv" in texts(at.sidebar.error)
    assert at.sidebar.button(key="distill.start").disabled
    # remembered for the next session
    at2 = app(PAGE)
    at2.sidebar.selectbox(key="distill.dataset").set_value("mhist")
    at2.run()
    assert at2.sidebar.text_input(key="distill.path.mhist.path").value == str(tmp_path / "notmhist")


def test_two_tabs_start_runs_both_queued_both_finish_and_the_page_shows_them(tiny_fashion, workers, store):
    tab1, tab2 = app(PAGE), app(PAGE)
    configure_tiny(tab1, "dm")
    configure_tiny(tab2, "am")
    assert not texts(tab1.sidebar.error) and not texts(tab2.sidebar.error)
    # the form shows the protocol the run will record (the overrides make it 'custom', not 'quick')
    assert "Recorded as **custom · 3 ep × 1 model**" in texts(tab1.sidebar.caption)
    tab1.sidebar.button(key="distill.start").click().run()
    tab2.sidebar.button(key="distill.start").click().run()
    a, b = query_run(tab1), query_run(tab2)
    assert a and b and a != b
    assert store.get_run(a)["status"] in ("queued", "running") and store.get_run(b)["status"] in ("queued", "running")
    tab2.run()
    assert "Queued" in texts(tab2.info) or store.get_run(b)["status"] != "queued"
    ra = wait_for(store, a)
    rb = wait_for(store, b)
    assert ra["status"] == "done", ra["error"]
    assert rb["status"] == "done", rb["error"]
    assert ra["started_at"] <= rb["started_at"]  # one at a time, in order
    assert ra["finished_at"] <= rb["started_at"] + 1e-6
    # reattach after a 'refresh': a new session with the run id in the URL shows the finished run
    page = app(PAGE, run=b)
    assert not page.exception and not texts(page.error)
    kinds = element_types(page)
    assert kinds.count("plotly_chart") >= 2  # loss curve + accuracy vs iteration
    assert len(page.image) >= 1  # latest snapshot gallery
    assert all(img.url.endswith(".png") for i in page.image for img in i.proto.imgs)  # lossless, not re-encoded
    evals_table = page.table[0].value
    assert set(evals_table["iteration"]) == {0, 4} and "ConvNet-2" in set(evals_table["net"])
    # one evaluation model: it says so, never '± 0.00'
    assert all("1 model (no spread)" in a and "±" not in a for a in evals_table["accuracy (%)"])
    evals = store.evals(b)
    assert {e["iteration"] for e in evals} == {0, 4}
    assert all(0 <= e["acc_mean"] <= 1 for e in evals)
    progress = [p.proto.text for p in page.get("progress")]
    assert any("iteration 4 / 4" in t and "it/s" in t for t in progress), progress
    # the AM loss has its two parts
    rows = store.metrics(b)
    assert {"loss", "loss_attention", "loss_embedding"} <= set(rows[-1])


def test_failed_and_interrupted_runs_show_their_message(store):
    rid = store.create_run(
        "distill",
        {"method": "dm", "dataset": "mnist-5k", "method_options": {}},
        method="dm",
        dataset="mnist-5k",
        ipc=1,
        total_iterations=10,
        status="running",
    )
    store.set_status(rid, "failed", error="DatasetError: fashion-mnist: train-images truncated")
    at = app(PAGE, run=rid)
    assert "train-images truncated" in texts(at.error)
    assert not at.exception
    # switching pages (the URL loses ?run=) and coming back shows the same run
    at.switch_page("pages/gallery.py").run()
    del at.query_params["run"]
    at.switch_page(PAGE).run()
    assert at.subheader[0].value.startswith(f"#{rid} ") and "train-images truncated" in texts(at.error)
    rid2 = store.create_run(
        "distill",
        {"method": "dm", "dataset": "mnist-5k", "method_options": {}},
        method="dm",
        dataset="mnist-5k",
        ipc=1,
        total_iterations=10,
        status="running",
        pid=999_999_999,
    )
    store.reap()
    at = app(PAGE, run=rid2)
    assert "interrupted" in texts(at.warning).lower()


def finished_run(store, status: str = "done", **kw) -> int:
    """A DM run on mnist-5k recorded as finished (nothing executed)."""
    rid = store.create_run(
        "distill",
        {"method": "dm", "dataset": "mnist-5k", "method_options": {}},
        method="dm",
        dataset="mnist-5k",
        ipc=kw.pop("ipc", 1),
        total_iterations=10,
        status="running",
        pid=os.getpid(),
    )
    if status != "running":
        store.set_status(rid, status, **kw)
    return rid


def test_a_run_the_engine_refused_shows_its_message_in_ui_words(store):
    rid = finished_run(
        store,
        "failed",
        ipc=500,
        error="IPC 500 is larger than class '0' of mnist-5k, which has 400 training images; use --ipc 400 or less",
    )
    at = app(PAGE, run=rid)
    shown = texts(at.error)
    assert f"set {LABELS['ipc']} to 400 or less" in shown, shown
    assert "--ipc" not in shown and not FLAG.search(shown)
    at = app("pages/gallery.py", run=rid)
    assert "--ipc" not in texts(at.warning) and LABELS["ipc"] in texts(at.warning)


def test_stop_and_delete_never_share_a_place(store):
    rid = finished_run(store, "running")
    at = app(PAGE, run=rid)
    stop_at = ancestors(at, f"live-stop-{rid}")
    assert not any(b.type == "expander" for b in stop_at)  # Stop: in the run's header
    assert not [w for w in widgets(at, "button") if w.key.startswith("live-del")]  # no Delete while it runs
    store.request_cancel(rid)
    store.set_status(rid, "cancelled")
    at = app(PAGE, run=rid)
    assert not [w for w in widgets(at, "button") if w.key.startswith("live-stop")]
    holders = ancestors(at, f"live-del-{rid}")
    assert any(b.type == "expander" and "Danger zone" in b.label for b in holders)  # Delete: elsewhere
    header = stop_at[-1]  # the column Stop was drawn in holds no button now
    same = [n for n, path in app_support._walk(at._tree) if path and path[-1].proto == header.proto]
    assert not [n for n in same if getattr(n, "type", "") == "button"]


def test_delete_asks_for_confirmation_naming_the_run_and_then_picks_no_other_run(store):
    other = finished_run(store)
    rid = finished_run(store, ipc=7)
    at = app(PAGE, run=rid)
    at.button(key=f"live-del-{rid}").click().run()
    assert store.get_run(rid) is not None  # not yet: a dialog asks first
    dialog = [b for b in ancestors(at, f"live-del-yes-{rid}") if b.type == "dialog"]
    assert dialog, "the confirmation is a dialog"
    assert f"#{rid} DM · mnist-5k · IPC 7" in texts(at.markdown)
    # Cancel keeps it
    at.button(key=f"live-del-no-{rid}").click().run()
    assert store.get_run(rid) is not None and not [w for w in widgets(at) if w.key.startswith("live-del-yes")]
    # Delete
    at.button(key=f"live-del-{rid}").click().run()
    at.button(key=f"live-del-yes-{rid}").click().run()
    assert not at.exception
    assert store.get_run(rid) is None and store.get_run(other) is not None
    assert query_run(at) is None
    assert f"Run #{rid} deleted" in texts(at.toast) and f"Run #{rid} deleted" in texts(at.success)
    # no other run is picked for the user: no run panel, no Delete button of another run
    assert not [w for w in widgets(at, "button") if w.key.startswith("live-")]
    assert at.selectbox(key="distill.watch.None").value is None
    at.run()
    assert query_run(at) is None and not [w for w in widgets(at, "button") if w.key.startswith("live-")]
    # an explicit pick watches a run again
    at.selectbox(key="distill.watch.None").set_value(other).run()
    assert query_run(at) == other and at.button(key=f"live-del-{other}")


def test_the_start_up_is_named_not_shown_as_iteration_0(store):
    """Before the first iteration (data loading, the chunk-size measurement, PAD's experts) the page names the
    start-up step instead of reading 'iteration 0 / N' (the issue-10 complaint); once steps arrive, the bar counts."""
    rid = store.create_run(
        "distill",
        {"method": "dm", "dataset": "mnist-5k", "method_options": {}},
        method="dm",
        dataset="mnist-5k",
        ipc=1,
        total_iterations=100,
        status="running",
        source="cli",
    )
    step = "measuring the fastest real-batch chunk size"
    store.set_progress(rid, "setup", {"type": "progress", "phase": "setup", "step": step})
    at = app(PAGE, run=rid)
    assert not at.exception
    bars = [p.proto.text for p in at.get("progress")]
    assert any(f"start-up: {step}" in t for t in bars) and not any("iteration 0 / 100" in t for t in bars), bars
    store.set_progress(rid, "setup", {"type": "progress", "phase": "setup", "step": "done", "final": True})
    store.record_steps(rid, [(1, {"loss": 1.0, "it_per_s": 2.0})])
    at = app(PAGE, run=rid)
    bars = [p.proto.text for p in at.get("progress")]
    assert any("iteration 1 / 100" in t for t in bars) and not any("start-up" in t for t in bars), bars
