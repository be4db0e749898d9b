"""``folder``: the user's own images in torchvision's ImageFolder layout, read with PIL only (nothing unpickled).

Layouts: ``<root>/<class>/**/*.png|jpg|jpeg|bmp|webp`` (split here: per class a seeded permutation, ``split_ratio``
of each class for test), or ``<root>/train/<class>/...`` + ``<root>/test/<class>/...`` (used as given; the two must
have the same classes). Classes are the sub-folder names, sorted. Images: shorter side resized to ``image_size``
(default 32) then center-cropped; ``channels`` 3 (RGB, default) or 1 (grayscale); mean/std from the training split.
The root comes from ``path`` (the UI) or ``$DD_FOLDER_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError, DatasetError
from .base import DSA_NATURAL, DatasetMeta, DatasetStatus, check_shape_options

if TYPE_CHECKING:
    from .real import RealData

NAME = "folder"
DEFAULT_SIZE = 32
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
FIX_PATH = (
    "choose a folder with one sub-folder of images per class (or train/ and test/ sub-folders holding "
    "those), in the UI or with DD_FOLDER_DIR"
)

INFO = {
    "channels": 3,
    "image_size": DEFAULT_SIZE,
    "num_classes": None,
    "class_names": None,
    "train_size": None,
    "test_size": None,
    "description": "your own images: one sub-folder per class (or train/ and test/ with class sub-folders); "
    "resized and center-cropped to a square (default 32 px RGB)",
}


def resolve_path(path: str | None) -> Path | None:
    p = path or os.environ.get("DD_FOLDER_DIR")
    return Path(p).expanduser() if p else None


def has_split_layout(root: Path) -> bool:
    """True when ``root`` holds both ``train/`` and ``test/`` folders (then they, not ``root``, hold the classes)."""
    return (root / "train").is_dir() and (root / "test").is_dir()


def class_dirs(folder: Path) -> list[Path]:
    """Visible sub-folders of ``folder``, sorted by name."""
    return sorted((d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: d.name)


def image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively, hidden entries skipped), sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        out += [Path(dirpath) / f for f in filenames if not f.startswith(".") and f.lower().endswith(EXTENSIONS)]
    return sorted(out)


def status(path: str | None = None) -> DatasetStatus:
    root = resolve_path(path)
    if root is None:
        return DatasetStatus(NAME, "missing", "no image folder given (path option or DD_FOLDER_DIR)", FIX_PATH)
    if not root.is_dir():
        return DatasetStatus(NAME, "missing", f"{root} is not a folder", FIX_PATH)
    split = has_split_layout(root)
    n = len(class_dirs(root / "train" if split else root))
    if n < 2:
        return DatasetStatus(
            NAME,
            "missing",
            f"{n} class sub-folder(s) in {root / 'train' if split else root}; need at least 2",
            FIX_PATH,
        )
    how = "train/ and test/ sub-folders" if split else "split into train/test at load"
    return DatasetStatus(NAME, "available", f"{n} class folders in {root} ({how})")


def fingerprint(path: str | None = None) -> tuple:
    """Changes when class folders or their direct contents change (folder mtimes)."""
    root = resolve_path(path)
    if root is None or not root.is_dir():
        return (str(root),)
    tops = [root / "train", root / "test"] if has_split_layout(root) else [root]
    stamps = [(str(root.resolve()), root.stat().st_mtime_ns)]
    for top in tops:
        stamps += [(d.name, d.stat().st_mtime_ns) for d in [top, *class_dirs(top)]]
    return tuple(stamps)


def scan_classes(folder: Path) -> dict[str, list[Path]]:
    """{class name: sorted image files} for the class sub-folders of ``folder``; errors for <2 classes or an empty one."""
    dirs = class_dirs(folder)
    if len(dirs) < 2:
        raise DatasetError(
            f"{folder}: found {len(dirs)} class sub-folder(s), need at least 2 (one sub-folder of images per class)"
        )
    classes = {d.name: image_files(d) for d in dirs}
    for name, files in classes.items():
        if not files:
            raise DatasetError(f"{folder / name}: class {name!r} has no images ({', '.join(EXTENSIONS)})")
    return classes


def load(
    *,
    path: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    split_ratio: float = 0.2,
    seed: int = 0,
    **_: object,
) -> RealData:
    """Train / test [N,C,S,S] (S = image_size, default 32; C = channels, default 3), labels = sorted class index."""
    # torch is imported here, on load: status() and fingerprint() stay light (the dashboard lists datasets first)
    from .images import channel_stats, label_tensor, load_images, normalize_, uint8_to_float
    from .real import RealData

    check_shape_options(image_size, channels)
    if not 0.0 < split_ratio < 1.0:
        raise ConfigError(
            f"split_ratio (fraction of each class used for test) must be between 0 and 1, got {split_ratio}"
        )
    size, ch = image_size or DEFAULT_SIZE, channels or 3
    root = resolve_path(path)
    if root is None:
        raise DatasetError(f"no image folder given; fix: {FIX_PATH}")
    if not root.exists():
        raise DatasetError(f"image folder {root} does not exist; fix: {FIX_PATH}")
    if not root.is_dir():
        raise DatasetError(f"{root} is not a directory; fix: {FIX_PATH}")

    if has_split_layout(root):
        train_cls, test_cls = scan_classes(root / "train"), scan_classes(root / "test")
        if set(train_cls) != set(test_cls):
            only_tr, only_te = sorted(set(train_cls) - set(test_cls)), sorted(set(test_cls) - set(train_cls))
            raise DatasetError(
                f"{root}: train/ and test/ must have the same class folders; "
                f"only in train: {only_tr}; only in test: {only_te}"
            )
        names = sorted(train_cls)
        train_files = [(f, c) for c, n in enumerate(names) for f in train_cls[n]]
        test_files = [(f, c) for c, n in enumerate(names) for f in test_cls[n]]
    else:
        classes = scan_classes(root)
        names = sorted(classes)
        rng = np.random.default_rng(seed)
        train_files, test_files = [], []
        for c, n in enumerate(names):
            files = classes[n]
            if len(files) < 2:
                raise DatasetError(
                    f"{root / n}: class {n!r} has 1 image; a train/test split needs at least 2 "
                    f"per class (or use train/ and test/ sub-folders)"
                )
            k_test = min(len(files) - 1, max(1, round(len(files) * split_ratio)))
            perm = rng.permutation(len(files))
            test_files += [(files[i], c) for i in sorted(perm[:k_test])]
            train_files += [(files[i], c) for i in sorted(perm[k_test:])]

    def decode(items: list[tuple[Path, int]]) -> np.ndarray:
        def err(i: int, p: Path, e: Exception) -> DatasetError:
            return DatasetError(f"{p}: cannot read image ({type(e).__name__}: {e}); remove or replace the file")

        return load_images([f for f, _ in items], size, ch, err)

    train = uint8_to_float(decode(train_files), True)
    test = uint8_to_float(decode(test_files), True)
    mean, std = channel_stats(train)
    normalize_(train, mean, std)
    normalize_(test, mean, std)
    meta = DatasetMeta(NAME, ch, size, len(names), names, mean, std, str(root), DSA_NATURAL)
    return RealData(
        train, label_tensor([c for _, c in train_files]), test, label_tensor([c for _, c in test_files]), meta
    )
