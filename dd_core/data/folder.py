"""``folder``: the user's own images in torchvision's ImageFolder layout, read with PIL only (nothing unpickled).

Layouts (split folder names are matched case-insensitively; hidden entries are skipped everywhere):

- ``<root>/<class>/**/*.png|jpg|jpeg|bmp|webp``: split here, per class a seeded permutation, ``split_ratio`` of
  each class for test (every class needs at least 2 images).
- ``<root>/train/<class>/...`` + ``<root>/test/<class>/...``: used as given. Instead of ``test/`` the test split may
  be ``val/``, ``valid/`` or ``validation/``. When ``test/`` and a val-like folder are both there, ``test/`` is the
  test split and the val-like folders are ignored (DistillLab does no model selection; the status says so).
  Two val-like folders without ``test/`` (e.g. ``val/`` + ``validation/``) are ambiguous: an error.
- Errors, never a guess: ``train/`` without a test folder, ``train/`` next to folders that are not split folders,
  split folders (``test/``, ``val/``, ...) without ``train/``, splits whose class folders differ (naming the missing
  class), fewer than 2 classes, a class folder without images (``status`` is then 'missing', naming the folder).

Classes are the sub-folder names, sorted. Images: shorter side resized to ``image_size`` (default 32) then
center-cropped; ``channels`` 3 (RGB, default) or 1 (grayscale); mean/std from the training split.
The root comes from ``path`` (the UI) or ``$DD_FOLDER_DIR``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
TRAIN_NAMES = ("train",)
TEST_NAMES = ("test", "val", "valid", "validation")  # "test" wins when several are present
FIX_PATH = (
    "choose a folder with one sub-folder of images per class (or train/ and test/ (or val/) sub-folders "
    "holding those), in the UI or with DD_FOLDER_DIR"
)

INFO = {
    "channels": 3,
    "image_size": DEFAULT_SIZE,
    "num_classes": None,
    "class_names": None,
    "train_size": None,
    "test_size": None,
    "description": "your own images: one sub-folder per class (or train/ and test/ or val/ with class "
    "sub-folders); resized and center-cropped to a square (default 32 px RGB)",
}


def resolve_path(path: str | None) -> Path | None:
    p = path or os.environ.get("DD_FOLDER_DIR")
    return Path(p).expanduser() if p else None


class FolderProblem(DatasetError):
    """A folder layout that cannot be used: ``detail`` says what is wrong (naming the folder), ``fix`` what to do."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(f"{detail}; fix: {fix}")
        self.detail, self.fix = detail, fix


@dataclass(frozen=True)
class Layout:
    """Where the classes are: ``train`` (and ``test``) hold one sub-folder per class; ``test`` None = split at load.
    ``ignored``: split folders present but not used (val-like folders next to ``test/``)."""

    root: Path
    train: Path
    test: Path | None = None
    ignored: tuple[str, ...] = ()

    def tops(self) -> list[Path]:
        return [self.train] if self.test is None else [self.train, self.test]


