"""The Distill page teaches: the headline (distilled set · random real with the gain · whole dataset) after a run,
"1 model (no spread)" with one evaluation model, and an ETA that includes the evaluation still ahead."""

from __future__ import annotations

import pytest

from dd_core.runs.worker import submit
from dd_core.ui.fmt import headline_text, last_eval
from tests import app_support
from tests.app_support import all_text, app, finish_queued, tiny_run

clean_streamlit = app_support.clean_streamlit  # fixture

pytestmark = pytest.mark.usefixtures("one_thread")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_headline_shows_the_three_numbers_after_a_tiny_run(tiny_fashion, store):
    base = store.create_run("baseline", {"dataset_options": {}}, dataset="fashion-mnist", status="running")
    store.set_status(base, "done", summary={"net": "convnet-2", "epochs": 20, "test_acc": 0.97})
    run_id = submit(store, tiny_run("dm"), start_worker=False)
    finish_queued(store)
    at = app("pages/distill.py", run=run_id)
    shown = metrics(at)
    ev = store.evals(run_id)[0]
    assert ev["random_acc_mean"] is not None
    assert shown["DM · IPC 1 · ConvNet-2"] == f"{100 * ev['acc_mean']:.1f} %"
    assert shown["random real · IPC 1"] == f"{100 * ev['random_acc_mean']:.1f} %"
    assert shown["whole dataset · 20 epochs"] == "97.0 %"
    assert "1 model (no spread)" in all_text(at) and "± 0.00" not in all_text(at)


def test_eta_includes_the_pending_evaluation(tiny_fashion, store):
    run_id = submit(store, tiny_run("dm", iterations=4), start_worker=False)
    assert store.claim_next_queued("cpu") is not None
    store.record_steps(run_id, [(4, {"loss": 1.0, "seconds": 2.0, "it_per_s": 2.0})], iteration=4, seconds=2.0)
    store.set_progress(
        run_id,
        "setup",
        {"phase": "setup", "step": "done", "final": True, "plan": {"eval_at": [4], "eval_seconds": 90.0}},
    )
    at = app("pages/distill.py", run=run_id)
    bars = [p.proto.text for p in at.get("progress")]
    text = next(t for t in bars if "iteration 4 / 4" in t)
    assert "ETA" in text and "evaluation included" in text and "ETA 0.0 s" not in text, text


def test_change_view_shows_what_moved(tiny_fashion, store):
    from dd_core.ui.images import change_images, change_png, load_set

    run_id = submit(store, tiny_run("dm", init="noise", iterations=4), start_worker=False)
    finish_queued(store)
    snaps = store.snapshots(run_id)
    first, last = load_set(snaps[0]["abs_path"]), load_set(snaps[-1]["abs_path"])
    change = change_images(first, last)
    assert change.shape[1] == 1 and float(change.max()) == pytest.approx(1.0) and float(change.min()) >= 0.0
    png = change_png(snaps[0]["abs_path"], snaps[-1]["abs_path"], 0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at = app("pages/distill.py", run=run_id)  # the page draws the images view by default, the toggle beside it
    assert not at.exception and "change since iteration 0" in str(at)
    at.segmented_control(key=f"view-{run_id}").set_value("change since iteration 0").run()
    assert not at.exception
    captions = [img.caption for i in at.image for img in i.proto.imgs]
    assert any(f"|S_{snaps[-1]['iteration']} − S_0|" in c for c in captions), captions


def test_headline_text_reads_like_the_issue():
    rec = {
        "net": "convnet-3",
        "acc_mean": 0.864,
        "random_acc_mean": 0.612,
        "gain_over_random": 0.864 - 0.612,
        "whole_acc": 0.989,
        "whole_epochs": 20,
        "gap_closed": (0.864 - 0.612) / (0.989 - 0.612),
    }
    assert headline_text(rec, method="dm", ipc=1) == (
        "DM IPC 1 ConvNet-3: 86.4 % · random real 61.2 % (+25.2 points) · whole dataset 98.9 % (20 epochs; 67 % "
        "of the gap closed)"
    )
    old = {"net": "convnet-3", "acc_mean": 0.5}  # a run from before the reference: accuracy alone
    assert headline_text(old, method="dm", ipc=1) == "DM IPC 1 ConvNet-3: 50.0 % · random real: not measured"
    off = {**old, "random_acc_mean": None, "reference_error": "turned off (--no-reference)"}
    assert headline_text(off) == "ConvNet-3: 50.0 % · random real: turned off (--no-reference)"


def test_last_eval_is_the_last_not_the_best():
    evals = [
        {"iteration": 2, "net": "convnet-2", "acc_mean": 0.9},
        {"iteration": 4, "net": "mlp", "acc_mean": 0.4},
        {"iteration": 4, "net": "convnet-2", "acc_mean": 0.5},
    ]
    assert last_eval(evals, "convnet-2") == evals[2]
    assert last_eval(evals) == evals[1] and last_eval([]) is None


def test_old_run_without_reference_or_plan(tiny_fashion, store):
    """A run from before the reference: accuracy alone, 'not measured'; no plan: the ETA from iterations only."""
    cfg = tiny_run("dm", iterations=8, eval_at=[4, 8]).to_dict()
    old = store.create_run("distill", cfg, method="dm", dataset="fashion-mnist", ipc=1, status="running")
    for it, acc in ((4, 0.9), (8, 0.5)):
        store.add_eval(old, {"iteration": it, "net": "convnet-2", "acc_mean": acc, "acc_std": 0.0, "n_models": 1})
    store.set_status(old, "done")
    at = app("pages/distill.py", run=old)
    assert not at.exception
    shown = metrics(at)
    assert shown["DM · IPC 1 · ConvNet-2"] == "50.0 %"  # the last set, never the best
    assert shown["random real · IPC 1"] == "not measured"
    assert "DM IPC 1 ConvNet-2: 50.0 % · random real: not measured" in all_text(at)
    running = submit(store, tiny_run("dm", iterations=4), start_worker=False)
    assert store.claim_next_queued("cpu") is not None
    store.record_steps(running, [(2, {"loss": 1.0, "seconds": 1.0, "it_per_s": 2.0})], iteration=2, seconds=1.0)
    at = app("pages/distill.py", run=running)
    text = next(p.proto.text for p in at.get("progress") if "iteration 2 / 4" in p.proto.text)
    assert "ETA 1.0 s" in text and "evaluation included" not in text, text


def test_the_reference_checkbox_sets_run_config_reference(tiny_fashion, store, monkeypatch):
    from dd_core.runs import worker as worker_mod
    from dd_core.ui.helptext import HELP, LABELS
    from tests.test_app_distill import configure_tiny

    monkeypatch.setattr(worker_mod, "ensure_worker", lambda *a, **k: None)  # queued only: no worker process
    at = app("pages/distill.py")
    configure_tiny(at, "dm")
    box = at.sidebar.checkbox(key="distill.reference")
    assert box.value is True and box.label == LABELS["reference"] and box.help == HELP["reference"]
    box.uncheck().run()
    at.sidebar.button(key="distill.start").click().run()
    assert not at.exception
    (run,) = store.list_runs(kind="distill", limit=None)
    assert run["config"]["reference"] is False
