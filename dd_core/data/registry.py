"""The dataset registry: names → loaders, ``load_dataset`` (cached in-process), ``dataset_status``, ``dataset_info``."""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError
from . import folder, mhist, mnist5k
from .base import DSA_DIGITS, DSA_NATURAL, DatasetStatus, check_shape_options
from .tv import CIFAR10, FASHION, MNIST

if TYPE_CHECKING:
    from .real import RealData

DATASETS: tuple[str, ...] = ("mnist", "mnist-5k", "fashion-mnist", "cifar10", "mhist", "folder")
PATH_DATASETS = ("mhist", "folder")  # read from a user folder (``path`` option or an env variable)
CACHE_SIZE = 4  # decoded datasets kept in memory (CIFAR-10 ≈ 0.75 GB)


class _Loader(Protocol):
    def status(self, path: str | None = None) -> DatasetStatus: ...
    def fingerprint(self, path: str | None = None) -> tuple: ...
    def load(self, **kw: Any) -> RealData: ...


_LOADERS: dict[str, Any] = {
    "mnist": MNIST,
    "mnist-5k": mnist5k,
    "fashion-mnist": FASHION,
    "cifar10": CIFAR10,
    "mhist": mhist,
    "folder": folder,
}
_FIXED_STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "mnist-5k": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2861,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
}

_cache: OrderedDict[tuple, RealData] = OrderedDict()
_lock = threading.RLock()


def _loader(name: str) -> Any:
    if name not in _LOADERS:
        raise ConfigError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    return _LOADERS[name]


def load_dataset(
    name: str,
    *,
    path: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    split_ratio: float = 0.2,
    seed: int = 0,
    download: bool = True,
) -> RealData:
    """Load a whole dataset into memory (CPU) -> ``RealData`` with normalised float32 images [N,C,H,W].

    ``path``: folder of ``mhist`` / ``folder`` (else ``DD_MHIST_DIR`` / ``DD_FOLDER_DIR``; ignored by the others).
    ``image_size`` / ``channels``: resize / recolour once at load (defaults: the dataset's own; 128 px for MHIST,
    32 px RGB for ``folder``). ``split_ratio`` / ``seed``: the train/test split of ``folder`` without train/ test/
    sub-folders (``mnist-5k``'s split is fixed). ``download``: allow torchvision downloads.
    Repeated calls with the same arguments and unchanged files return the cached tensors (shared: do not modify
    them in place). Raises ``ConfigError`` for a bad option, ``DatasetError`` for missing / corrupt data.
    """
    loader = _loader(name)
    check_shape_options(image_size, channels)
    image_size = None if image_size is None else int(image_size)
    split_key = (split_ratio, seed) if name == "folder" else None
    key = (name, loader.fingerprint(path), image_size, channels, split_key)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return copy.copy(hit)
        data = loader.load(
            path=path, image_size=image_size, channels=channels, split_ratio=split_ratio, seed=seed, download=download
        )
        _cache[key] = data
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return copy.copy(data)


def dataset_fingerprint(name: str, path: str | None = None) -> str:
    """A short hash that changes when a user folder's files change (``mhist`` / ``folder``: class folders' and
    files' stamps); ``"builtin"`` for the fixed public datasets, whose content never changes."""
    if name not in PATH_DATASETS:
        return "builtin"
    loader = _loader(name)
    root = loader.resolve_path(path)
    digest = hashlib.sha256(repr(loader.fingerprint(path)).encode())
    if root is not None and Path(root).is_dir():
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for f in sorted(files):
                file = os.path.join(folder, f)
                st = os.stat(file)
                digest.update(f"{os.path.relpath(file, root)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def clear_cache() -> None:
    """Forget every dataset decoded in this process (tests; freeing memory)."""
    with _lock:
        _cache.clear()


def dataset_status(name: str, *, path: str | None = None) -> DatasetStatus:
    """Whether ``name`` can be loaded, from a look at the files only (never loads, never downloads)."""
    return _loader(name).status(path)


def dataset_info(name: str) -> dict:
    """Static facts for the UI: channels, default image size, classes (None where they come from the user's
    folder), split sizes, normalisation (None = computed from the training split), DSA strategy, description."""
    loader = _loader(name)
    info = dict(loader.info() if callable(getattr(loader, "info", None)) else loader.INFO)
    stats = _FIXED_STATS.get(name)
    info.update(
        name=name,
        mean=list(stats[0]) if stats else None,
        std=list(stats[1]) if stats else None,
        dsa_strategy=DSA_DIGITS if name in ("mnist", "mnist-5k") else DSA_NATURAL,
        needs_path=name in PATH_DATASETS,
        offline=name in ("mnist-5k", "mhist", "folder"),
    )
    info["class_names"] = list(info["class_names"]) if info.get("class_names") else None
    return info
