"""Reader for the IDX format of MNIST / Fashion-MNIST (plain or gzipped), strict about sizes.

Layout: 2 zero bytes, a dtype code, the number of dims ``d``; then ``d`` big-endian uint32 sizes; then the data,
row-major, big-endian. Files: ``train-images-idx3-ubyte`` [N,28,28] uint8, ``train-labels-idx1-ubyte`` [N] uint8, ...
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError

# IDX dtype codes -> numpy dtypes (big-endian as stored)
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it is a ``.gz``; a bad gzip stream -> DatasetError naming the file."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise DatasetError(
            f"{path}: corrupt gzip file ({e or type(e).__name__}); replace it with a fresh copy"
        ) from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read file ({e})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file -> numpy array of its dims (native byte order). Validates magic, dims and exact byte count."""
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in _DTYPES or buf[3] == 0:
        raise DatasetError(
            f"{path}: not an IDX file (bad magic number 0x{buf[:4].hex() or 'empty'}; "
            f"expected 0x0000 followed by a dtype code and the number of dims)"
        )
    dtype, ndim = _DTYPES[buf[2]], buf[3]
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DatasetError(f"{path}: truncated IDX file: header needs {header} bytes, found {len(buf)}")
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(buf) - header
    if found < expected:
        raise DatasetError(f"{path}: truncated IDX file: expected {expected} bytes of data, found {found}")
    if found > expected:
        raise DatasetError(f"{path}: IDX file has trailing data: expected {expected} bytes of data, found {found}")
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else arr


def read_idx_pair(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images [N,H,W] uint8 and labels [N] int64 from two IDX files; checks dims and that the counts agree."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(
            f"{images_path}: expected a 3-d uint8 image file [N,H,W], found shape {images.shape} dtype {images.dtype}"
        )
    if labels.ndim != 1:
        raise DatasetError(f"{labels_path}: expected a 1-d label file [N], found shape {labels.shape}")
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels; "
            f"the files do not belong together"
        )
    if len(images) == 0:
        raise DatasetError(f"{images_path}: the file holds 0 images")
    return images, labels.astype(np.int64)


def idx_files_in(folder: Path) -> dict[str, Path]:
    """Those of the four MNIST-style files present in ``folder`` (plain preferred over ``.gz``), keyed by stem."""
    found: dict[str, Path] = {}
    for stem in IDX_STEMS:
        dotted = stem.replace("-idx", ".idx")  # Kaggle-style spelling: train-images.idx3-ubyte
        for cand in (folder / stem, folder / f"{stem}.gz", folder / dotted, folder / f"{dotted}.gz"):
            if cand.is_file():
                found[stem] = cand
                break
    return found


def find_idx_files(folder: Path) -> dict[str, Path] | None:
    """The four MNIST-style files in ``folder`` keyed by stem; None if any is missing."""
    found = idx_files_in(folder)
    return found if len(found) == len(IDX_STEMS) else None


def missing_idx_names(found: dict[str, Path]) -> list[str]:
    """File names of the stems absent from ``found``, spelled like the files present (``.gz`` when all are)."""
    gz = bool(found) and all(p.suffix == ".gz" for p in found.values())
    return [stem + (".gz" if gz else "") for stem in IDX_STEMS if stem not in found]
