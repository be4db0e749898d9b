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
    def __reduce__(self):  # eval, not print: once Ray is imported in the process, print is Ray's own function
        return (eval, ("print('pwned')",))


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
    with pytest.raises(SyntheticSetError) as ei:
        SyntheticSet.load(path)
    msg = str(ei.value)
    assert msg.startswith(f"{path} is not a DistillLab synthetic set (") and "pickled Python object (eval)" in msg
    assert "weights_only" not in msg and "\n" not in msg


def test_garbage_and_truncated_files_are_refused(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a torch file at all")
    with pytest.raises(SyntheticSetError):
        SyntheticSet.load(tmp_path / "junk.pt")
    path = make_set().save(tmp_path / "ok.pt")
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        (tmp_path / "cut.pt").write_bytes(data[:cut])
        with pytest.raises(SyntheticSetError, match=r"cut.pt is not a DistillLab synthetic set \(the file is trunc"):
            SyntheticSet.load(tmp_path / "cut.pt")
    with pytest.raises(SyntheticSetError, match="no such file"):
        SyntheticSet.load(tmp_path / "missing.pt")
    (tmp_path / "pickle.pt").write_bytes(pickle.dumps({"format": "x"}))
    with pytest.raises(SyntheticSetError):
        SyntheticSet.load(tmp_path / "pickle.pt")


def save_payload(path, **changes) -> None:
    """A valid set's payload as ``SyntheticSet.save`` writes it, with ``changes`` applied (None deletes a key)."""
    syn = make_set(soft=True)
    payload = {
        "format": "distilllab.synthetic/1",
        "images": syn.images,
        "labels": syn.labels,
        "meta": syn.meta,
        "soft_labels": syn.soft_labels,
        "lr": syn.lr,
    }
    for key, value in changes.items():
        if key.startswith("meta_"):
            payload["meta"] = {**payload["meta"], key[5:]: value}
        else:
            payload[key] = value
    torch.save(payload, path)


def refusal(path) -> str:
    with pytest.raises(SyntheticSetError) as ei:
        SyntheticSet.load(path)
    msg = str(ei.value)
    assert str(path) in msg and "\n" not in msg and "weights_only" not in msg, msg
    return msg


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"lr": float("inf")}, "'lr'", "finite number > 0, got inf"),
        ({"lr": float("nan")}, "'lr'", "finite number > 0, got nan"),
        ({"lr": 0.0}, "'lr'", "> 0, got 0.0"),
        ({"lr": "0.01"}, "'lr'", "must be a number, got a str"),
        ({"soft_labels": torch.full((6, 3), float("nan"))}, "'soft_labels'", "NaN or infinite"),
        ({"soft_labels": torch.full((6, 3), float("inf"))}, "'soft_labels'", "NaN or infinite"),
        ({"soft_labels": torch.zeros(6, 3, dtype=torch.int64)}, "'soft_labels'", "int64 integers; soft labels must"),
        ({"soft_labels": torch.zeros(6)}, "'soft_labels'", "shape (6, 3)"),
        ({"soft_labels": [[0.0] * 3] * 6}, "'soft_labels'", "must be a tensor"),
        ({"images": torch.full((6, 1, 28, 28), float("inf"))}, "'images'", "NaN or infinite"),
        ({"images": torch.zeros(6, 1, 28, 28, dtype=torch.uint8)}, "'images'", "float32 tensor"),
        ({"labels": torch.tensor([0.0, 0, 1, 1, 2, 2])}, "'labels'", "int64 of shape (6,)"),
        ({"labels": torch.tensor([0, 0, 1, 1, 2, 3])}, "'labels'", "must lie in [0, 2]"),
        ({"labels": torch.tensor([0, 0, 1, 1, 2, -1])}, "'labels'", "must lie in [0, 2]"),
        ({"meta_ipc": 0}, "meta['ipc']", "integer >= 1, got 0"),
        ({"meta_ipc": "2"}, "meta['ipc']", "integer >= 1, got '2'"),
        ({"meta_ipc": 2.0}, "meta['ipc']", "integer >= 1, got 2.0"),
        ({"meta_ipc": True}, "meta['ipc']", "integer >= 1, got True"),
        ({"meta_num_classes": "3"}, "meta['num_classes']", "integer >= 1"),
        ({"meta_channels": None}, "meta['channels']", "integer >= 1, got None"),
        ({"meta_mean": [0.1, 0.2, 0.3]}, "meta['mean']", "list of 1 finite numbers (one per channel)"),
        ({"meta_std": []}, "meta['std']", "list of 1 positive finite numbers"),
        ({"meta_std": [0.0]}, "meta['std']", "positive"),
        ({"meta_mean": [float("nan")]}, "meta['mean']", "finite"),
        ({"meta": [1, 2]}, "'meta'", "must be a dict, got a list"),
        ({"images": None}, "'images'", "must be a tensor, got nothing"),
    ],
)
def test_bad_fields_are_refused_naming_file_and_field(tmp_path, changes, field, message):
    path = tmp_path / "bad.pt"
    save_payload(path, **changes)
    msg = refusal(path)
    assert msg.startswith(f"{path}: {field}") and message in msg, msg


