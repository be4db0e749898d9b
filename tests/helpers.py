"""Shared by the test modules: writers of tiny datasets in the real on-disk formats, the in-process CLI runner."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np

# the fixed part of a sweep of tiny DM runs on the generated Fashion-MNIST set (tests/test_sweep*.py)
SWEEP_TINY = [
    "--dataset", "fashion-mnist", "--net", "convnet-2", "--batch-real", "8", "--option", "chunk=0",
    "--eval-epochs", "2", "--eval-models", "1",
]  # fmt: skip


def write_idx(path: Path, arr: np.ndarray) -> Path:
    """IDX: 0x0000, dtype code 0x08 (ubyte), ndim, big-endian dims, data; gzipped when the name ends in .gz."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    blob = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(blob) if path.suffix == ".gz" else blob)
    return path


def learnable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n 28×28 uint8 images whose class (i % 10) is a bright 7×7 block at a class-specific place, plus noise."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.int64)
    for i, c in enumerate(labels):
        r, col = 2 + 8 * (c // 3), 2 + 8 * (c % 3) + (c == 9) * 6
        dr, dc = rng.integers(-1, 2, 2)
        images[i, r + dr : r + dr + 7, col + dc : col + dc + 7] += 180
    return np.clip(images, 0, 255).astype(np.uint8), labels


def write_learnable_fashion(folder: Path, n_train: int = 200, n_test: int = 100) -> Path:
    """A tiny learnable 10-class set in Fashion-MNIST's gzipped IDX files (load with DD_FASHION_MNIST_DIR)."""
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = learnable_images(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def sql_rows(store_path, sql: str, params=()) -> list:
    """Rows of ``sql`` on the store file through a plain sqlite3 connection (what a test reads or damages behind the
    store's back)."""
    import sqlite3

    con = sqlite3.connect(store_path, timeout=10)
    try:
        with con:
            return con.execute(sql, params).fetchall()
    finally:
        con.close()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``python -m dd_core ARGV`` in this process: (exit code, stdout, stderr)."""
    from dd_core.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    """The JSON record every ``--json`` command prints as its last stdout line."""
    return json.loads(out.strip().splitlines()[-1])
