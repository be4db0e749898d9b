"""Images for the pages, cached: set loading per file version, labelled grids and change grids as PNG bytes, the
snapshots' GIF. The drawing itself is the engine's (``dd_core/grids.py``, ``dd_core/report/gif.py``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import streamlit as st

from dd_core.grids import attention_tiles, change_images, labelled, labelled_grid, png_bytes
from dd_core.synthetic import SyntheticSet

__all__ = [
    "PNG",
    "attention_tiles",
    "change_images",
    "change_png",
    "grid_png",
    "labelled_grid",
    "load_set",
    "png_bytes",
    "snapshot_png",
    "snapshots_gif",
]

# Pass to st.image with our PNG bytes: "auto" re-encodes any image without alpha to JPEG on every draw (lossy on
# pixel-sized synthetic images, and a decode + encode per second on a live page).
PNG: Literal["PNG"] = "PNG"


@st.cache_resource(max_entries=32, show_spinner=False)
def _load(path: str, mtime_ns: int, size: int) -> SyntheticSet:
    return SyntheticSet.load(path)


def load_set(path: str | os.PathLike) -> SyntheticSet:
    """SyntheticSet.load (weights-only, validated), cached per file version. Do not modify the result."""
    p = Path(path)
    stat = p.stat()
    return _load(str(p), stat.st_mtime_ns, stat.st_size)


@st.cache_data(max_entries=64, show_spinner=False)
def change_png(first_path: str, last_path: str, mtime_ns: int, max_per_class: int | None = None) -> bytes:
    """PNG of the labelled grid of :func:`change_images` between two snapshot files (cached per file version)."""
    first, last = load_set(first_path), load_set(last_path)
    return png_bytes(labelled(last, change_images(first, last), None, max_per_class, None))


@st.cache_data(max_entries=128, show_spinner=False)
def grid_png(path: str, mtime_ns: int, max_per_class: int | None = None) -> bytes:
    """PNG bytes of the labelled grid of the set at ``path`` (cached per file version)."""
    return png_bytes(labelled_grid(_load(path, mtime_ns, Path(path).stat().st_size), max_per_class=max_per_class))


def snapshot_png(path: str, max_per_class: int | None = None) -> bytes:
    p = Path(path)
    return grid_png(str(p), p.stat().st_mtime_ns, max_per_class)


@st.cache_data(max_entries=8, show_spinner="Drawing the animation…")
def _gif(frames: tuple[tuple[int, str, int], ...], total: int | None) -> bytes:
    from dd_core.report.gif import snapshots_gif as make_gif

    return make_gif([(it, path) for it, path, _ in frames], total_iterations=total)


def snapshots_gif(snaps: list[dict], total_iterations: int | None = None) -> bytes:
    """The animated GIF of a run's snapshots (``store.snapshots``), one frame each; cached per snapshot list."""
    frames = tuple((s["iteration"], s["abs_path"], Path(s["abs_path"]).stat().st_mtime_ns) for s in snaps)
    return _gif(frames, total_iterations)