@pytest.mark.parametrize(
    "obj, message",
    [
        (torch.randn(6, 1, 28, 28), "it holds a float32 tensor of shape (6, 1, 28, 28); expected a dict"),
        ({"images": torch.zeros(2, 1, 4, 4), "note": "x"}, "a dict with keys 'images', 'note' but no format="),
        ({"conv.weight": torch.zeros(2, 1, 3, 3), "fc.bias": torch.zeros(2)}, "looks like model weights"),
        ({"format": "distilllab.synthetic/2"}, "format is 'distilllab.synthetic/2'"),
        ({"format": torch.zeros(3), "x": 1}, "format is tensor("),
        ([1, 2, 3], "it holds a list"),
    ],
)
def test_foreign_files_say_not_a_distilllab_set(tmp_path, obj, message):
    path = tmp_path / "foreign.pt"
    torch.save(obj, path)
    msg = refusal(path)
    assert msg.startswith(f"{path} is not a DistillLab synthetic set (") and message in msg, msg


def test_state_dict_of_a_real_model_is_not_a_set(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    assert "looks like model weights, a state_dict of 2 tensors ('weight', 'bias')" in refusal(path)


class Obj:
    pass


@pytest.mark.parametrize(
    "name, blob",
    [("junk", b"not a torch file"), ("cjunk", b"certainly not a torch file"), ("pickle", pickle.dumps({"a": 1}))],
)
def test_unreadable_files_never_pass_on_pytorch_text(tmp_path, name, blob):
    path = tmp_path / f"{name}.pt"
    path.write_bytes(blob)
    msg = refusal(path)
    assert msg == f"{path} is not a DistillLab synthetic set (not a file written by torch.save, or a foreign pickle)"


def test_pickled_class_and_empty_file_are_named(tmp_path):
    torch.save(Obj(), tmp_path / "obj.pt")
    assert f"pickled Python object ({Obj.__module__}.Obj)" in refusal(tmp_path / "obj.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    assert "empty or truncated" in refusal(tmp_path / "empty.pt")


def test_other_integer_and_float_dtypes_are_accepted(tmp_path):
    syn = make_set(soft=True)
    path = tmp_path / "ok.pt"
    save_payload(path, labels=syn.labels.int(), soft_labels=torch.randn(6, 3, dtype=torch.float64))
    back = SyntheticSet.load(path)
    assert back.labels.dtype == torch.int64 and back.soft_labels.dtype == torch.float32


def test_in_memory_validate_refuses_bad_lr():
    syn = make_set(soft=True)
    syn.lr = float("inf")
    with pytest.raises(SyntheticSetError, match="synthetic set: 'lr'"):
        syn.validate()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.update(images=torch.randn(5, 1, 28, 28)), "shape"),
        (lambda p: p.update(labels=torch.tensor([0, 0, 1, 1, 2, 3])), "'labels' must lie"),
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
