"""SyntheticSet: exact save/load round trip, refusal of pickled objects, validation, PNG export."""

from __future__ import annotations

import pickle

import pytest
import torch
from PIL import Image

from dd_core.errors import SyntheticSetError
from dd_core.synthetic import SyntheticSet


def make_set(k=3, ipc=2, c=1, s=28, soft=False) -> SyntheticSet:
    meta = {
        "method": "dm",
        "dataset": "mnist-5k",
        "ipc": ipc,
        "iteration": 7,
        "num_classes": k,
        "channels": c,
        "image_size": s,
        "mean": [0.1307] * c,
        "std": [0.3081] * c,
        "class_names": [f"c{i}" for i in range(k)],
        "config": {"lr_img": 1.0, "nested": {"a": [1, 2]}},
    }
    return SyntheticSet(
        torch.randn(k * ipc, c, s, s),
        torch.arange(k).repeat_interleave(ipc),
        meta,
        torch.randn(k * ipc, k) if soft else None,
        0.01 if soft else None,
    )


def test_round_trip_is_exact(tmp_path):
    syn = make_set(soft=True)
    path = syn.save(tmp_path / "set.pt")
    back = SyntheticSet.load(path)
    assert torch.equal(back.images, syn.images) and torch.equal(back.labels, syn.labels)
    assert torch.equal(back.soft_labels, syn.soft_labels) and back.lr == syn.lr and back.meta == syn.meta


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_object_is_refused(tmp_path):
    syn = make_set()
    path = tmp_path / "evil.pt"
    torch.save(
        {
            "format": "distilllab.synthetic/1",
            "images": syn.images,
            "labels": syn.labels,
            "meta": syn.meta,
            "payload": Evil(),
        },
        path,
    )
    with pytest.raises(SyntheticSetError, match="refused"):
        SyntheticSet.load(path)


def test_garbage_and_truncated_files_are_refused(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a torch file at all")
    with pytest.raises(SyntheticSetError):
        SyntheticSet.load(tmp_path / "junk.pt")
    path = make_set().save(tmp_path / "ok.pt")
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(SyntheticSetError):
        SyntheticSet.load(tmp_path / "cut.pt")
    with pytest.raises(SyntheticSetError, match="no such file"):
        SyntheticSet.load(tmp_path / "missing.pt")
    (tmp_path / "pickle.pt").write_bytes(pickle.dumps({"format": "x"}))
    with pytest.raises(SyntheticSetError):
        SyntheticSet.load(tmp_path / "pickle.pt")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.update(images=torch.randn(5, 1, 28, 28)), "shape"),
        (lambda p: p.update(labels=torch.tensor([0, 0, 1, 1, 2, 3])), "labels must lie"),
        (lambda p: p.update(labels=torch.tensor([0, 0, 0, 1, 2, 2])), "IPC"),
        (lambda p: p["meta"].pop("ipc"), "metadata lacks"),
        (lambda p: p.update(soft_labels=torch.randn(6, 4)), "soft labels"),
        (lambda p: p.update(images=torch.full((6, 1, 28, 28), float("nan"))), "NaN"),
        (lambda p: p.update(format="other"), "not a DistillLab"),
    ],
)
def test_mismatched_contents_are_refused(tmp_path, mutate, message):
    syn = make_set()
    payload = {
        "format": "distilllab.synthetic/1",
        "images": syn.images,
        "labels": syn.labels,
        "meta": syn.meta,
        "soft_labels": None,
        "lr": None,
    }
    mutate(payload)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(SyntheticSetError, match=message):
        SyntheticSet.load(tmp_path / "bad.pt")


def test_incompatible_dataset_is_refused():
    class Meta:
        name, num_classes, channels, image_size = "cifar10", 10, 3, 32

    with pytest.raises(SyntheticSetError, match="does not match"):
        make_set().check_compatible(Meta)


def test_png_export(tmp_path):
    syn = make_set(k=3, ipc=2)
    paths = syn.export_pngs(tmp_path / "png")
    assert [p.name for p in paths][0] == "all.png" and len(paths) == 4
    whole = Image.open(paths[0])
    # 64 px per image (28 px upscaled x2 = 56) + 2 px gutters: 3 rows, 2 columns
    assert whole.size == (2 * (56 + 2) + 2, 3 * (56 + 2) + 2)
    assert Image.open(paths[1]).size == (2 * 58 + 2, 58 + 2)
