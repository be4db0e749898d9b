"""Distill page (AppTest): the form with its defaults, invalid input refused next to the field, a real run in the
background worker from two 'tabs' at once (both queued, both finish), and the live view (loss curve, gallery,
accuracy) after a rerun; failed / interrupted runs show their message."""

from __future__ import annotations

from tests.app_support import app, clean_streamlit, element_types, query_run, store, texts, wait_for, workers  # noqa: F401,F811 - fixtures

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
    assert sb.number_input(key="distill.dm.ipc").value == 10
    assert sb.selectbox(key="distill.dm.init").value == "real"
    assert sb.selectbox(key="distill.dm.net").value == "auto"
    assert sb.number_input(key="distill.dm.lr_img").value == 1.0
    assert sb.number_input(key="distill.dm.momentum").value == 0.5
    assert sb.selectbox(key="distill.preset").value == "cpu-demo"  # CPU default preset
    assert sb.number_input(key="distill.dm.batch_real").value == 64  # from cpu-demo
    assert sb.checkbox(key="distill.dm.dsa").value is True
    assert sb.number_input(key="distill.iterations").value == 100  # cpu-demo
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
    errors = texts(at.sidebar.error)
    assert "lr_img must be > 0" in errors
    assert "outside the run" in errors
    assert at.sidebar.button(key="distill.start").disabled
    assert not at.exception
    # a ConvNet too deep for 28 px
    at.sidebar.text_input(key="distill.eval_at").set_value("final")
    at.sidebar.number_input(key="distill.dm.lr_img").set_value(1.0)
    at.sidebar.selectbox(key="distill.dm.net").set_value("convnet-8")
    at.run()
    assert "too deep" in texts(at.sidebar.error)


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
    assert all("±" in a for a in evals_table["accuracy (%)"])
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
    # the Stop / Delete controls: a finished run can be deleted from the page
    at.button(key=f"live-del-{rid2}").click().run()
    assert store.get_run(rid2) is None