def class_dirs(folder: Path) -> list[Path]:
    """Visible sub-folders of ``folder``, sorted by name."""
    return sorted((d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: d.name)


def find_layout(root: Path) -> Layout:
    """The layout of ``root`` (see the module docstring); FolderProblem when it is ambiguous or incomplete."""
    dirs = class_dirs(root)
    trains = [d for d in dirs if d.name.lower() in TRAIN_NAMES]
    tests = [d for d in dirs if d.name.lower() in TEST_NAMES]
    if not trains:
        if tests:
            names = ", ".join(f"{d.name}/" for d in tests)
            raise FolderProblem(
                f"{root} holds {names} but no train/ next to it",
                f"add {root / 'train'} with the same class folders, or rename {tests[0].name}/ if it really is a class",
            )
        return Layout(root, root)
    if len(trains) > 1:
        raise FolderProblem(
            f"{root} holds several training folders ({', '.join(d.name + '/' for d in trains)})", "keep only one"
        )
    others = [d for d in dirs if d not in trains and d not in tests]
    if others:
        raise FolderProblem(
            f"{root} holds {trains[0].name}/ and also {', '.join(d.name + '/' for d in others)}, which is neither a "
            f"class of the split layout nor a split folder",
            f"move {others[0].name}/ into {trains[0].name}/ (and into the test folder), or out of {root}",
        )
    exact = [d for d in tests if d.name.lower() == "test"]
    if len(exact) > 1:
        raise FolderProblem(f"{root} holds several test folders ({', '.join(d.name for d in exact)})", "keep one")
    if exact:
        test, ignored = exact[0], tuple(d.name for d in tests if d is not exact[0])
    elif len(tests) == 1:
        test, ignored = tests[0], ()
    elif not tests:
        raise FolderProblem(
            f"{root} holds {trains[0].name}/ but no test/ or val/ folder next to it",
            f"add {root / 'test'} with the same class folders, or choose {trains[0]} itself to split it at load",
        )
    else:
        raise FolderProblem(
            f"{root} holds {', '.join(d.name + '/' for d in tests)} next to {trains[0].name}/: which one is the "
            f"test split is ambiguous",
            "rename the one to evaluate on to test/ (the others are then ignored), or remove all but one",
        )
    return Layout(root, trains[0], test, ignored)


def image_files(folder: Path, limit: int | None = None) -> list[Path]:
    """Image files under ``folder`` (recursively, hidden entries skipped), sorted; ``limit``: stop after that many
    (unsorted then: a cheap "has at least n images" test)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out += [Path(dirpath) / f for f in filenames if not f.startswith(".") and f.lower().endswith(EXTENSIONS)]
        if limit is not None and len(out) >= limit:
            return out
    return sorted(out)


def check_classes(layout: Layout, full: bool = False) -> dict[Path, dict[str, list[Path]]]:
    """Per class folder top: {class name: image files}; FolderProblem for fewer than 2 classes, a class folder
    without images (or with 1 image when it is split at load), or train/test splits with different classes.
    ``full``: list every file (load); else stop at the first image(s) of each class (status: fast)."""
    need = 2 if layout.test is None else 1
    out: dict[Path, dict[str, list[Path]]] = {}
    for top in layout.tops():
        dirs = class_dirs(top)
        if len(dirs) < 2:
            raise FolderProblem(
                f"{len(dirs)} class sub-folder(s) in {top}; need at least 2 (one sub-folder of images per class)",
                FIX_PATH,
            )
        classes = {d.name: image_files(d, None if full else need) for d in dirs}
        for name, files in classes.items():
            if not files:
                raise FolderProblem(
                    f"class folder {top / name} has no images ({', '.join(EXTENSIONS)})",
                    f"add images to {top / name} or remove the folder",
                )
            if len(files) < need:
                raise FolderProblem(
                    f"class folder {top / name} has 1 image; a train/test split needs at least 2 per class",
                    f"add images to {top / name}, or use train/ and test/ sub-folders",
                )
        out[top] = classes
    if layout.test is not None:
        for have, lack in ((layout.train, layout.test), (layout.test, layout.train)):
            missing = sorted(set(out[have]) - set(out[lack]))
            if missing:
                names = ", ".join(repr(m) for m in missing)
                raise FolderProblem(
                    f"class folder {names} is in {have} but missing from {lack} (both splits need the same classes)",
                    f"add {lack / missing[0]} with images, or remove {have / missing[0]}",
                )
    return out


def describe(layout: Layout) -> str:
    if layout.test is None:
        return "split into train/test at load"
    how = f"{layout.train.name}/ and {layout.test.name}/ sub-folders"
    if layout.ignored:
        how += f"; {', '.join(n + '/' for n in layout.ignored)} ignored ({layout.test.name}/ is the test split)"
    return how


def status(path: str | None = None) -> DatasetStatus:
    root = resolve_path(path)
    if root is None:
        return DatasetStatus(NAME, "missing", "no image folder given (path option or DD_FOLDER_DIR)", FIX_PATH)
    if not root.is_dir():
        return DatasetStatus(NAME, "missing", f"{root} is not a folder", FIX_PATH)
    try:
        layout = find_layout(root)
        n = len(check_classes(layout)[layout.train])
    except FolderProblem as e:
        return DatasetStatus(NAME, "missing", e.detail, e.fix)
    except OSError as e:
        return DatasetStatus(NAME, "missing", f"{root}: cannot read the folder ({e.strerror or e})", FIX_PATH)
    return DatasetStatus(NAME, "available", f"{n} class folders in {root} ({describe(layout)})")


def fingerprint(path: str | None = None) -> tuple:
    """Changes when class folders or their direct contents change (folder mtimes)."""
    root = resolve_path(path)
    if root is None or not root.is_dir():
        return (str(root),)
    try:
        tops = find_layout(root).tops()
    except DatasetError:
        tops = [root]
    stamps = [(str(root.resolve()), root.stat().st_mtime_ns)]
    for top in tops:
        stamps += [(str(d.relative_to(root)), d.stat().st_mtime_ns) for d in [top, *class_dirs(top)]]
    return tuple(stamps)


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

    layout = find_layout(root)
    classes = check_classes(layout, full=True)
    names = sorted(classes[layout.train])
    if layout.test is not None:
        train_files = [(f, c) for c, n in enumerate(names) for f in classes[layout.train][n]]
        test_files = [(f, c) for c, n in enumerate(names) for f in classes[layout.test][n]]
    else:
        rng = np.random.default_rng(seed)
        train_files, test_files = [], []
        for c, n in enumerate(names):
            files = classes[layout.train][n]
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
