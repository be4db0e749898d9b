"""``mhist``: the MHIST colorectal polyp set (HP vs SSA) from a user folder.

Layout: ``<root>/annotations.csv`` with columns ``Image Name``, ``Majority Vote Label`` (HP | SSA) and ``Partition``
(train | test), other columns ignored; ``<root>/images/<Image Name>`` (224×224 RGB PNGs in the real set).
The root comes from ``path`` (the UI) or ``$DD_MHIST_DIR``. Images are resized once (default 128 px RGB);
mean/std are computed per channel from the training split.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DatasetError
from .base import DSA_NATURAL, DatasetMeta, DatasetStatus, check_shape_options

if TYPE_CHECKING:
    from .real import RealData

NAME = "mhist"
CLASSES = ["HP", "SSA"]
DEFAULT_SIZE = 128
COLUMNS = ("Image Name", "Majority Vote Label", "Partition")
PARTITIONS = ("train", "test")
FIX_PATH = (
    "set the MHIST folder in the UI or export DD_MHIST_DIR=/path/to/mhist "
    "(the folder holding annotations.csv and images/)"
)

INFO = {
    "channels": 3,
    "image_size": DEFAULT_SIZE,
    "num_classes": 2,
    "class_names": CLASSES,
    "train_size": 2175,
    "test_size": 977,
    "description": "MHIST colorectal polyp patches, hyperplastic (HP) vs sessile serrated (SSA); a user folder with "
    "annotations.csv + images/ (path in the UI or DD_MHIST_DIR); resized to 128 px RGB by default",
}


@dataclass
class Row:
    row: int  # 1-based data row (header excluded)
    line: int  # line of the CSV file
    name: str
    label: int
    partition: str

    def where(self, csv_path: Path) -> str:
        return f"{csv_path} row {self.row} (line {self.line})"


def resolve_path(path: str | None) -> Path | None:
    p = path or os.environ.get("DD_MHIST_DIR")
    return Path(p).expanduser() if p else None


def status(path: str | None = None) -> DatasetStatus:
    root = resolve_path(path)
    if root is None:
        return DatasetStatus(NAME, "missing", "no MHIST folder given (path option or DD_MHIST_DIR)", FIX_PATH)
    if not root.is_dir():
        return DatasetStatus(NAME, "missing", f"{root} is not a folder", FIX_PATH)
    if not (root / "annotations.csv").is_file():
        return DatasetStatus(
            NAME,
            "missing",
            f"no annotations.csv in {root}",
            f"point the path at the MHIST folder that holds annotations.csv and images/ ({FIX_PATH})",
        )
    if not (root / "images").is_dir():
        return DatasetStatus(
            NAME,
            "missing",
            f"no images/ folder in {root}",
            f"unpack images.zip from the MHIST download into {root / 'images'}",
        )
    return DatasetStatus(NAME, "available", f"annotations.csv and images/ in {root}")


def fingerprint(path: str | None = None) -> tuple:
    root = resolve_path(path)
    if root is None:
        return ("none",)
    ann, img = root / "annotations.csv", root / "images"
    return (str(root.resolve()),) + tuple(
        (p.stat().st_size, p.stat().st_mtime_ns) if p.exists() else None for p in (ann, img)
    )


def read_annotations(csv_path: Path) -> list[Row]:
    """Parse and validate ``annotations.csv``; every error names the file and the row."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise DatasetError(
                    f"{csv_path}: missing column(s) {', '.join(repr(c) for c in missing)}; "
                    f"found {header}; expected {list(COLUMNS)}"
                )
            i_name, i_label, i_part = (header.index(c) for c in COLUMNS)
            rows: list[Row] = []
            r = 0
            for rec in reader:
                if not any(v.strip() for v in rec):
                    continue  # blank line
                r += 1
                where = f"{csv_path} row {r} (line {reader.line_num})"
                if len(rec) < len(header):
                    raise DatasetError(f"{where}: {len(rec)} fields, expected {len(header)}")
                name = rec[i_name].strip()
                label = rec[i_label].strip().upper()
                part = rec[i_part].strip().lower()
                if not name:
                    raise DatasetError(f"{where}: empty 'Image Name'")
                if label not in CLASSES:
                    raise DatasetError(
                        f"{where}: unknown label {rec[i_label]!r} in 'Majority Vote Label' (expected HP or SSA)"
                    )
                if part not in PARTITIONS:
                    raise DatasetError(
                        f"{where}: unknown partition {rec[i_part]!r} in 'Partition' (expected train or test)"
                    )
                rows.append(Row(r, reader.line_num, name, CLASSES.index(label), part))
    except UnicodeDecodeError as e:
        raise DatasetError(f"{csv_path}: not a UTF-8 text file ({e})") from None
    except csv.Error as e:
        raise DatasetError(f"{csv_path}: malformed CSV ({e})") from None
    return rows


def load(
    *, path: str | None = None, image_size: int | None = None, channels: int | None = None, **_: object
) -> RealData:
    """Train / test [N,C,S,S] (S = image_size, default 128; C = 3, or 1 on request), labels HP=0 / SSA=1."""
    # torch is imported here, on load: status() and fingerprint() stay light (the dashboard lists datasets first)
    from .images import channel_stats, label_tensor, load_images, normalize_, uint8_to_float
    from .real import RealData

    check_shape_options(image_size, channels)
    size, ch = image_size or DEFAULT_SIZE, channels or 3
    root = resolve_path(path)
    if root is None:
        raise DatasetError(f"no MHIST folder given; fix: {FIX_PATH}")
    if not root.exists():
        raise DatasetError(f"MHIST folder {root} does not exist; fix: {FIX_PATH}")
    if not root.is_dir():
        raise DatasetError(f"MHIST path {root} is not a folder; fix: {FIX_PATH}")
    csv_path, img_dir = root / "annotations.csv", root / "images"
    if not csv_path.is_file():
        raise DatasetError(
            f"no annotations.csv in {root}; fix: point the MHIST path at the folder holding annotations.csv and images/"
        )
    rows = read_annotations(csv_path)
    for p in PARTITIONS:
        if not any(r.partition == p for r in rows):
            raise DatasetError(f"{csv_path}: the {p} split is empty (no row has Partition = {p})")
    for r in rows:
        if not (img_dir / r.name).is_file():
            raise DatasetError(f"{r.where(csv_path)}: image file {r.name!r} not found in {img_dir}")
    train_rows = [r for r in rows if r.partition == "train"]
    test_rows = [r for r in rows if r.partition == "test"]
    for c, cname in enumerate(CLASSES):
        if not any(r.label == c for r in train_rows):
            raise DatasetError(f"{csv_path}: the train split has no {cname} images; both HP and SSA are needed")

    def decode(sel: list[Row]) -> np.ndarray:
        def err(i: int, p: Path, e: Exception) -> DatasetError:
            return DatasetError(
                f"{sel[i].where(csv_path)}: cannot read image {sel[i].name!r} ({type(e).__name__}: {e})"
            )

        return load_images([img_dir / r.name for r in sel], size, ch, err)

    train = uint8_to_float(decode(train_rows), True)
    test = uint8_to_float(decode(test_rows), True)
    mean, std = channel_stats(train)
    normalize_(train, mean, std)
    normalize_(test, mean, std)
    meta = DatasetMeta(NAME, ch, size, 2, list(CLASSES), mean, std, str(root), DSA_NATURAL)
    return RealData(
        train, label_tensor([r.label for r in train_rows]), test, label_tensor([r.label for r in test_rows]), meta
    )
