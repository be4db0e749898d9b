"""Pictures of synthetic sets without Streamlit: labelled per-class grids (PIL), change images, attention-map tiles,
PNG bytes. The Gallery and Distill pages (``ui/images.py`` caches them), the report and its slide figures draw
with these."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .synthetic import SyntheticSet, image_grid

LABEL_WIDTH = 110


def font(size: int = 13) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at ``size`` px (a bitmap font of fixed size on Pillow < 10.1)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def class_names(syn: SyntheticSet) -> list[str]:
    """The set's class names ('0', '1', ... when it has none)."""
    return [str(n) for n in syn.meta.get("class_names") or range(syn.num_classes)]


def per_class(syn: SyntheticSet, images: torch.Tensor, max_per_class: int | None) -> tuple[torch.Tensor, int]:
    """``images`` (class-major, IPC per class) cut to at most ``max_per_class`` per class; (images, per row)."""
    k, ipc = syn.num_classes, syn.ipc
    if max_per_class and max_per_class < ipc:
        images = images.view(k, ipc, *images.shape[1:])[:, :max_per_class].reshape(-1, *images.shape[1:])
        ipc = max_per_class
    return images, ipc


def labelled_grid(
    syn: SyntheticSet, classes: list[int] | None = None, max_per_class: int | None = None, upscale: int | None = None
) -> Image.Image:
    """One row per class (its name at the left), IPC images per row (at most ``max_per_class``)."""
    return labelled(syn, syn.denormalized(), classes, max_per_class, upscale)


def change_images(first: SyntheticSet, last: SyntheticSet) -> torch.Tensor:
    """|S_t − S_0| per image, averaged over channels and contrast-stretched to [0, 1] per image (its own maximum),
    so that small changes are visible: [N,1,H,W]."""
    diff = (last.images.float() - first.images.float()).abs().mean(1, keepdim=True)
    peak = diff.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    return diff / peak


def grid_array(
    syn: SyntheticSet,
    images: torch.Tensor,
    classes: list[int] | None = None,
    max_per_class: int | None = None,
    upscale: int | None = None,
) -> np.ndarray:
    """The unlabelled grid of ``images`` (one row per class) as uint8 RGB [H, W, 3]."""
    classes = list(range(syn.num_classes)) if classes is None else classes
    images, ipc = per_class(syn, images, max_per_class)
    grid = image_grid(images, ipc, classes, upscale).numpy()
    return np.repeat(grid, 3, axis=2) if grid.shape[2] == 1 else grid


def class_columns_array(syn: SyntheticSet, images: torch.Tensor, max_per_class: int | None = None) -> np.ndarray:
    """The grid with one COLUMN per class (the i-th image of every class on row i): wide rather than tall when the
    set has few images per class. uint8 RGB [H, W, 3]."""
    images, ipc = per_class(syn, images, max_per_class)
    k = syn.num_classes
    by_row = images.view(k, ipc, *images.shape[1:]).transpose(0, 1).reshape(-1, *images.shape[1:])
    grid = image_grid(by_row, k).numpy()
    return np.repeat(grid, 3, axis=2) if grid.shape[2] == 1 else grid


def labelled(
    syn: SyntheticSet,
    images: torch.Tensor,
    classes: list[int] | None,
    max_per_class: int | None,
    upscale: int | None,
) -> Image.Image:
    """The grid of ``images`` with each class's name at the left of its row."""
    classes = list(range(syn.num_classes)) if classes is None else classes
    body = Image.fromarray(grid_array(syn, images, classes, max_per_class, upscale))
    names = class_names(syn)
    canvas = Image.new("RGB", (body.width + LABEL_WIDTH, body.height), "white")
    canvas.paste(body, (LABEL_WIDTH, 0))
    draw = ImageDraw.Draw(canvas)
    row_h = body.height / max(1, len(classes))
    text_font = font(13 if row_h >= 20 else 10)
    for i, c in enumerate(classes):
        draw.text((6, i * row_h + row_h / 2 - 7), names[c][:15], fill=(40, 40, 40), font=text_font)
    return canvas


def png_bytes(img: Image.Image | np.ndarray) -> bytes:
    """PNG of a PIL image or a uint8 array (fast compression: grids are small and redrawn while a run goes)."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img.squeeze() if img.ndim == 3 and img.shape[2] == 1 else img)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- attention maps
@lru_cache(maxsize=1)
def viridis_lut() -> np.ndarray:
    """256 × RGB uint8 of the Viridis colour scale (Plotly's, as the page's heat maps)."""
    import re

    from plotly.colors import sample_colorscale

    cols = sample_colorscale("Viridis", [i / 255 for i in range(256)])
    return np.array([[float(v) for v in re.findall(r"[\d.]+", c)[:3]] for c in cols]).round().astype(np.uint8)


def colorize(maps: torch.Tensor, size: int) -> torch.Tensor:
    """[N,H,W] maps → [N,3,size,size] RGB in [0,1] (each map scaled to its own max, viridis)."""
    m = maps.detach().float()
    m = m / m.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]
    m = torch.nn.functional.interpolate(m[:, None], size=(size, size), mode="nearest")[:, 0]
    idx = (m * 255).round().clamp(0, 255).long().numpy()
    return torch.from_numpy(viridis_lut()[idx]).permute(0, 3, 1, 2).float() / 255


def attention_tiles(images01: torch.Tensor, maps_per_layer: list[torch.Tensor]) -> Image.Image:
    """A grid: row 0 the images, then one row of colourised maps per block (columns = images)."""
    n, c, h, w = images01.shape
    rows = [images01.repeat(1, 3, 1, 1) if c == 1 else images01]
    rows += [colorize(m, h) for m in maps_per_layer]
    stacked = torch.cat(rows)  # row-major: (1 + L) rows of n
    return Image.fromarray(image_grid(stacked, n, None, None).numpy())
