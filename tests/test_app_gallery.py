"""Gallery page (AppTest): a run's snapshots (slider), init vs final, downloads, AM attention maps; importing a .pt
(valid → saved and evaluable; invalid or pickled → refused with the reason)."""

from __future__ import annotations

import io
import pickle

import pytest
import torch

from dd_core.runs.worker import submit
from tests import app_support
from tests.app_support import app, element_types, enter_world, finish_queued, make_world, texts, tiny_run

clean_streamlit = app_support.clean_streamlit  # fixture

PAGE = "pages/gallery.py"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    def build(w, store):
        w.runs["am"] = submit(store, tiny_run("am", iterations=4, ipc=2, epochs=2), start_worker=False)
        finish_queued(store)

    return make_world(tmp_path_factory, build)


@pytest.fixture
def store(world, monkeypatch):
    s = enter_world(world, monkeypatch)
    yield s
    s.close()


@pytest.fixture
def am_run(world, store):
    run = store.get_run(world.runs["am"])
    assert run["status"] == "done", run["error"]
    return run


def test_run_snapshots_init_final_downloads_and_attention_maps(am_run, store):
    at = app(PAGE, run=am_run["id"])
    assert not at.exception and not texts(at.error), texts(at.error)
    slider = at.select_slider(key=f"gallery.snap.{am_run['id']}")
    snaps = [s["iteration"] for s in store.snapshots(am_run["id"])]
    assert list(slider.options) == [str(i) for i in snaps] and snaps[0] == 0 and snaps[-1] == 4
    assert slider.value == 4
    slider.set_value(0).run()
    assert any("iteration 0" in (i.proto.imgs[0].caption if i.proto.imgs else "") for i in at.image)
    assert len(at.image) >= 3 + 2  # snapshot, init, final, attention tiles (real, synthetic)
    urls = [img.url for i in at.image for img in i.proto.imgs]
    assert urls and all(u.endswith(".png") for u in urls), urls  # sent as our PNG, never re-encoded to JPEG
    labels = [d.label for d in at.get("download_button")]
    assert any("PNG" in x for x in labels) and any(".pt" in x for x in labels)
    assert "Attention maps" in texts(at.markdown)
    assert element_types(at).count("plotly_chart") == 1
    at.selectbox(key=f"gallery.att.class.{am_run['id']}").set_value(3).run()
    assert not at.exception


def test_play_and_download_gif(am_run, store):
    from PIL import Image

    from dd_core.ui.gallery_page import gif_file

    at = app(PAGE, run=am_run["id"])
    assert not at.exception
    gif = next(d for d in at.get("download_button") if d.label == "Download GIF")
    assert not gif.proto.disabled
    at.toggle(key=f"gallery.play.{am_run['id']}").set_value(True).run()
    assert not at.exception and not texts(at.error), texts(at.error)
    urls = [img.url for i in at.image for img in i.proto.imgs]
    assert any(u.endswith(".gif") for u in urls), urls  # the animation, served as a GIF
    snaps = store.snapshots(am_run["id"])
    assert any(f"{len(snaps)} snapshots, one frame each" in img.caption for i in at.image for img in i.proto.imgs)
    data = gif_file(snaps, am_run["total_iterations"])  # what the download hands over
    assert Image.open(io.BytesIO(data)).n_frames == len(snaps)


