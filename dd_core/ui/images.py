"""Images for the pages: labelled per-class grids of a synthetic set, attention-map tiles, cached set loading."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Literal

import numpy as np
import streamlit as st
import torch
from PIL import Image, ImageDraw, ImageFont

from dd_core.synthetic import SyntheticSet, image_grid

LABEL_WIDTH = 110
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


def _font(size: int = 13):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def labelled_grid(
    syn: SyntheticSet, classes: list[int] | None = None, max_per_class: int | None = None, upscale: int | None = None
) -> Image.Image:
    """One row per class (its name at the left), IPC images per row (at most ``max_per_class``)."""
    return _labelled(syn, syn.denormalized(), classes, max_per_class, upscale)


def change_images(first: SyntheticSet, last: SyntheticSet) -> torch.Tensor:
    """|S_t − S_0| per image, averaged over channels and contrast-stretched to [0, 1] per image (its own maximum),
    so that small changes are visible: [N,1,H,W]."""
    diff = (last.images.float() - first.images.float()).abs().mean(1, keepdim=True)
    peak = diff.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    return diff / peak


@st.cache_data(max_entries=64, show_spinner=False)
def change_png(first_path: str, last_path: str, mtime_ns: int, max_per_class: int | None = None) -> bytes:
    """PNG of the labelled grid of :func:`change_images` between two snapshot files (cached per file version)."""
    first, last = load_set(first_path), load_set(last_path)
    return png_bytes(_labelled(last, change_images(first, last), None, max_per_class, None))


def _labelled(
    syn: SyntheticSet,
    images: torch.Tensor,
    classes: list[int] | None,
    max_per_class: int | None,
    upscale: int | None,
) -> Image.Image:
    k = syn.num_classes
    classes = list(range(k)) if classes is None else classes
    ipc = syn.ipc
    if max_per_class and max_per_class < ipc:
        images = images.view(k, ipc, *images.shape[1:])[:, :max_per_class].reshape(-1, *images.shape[1:])
        ipc = max_per_class
    grid = image_grid(images, ipc, classes, upscale).numpy()
    if grid.shape[2] == 1:
        grid = np.repeat(grid, 3, axis=2)
    body = Image.fromarray(grid)
    names = syn.meta.get("class_names") or [str(c) for c in range(k)]
    canvas = Image.new("RGB", (body.width + LABEL_WIDTH, body.height), "white")
    canvas.paste(body, (LABEL_WIDTH, 0))
    draw = ImageDraw.Draw(canvas)
    row_h = body.height / max(1, len(classes))
    font = _font(13 if row_h >= 20 else 10)
    for i, c in enumerate(classes):
        text = str(names[c])[:15]
        draw.text((6, i * row_h + row_h / 2 - 7), text, fill=(40, 40, 40), font=font)
    return canvas


def png_bytes(img: Image.Image | np.ndarray) -> bytes:
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img.squeeze() if img.ndim == 3 and img.shape[2] == 1 else img)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=3)  # fast: grids are small, and redrawn while a run goes
    return buf.getvalue()


@st.cache_data(max_entries=128, show_spinner=False)
def grid_png(path: str, mtime_ns: int, max_per_class: int | None = None) -> bytes:
    """PNG bytes of the labelled grid of the set at ``path`` (cached per file version)."""
    return png_bytes(labelled_grid(_load(path, mtime_ns, Path(path).stat().st_size), max_per_class=max_per_class))


def snapshot_png(path: str, max_per_class: int | None = None) -> bytes:
    p = Path(path)
    return grid_png(str(p), p.stat().st_mtime_ns, max_per_class)


# ---------------------------------------------------------------------------------------------- attention maps
def _viridis_lut() -> np.ndarray:
    """256 × RGB uint8 of Plotly's Viridis colour scale."""
    import re

    from plotly.colors import sample_colorscale

    cols = sample_colorscale("Viridis", [i / 255 for i in range(256)])
    return np.array([[float(v) for v in re.findall(r"[\d.]+", c)[:3]] for c in cols]).round().astype(np.uint8)


_LUT: np.ndarray | None = None


def colorize(maps: torch.Tensor, size: int) -> torch.Tensor:
    """[N,H,W] maps → [N,3,size,size] RGB in [0,1] (each map scaled to its own max, viridis)."""
    global _LUT
    if _LUT is None:
        _LUT = _viridis_lut()
    m = maps.detach().float()
    m = m / m.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]
    m = torch.nn.functional.interpolate(m[:, None], size=(size, size), mode="nearest")[:, 0]
    idx = (m * 255).round().clamp(0, 255).long().numpy()
    rgb = torch.from_numpy(_LUT[idx]).permute(0, 3, 1, 2).float() / 255
    return rgb


def attention_tiles(images01: torch.Tensor, maps_per_layer: list[torch.Tensor]) -> Image.Image:
    """A grid: row 0 the images, then one row of colourised maps per block (columns = images)."""
    n, c, h, w = images01.shape
    rows = [images01.repeat(1, 3, 1, 1) if c == 1 else images01]
    rows += [colorize(m, h) for m in maps_per_layer]
    stacked = torch.cat(rows)  # row-major: (1 + L) rows of n
    grid = image_grid(stacked, n, None, None).numpy()
    return Image.fromarray(grid)
