"""The Distill page teaches: the headline (distilled set · random real with the gain · whole dataset) after a run,
"1 model (no spread)" with one evaluation model, and an ETA that includes the evaluation still ahead."""

from __future__ import annotations

import pytest

from dd_core.runs.worker import submit
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
