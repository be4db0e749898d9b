"""torchvision-backed sets: ``mnist`` and ``fashion-mnist`` (IDX files, read by our own reader) and ``cifar10``.

Files live in torchvision's layout under ``datasets_dir()``: ``MNIST/raw/*-ubyte[.gz]``,
``FashionMNIST/raw/*-ubyte[.gz]``, ``cifar-10-batches-py/`` (or the archive ``cifar-10-python.tar.gz`` next to it).
Fashion-MNIST is also read from Debian's ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``,
overridable with ``DD_FASHION_MNIST_DIR``). torchvision is used only to download (and to read CIFAR's batches).
A folder holding some but not all of a set's files is a partial copy: ``status`` is 'missing' and ``load`` raises,
naming the missing file; it is never skipped for a later folder or a download.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DatasetError
from ..paths import datasets_dir
from .base import DSA_DIGITS, DSA_NATURAL, DatasetMeta, DatasetStatus
from .idx import IDX_STEMS, idx_files_in, missing_idx_names, read_idx_pair

if TYPE_CHECKING:
    from .real import RealData

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = ", ".join(f"{s}.gz" for s in IDX_STEMS)


def download_torchvision(tv_class: str, root: Path) -> None:
    """Download one torchvision dataset into ``root`` (the network step; tests replace this function)."""
    import torchvision.datasets as tvd

    getattr(tvd, tv_class)(root=str(root), train=False, download=True)


def _reason(e: BaseException) -> str:
    """A one-line, bounded summary of a download error (torchvision's are multi-line)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    text = " ".join(lines[-1:] or [type(e).__name__])
    return text if len(text) <= 160 else text[:157] + "..."


# ---------------------------------------------------------------- IDX sets: mnist, fashion-mnist


@dataclass(frozen=True)
class IdxSet:
    name: str
    tv_class: str  # torchvision class and folder name
    title: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]
    dsa_strategy: str
    description: str

    def raw_dir(self) -> Path:
        return datasets_dir() / self.tv_class / "raw"

    def extra_dirs(self) -> list[Path]:
        """Other folders searched after ``raw_dir`` (only Fashion-MNIST: the Debian package)."""
        if self.name != "fashion-mnist":
            return []
        return [Path(os.environ.get("DD_FASHION_MNIST_DIR") or DEBIAN_FASHION_DIR)]

    def search(self) -> tuple[Path, dict[str, Path]] | None:
        """The first folder (in search order) holding any of the four IDX files, with the files found there: a
        partial copy is returned too (``incomplete`` then says so), never skipped for a later folder."""
        for d in [self.raw_dir(), *self.extra_dirs()]:
            files = idx_files_in(d)
            if files:
                return d, files
        return None

    def incomplete(self, folder: Path, files: dict[str, Path]) -> tuple[str, str] | None:
        """(detail, fix) when ``folder`` holds some but not all of the four IDX files, else None."""
        missing = missing_idx_names(files)
        if not missing:
            return None
        detail = (
            f"incomplete copy of {self.title} in {folder}: {', '.join(missing)} missing "
            f"({len(files)} of {len(IDX_STEMS)} IDX files found)"
        )
        if folder == self.raw_dir():
            fix = f"add {', '.join(missing)} to {folder}, or remove the folder {folder}"
        elif os.environ.get("DD_FASHION_MNIST_DIR"):
            fix = f"add {', '.join(missing)} to {folder}, or unset DD_FASHION_MNIST_DIR"
        else:
            fix = f"add {', '.join(missing)} to {folder} (apt-get install --reinstall dataset-fashion-mnist)"
        return detail, fix

    def locate(self) -> tuple[Path, dict[str, Path]] | None:
        """The folder and its four IDX files; None when no folder holds any; DatasetError for a partial copy."""
        found = self.search()
        if found is not None and (problem := self.incomplete(*found)) is not None:
            raise DatasetError(f"{problem[0]}; fix: {problem[1]}")
        return found

    def offline_fix(self) -> str:
        if self.name == "mnist":
            return f"offline? use the bundled 'mnist-5k' dataset, or copy {IDX_FILES} into {self.raw_dir()}"
        return (
            f"offline? apt-get install dataset-fashion-mnist (IDX files in {self.extra_dirs()[0]}), "
            f"or copy {IDX_FILES} into {self.raw_dir()}"
        )

    def looked_at(self) -> str:
        return " and ".join(str(d) for d in [self.raw_dir(), *self.extra_dirs()])

    def info(self) -> dict:
        return {
            "channels": 1,
            "image_size": 28,
            "num_classes": 10,
            "class_names": list(self.classes),
            "train_size": 60000,
            "test_size": 10000,
            "description": self.description,
        }

    def status(self, path: str | None = None) -> DatasetStatus:
        found = self.search()
        if found is not None:
            problem = self.incomplete(*found)
            if problem is not None:
                return DatasetStatus(self.name, "missing", *problem)
            return DatasetStatus(self.name, "available", f"IDX files in {found[0]}")
        return DatasetStatus(
            self.name,
            "will download",
            f"no IDX files in {self.looked_at()}; torchvision downloads them on first use (online)",
            self.offline_fix(),
        )

    def fingerprint(self, path: str | None = None) -> tuple:
        found = self.search()
        if found is None:
            return ("absent", str(self.raw_dir()))
        return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in found[1].values())

    def load(
        self, *, image_size: int | None = None, channels: int | None = None, download: bool = True, **_: object
    ) -> RealData:
        """60,000 train / 10,000 test [N,1,28,28], normalised with the published constants."""
        # torch is imported here, on load: status() and fingerprint() stay light (the dashboard lists datasets first)
        from .images import adapt_and_normalize, label_tensor, uint8_to_float
        from .real import RealData

        found = self.locate()
        if found is None:
            if not download:
                raise DatasetError(
                    f"{self.title} not found in {self.looked_at()} and downloading is off; fix: {self.offline_fix()}"
                )
            try:
                download_torchvision(self.tv_class, datasets_dir())
            except Exception as e:  # noqa: BLE001 - any failure of the network step
                raise DatasetError(f"{self.title} download failed ({_reason(e)}); fix: {self.offline_fix()}") from None
            found = self.locate()
            if found is None:
                raise DatasetError(
                    f"{self.title} download finished but the IDX files are not in {self.raw_dir()}; "
                    f"fix: {self.offline_fix()}"
                )
        folder, files = found
        xtr, ytr = read_idx_pair(files["train-images-idx3-ubyte"], files["train-labels-idx1-ubyte"])
        xte, yte = read_idx_pair(files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"])
        for y, p in ((ytr, files["train-labels-idx1-ubyte"]), (yte, files["t10k-labels-idx1-ubyte"])):
            if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DatasetError(f"{p}: labels must be 0..{len(self.classes) - 1}, found {y.min()}..{y.max()}")
        if xtr.shape[1:] != xte.shape[1:]:
            raise DatasetError(f"{folder}: train images are {xtr.shape[1:]} but test images are {xte.shape[1:]}")
        if xtr.shape[1] != xtr.shape[2]:
            raise DatasetError(f"{files['train-images-idx3-ubyte']}: images must be square, found {xtr.shape[1:]}")
        train, test = uint8_to_float(xtr, False), uint8_to_float(xte, False)
        train, test, ch, size, mean, std = adapt_and_normalize(
            train, test, 1, image_size, channels, self.mean, self.std
        )
        meta = DatasetMeta(
            self.name, ch, size, len(self.classes), list(self.classes), mean, std, str(folder), self.dsa_strategy
        )
        return RealData(train, label_tensor(ytr), test, label_tensor(yte), meta)


MNIST = IdxSet(
    "mnist",
    "MNIST",
    "MNIST",
    (0.1307,),
    (0.3081,),
    tuple(str(d) for d in range(10)),
    DSA_DIGITS,
    "MNIST handwritten digits, 60,000 train / 10,000 test, 1×28×28 (torchvision; downloads when online)",
)
FASHION = IdxSet(
    "fashion-mnist",
    "FashionMNIST",
    "Fashion-MNIST",
    (0.2861,),
    (0.3530,),
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    DSA_NATURAL,
    "Zalando clothing images, 60,000 train / 10,000 test, 1×28×28 (torchvision or Debian's "
    "dataset-fashion-mnist; works offline where that package is installed)",
)


# ---------------------------------------------------------------- CIFAR-10


class Cifar10:
    name = "cifar10"
    mean = (0.4914, 0.4822, 0.4465)
    std = (0.2023, 0.1994, 0.2010)
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    archive_name = "cifar-10-python.tar.gz"
    folder_name = "cifar-10-batches-py"
    batch_files = (
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
        "batches.meta",
    )

    def folder(self) -> Path:
        return datasets_dir() / self.folder_name

    def archive(self) -> Path:
        return datasets_dir() / self.archive_name

    def extracted(self) -> bool:
        return all((self.folder() / f).is_file() for f in self.batch_files)

    def incomplete(self) -> tuple[str, str] | None:
        """(detail, fix) when the batches folder holds some but not all batch files and no archive can replace it."""
        present = [f for f in self.batch_files if (self.folder() / f).is_file()]
        if not present or len(present) == len(self.batch_files) or self.archive().is_file():
            return None
        missing = [f for f in self.batch_files if f not in present]
        return (
            f"incomplete copy of CIFAR-10 in {self.folder()}: {', '.join(missing)} missing "
            f"({len(present)} of {len(self.batch_files)} batch files found)",
            f"add {', '.join(missing)} to {self.folder()}, or remove the folder {self.folder()} "
            f"(or copy {self.archive_name} into {datasets_dir()})",
        )

    def offline_fix(self) -> str:
        return (
            f"offline? copy {self.archive_name} (from https://www.cs.toronto.edu/~kriz/cifar.html) "
            f"into {datasets_dir()}"
        )

    def info(self) -> dict:
        return {
            "channels": 3,
            "image_size": 32,
            "num_classes": 10,
            "class_names": list(self.classes),
            "train_size": 50000,
            "test_size": 10000,
            "description": "CIFAR-10 natural images, 50,000 train / 10,000 test, 3×32×32 (torchvision; downloads "
            "when online, or reads the archive a user copies into the data home)",
        }

    def status(self, path: str | None = None) -> DatasetStatus:
        if self.extracted():
            return DatasetStatus(self.name, "available", f"batches in {self.folder()}")
        if self.archive().is_file():
            return DatasetStatus(self.name, "available", f"archive {self.archive()} (extracted on first load)")
        problem = self.incomplete()
        if problem is not None:
            return DatasetStatus(self.name, "missing", *problem)
        return DatasetStatus(
            self.name,
            "will download",
            f"neither {self.folder()} nor {self.archive()} exists; torchvision downloads it "
            f"on first use (online, 163 MB)",
            self.offline_fix(),
        )

    def fingerprint(self, path: str | None = None) -> tuple:
        paths = [self.folder() / f for f in self.batch_files] if self.extracted() else [self.archive()]
        return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) if p.exists() else (str(p),) for p in paths)

    def extract_archive(self) -> None:
        """Unpack the user-copied archive (only ``cifar-10-batches-py/`` members, tar 'data' filter) atomically."""
        root, archive = datasets_dir(), self.archive()
        tmp = root / ".cifar-10-extract.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = [m for m in tar.getmembers() if m.name.startswith(self.folder_name + "/")]
                if not members:
                    raise DatasetError(f"{archive}: no {self.folder_name}/ inside; is it the CIFAR-10 python archive?")
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.10.12: refuses unsafe members
                    tar.extractall(tmp, members=members, filter="data")
                else:
                    for m in members:
                        if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in m.name.split("/"):
                            raise DatasetError(f"{archive}: unsafe member {m.name!r}; not the CIFAR-10 archive?")
                    tar.extractall(tmp, members=members)
            shutil.rmtree(self.folder(), ignore_errors=True)
            os.replace(tmp / self.folder_name, self.folder())
        except (tarfile.TarError, OSError, EOFError) as e:
            raise DatasetError(
                f"{archive}: cannot extract the archive ({_reason(e)}); replace it with a fresh "
                f"copy of {self.archive_name}"
            ) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def load(
        self, *, image_size: int | None = None, channels: int | None = None, download: bool = True, **_: object
    ) -> RealData:
        """50,000 train / 10,000 test [N,3,32,32], normalised with the published constants."""
        # torch is imported here, on load: status() and fingerprint() stay light (the dashboard lists datasets first)
        from .images import adapt_and_normalize, label_tensor, uint8_to_float
        from .real import RealData

        if not self.extracted():
            problem = self.incomplete()
            if problem is not None:
                raise DatasetError(f"{problem[0]}; fix: {problem[1]}")
            if self.archive().is_file():
                self.extract_archive()
            elif not download:
                raise DatasetError(
                    f"CIFAR-10 not found in {self.folder()} and downloading is off; fix: {self.offline_fix()}"
                )
            else:
                try:
                    download_torchvision("CIFAR10", datasets_dir())
                except Exception as e:  # noqa: BLE001 - any failure of the network step
                    raise DatasetError(f"CIFAR-10 download failed ({_reason(e)}); fix: {self.offline_fix()}") from None
        import torchvision.datasets as tvd

        try:  # torchvision checks every batch's md5, then unpickles the official batches
            tr = tvd.CIFAR10(root=str(datasets_dir()), train=True, download=False)
            te = tvd.CIFAR10(root=str(datasets_dir()), train=False, download=False)
        except Exception as e:  # noqa: BLE001 - corrupt or foreign files
            raise DatasetError(
                f"{self.folder()}: CIFAR-10 batches missing or corrupt ({_reason(e)}); delete the "
                f"folder and copy a fresh {self.archive_name} into {datasets_dir()}"
            ) from None
        train, test = uint8_to_float(tr.data, True), uint8_to_float(te.data, True)
        train, test, ch, size, mean, std = adapt_and_normalize(
            train, test, 3, image_size, channels, self.mean, self.std
        )
        meta = DatasetMeta(self.name, ch, size, 10, list(self.classes), mean, std, str(self.folder()), DSA_NATURAL)
        return RealData(train, label_tensor(tr.targets), test, label_tensor(te.targets), meta)


CIFAR10 = Cifar10()