def test_a_running_run_is_marked_running_and_its_newest_set_is_latest(am_run, store):
    import shutil

    run_id = submit(store, tiny_run("am", iterations=8, ipc=2, epochs=2), start_worker=False)
    assert store.claim_next_queued("cpu")["id"] == run_id  # running, owned by this (living) process
    try:
        folder = store.artifacts_dir(run_id)
        for snap in store.snapshots(am_run["id"])[:2]:
            (folder / snap["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(snap["abs_path"], folder / snap["path"])
            store.add_snapshot(run_id, snap["iteration"], snap["path"])
        store.record_steps(run_id, [(2, {"loss": 1.0, "seconds": 1.0, "it_per_s": 2.0})], iteration=2, seconds=1.0)
        at = app(PAGE, run=run_id)
        assert not at.exception and not texts(at.error), texts(at.error)
        assert "Initial vs latest" in texts(at.markdown) and "Initial vs final" not in texts(at.markdown)
        assert "running" in texts(at.markdown)  # the status badge
        assert "Running: iteration 2 of 8" in texts(at.caption)
        captions = [img.caption for i in at.image for img in i.proto.imgs]
        assert any(c.startswith("latest (iteration") for c in captions), captions
        assert "latest set (.pt)" in [d.label for d in at.get("download_button")]
        at.toggle(key=f"gallery.play.{run_id}").set_value(True).run()  # the animation plays while it runs too
        assert not at.exception
        assert any(img.url.endswith(".gif") for i in at.image for img in i.proto.imgs)
        done = app(PAGE, run=am_run["id"])
        assert "Initial vs final" in texts(done.markdown)
    finally:
        store.set_status(run_id, "cancelled")


def test_import_valid_set_then_evaluate_it(am_run, store, monkeypatch):
    from dd_core.runs import worker as worker_mod

    monkeypatch.setattr(worker_mod, "launch_worker", lambda run_id=None: 0)
    data = open(am_run["summary"]["synthetic_path"], "rb").read()
    at = app(PAGE)
    at.file_uploader(key="gallery.upload").set_value(("my set.pt", data, "application/octet-stream")).run()
    assert not at.exception
    assert "Imported my set.pt" in texts(at.success)
    at.multiselect(key="gallery.up.nets").set_value(["convnet-2"])
    at.button(key="gallery.up.eval").click().run()
    assert "Queued evaluation run" in texts(at.success)
    ev = store.list_runs(kind="evaluate")[0]
    assert ev["config"]["synthetic_path"].endswith(".pt") and ev["config"]["eval_nets"] == ["convnet-2"]
    ev_cfg = dict(ev["config"]["eval"], epochs=2, n_models=1, protocol="custom")  # keep the test quick
    store.delete_run(ev["id"])
    from dd_core.spec import RunConfig

    rid = submit(store, RunConfig.from_dict({**ev["config"], "eval": ev_cfg}), start_worker=False)
    finish_queued(store)
    assert store.get_run(rid)["status"] == "done", store.get_run(rid)["error"]
    # the imported set is listed with its evaluation
    at = app(PAGE)
    at.radio(key="gallery.source").set_value("Imported sets").run()
    assert not at.exception
    assert "ConvNet-2" in texts(at.markdown) or "convnet-2" in texts(at.markdown).lower()


def _saved(obj, **kw) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


class Evil:  # a pickled object: refused by weights_only loading, never executed
    def __reduce__(self):
        return (print, ("pwned",))


META = {
    "method": "dm",
    "dataset": "mnist-5k",
    "ipc": 1,
    "iteration": 0,
    "num_classes": 10,
    "channels": 1,
    "image_size": 28,
    "mean": [0.1307],
    "std": [0.3081],
    "class_names": [str(c) for c in range(10)],
}


def _set(**parts) -> dict:
    return {
        "format": "distilllab.synthetic/1",
        "images": torch.zeros(10, 1, 28, 28),
        "labels": torch.arange(10),
        "meta": META,
        **parts,
    }


@pytest.mark.parametrize(
    "name",
    ["text", "pickled", "wrong-format", "legacy-pickle", "numpy", "model-weights", "sparse-images", "empty"],
)
def test_import_refuses_invalid_files_with_the_engine_reason_never_pytorchs(name):
    import numpy as np

    payload = {
        "text": lambda: b"certainly not a torch file",
        "pickled": lambda: _saved({"format": "distilllab.synthetic/1", "obj": Evil()}, pickle_module=pickle),
        "wrong-format": lambda: _saved({"images": torch.zeros(2, 1, 4, 4)}),
        "legacy-pickle": lambda: _saved({"obj": Evil()}, _use_new_zipfile_serialization=False, pickle_module=pickle),
        "numpy": lambda: _saved({"images": np.zeros(3)}),
        "model-weights": lambda: _saved({"conv.weight": torch.zeros(2, 1, 3, 3)}),
        "sparse-images": lambda: _saved(_set(images=torch.zeros(10, 1, 28, 28).to_sparse())),
        "empty": lambda: b"",
    }[name]()
    at = app(PAGE)
    at.file_uploader(key="gallery.upload").set_value(("bad.pt", payload, "application/octet-stream")).run()
    assert not at.exception
    errors = texts(at.error)
    assert "Refused bad.pt: bad.pt is not a DistillLab synthetic set" in errors, errors
    for torch_words in ("weights_only", "Weights only", "Unpickler", "Could not run", "Something went wrong"):
        assert torch_words not in errors, errors
    assert not texts(at.success)
