"""The animated GIF of a run's snapshots (Pillow): one frame per kept snapshot, the iteration drawn in each, one
palette shared by every frame (no flicker), and a bounded file size (frames scaled down until it fits)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

from PIL import Image, ImageDraw

from ..grids import font, labelled_grid
from ..synthetic import SyntheticSet

MAX_BYTES = 3_000_000  # a few MB at most: the Gallery's download, a slide
MAX_PER_CLASS = 10  # images per class row in a frame
FRAME_MS = 160
LAST_FRAME_MS = 1500
HEADER = 30
MIN_WIDTH = 280


def frame(
    syn: SyntheticSet, iteration: int, total: int | None, scale: float = 1.0, upscale: int | None = None
) -> Image.Image:
    """One frame: a header with the iteration (and a progress bar when ``total`` is known) above the labelled grid
    of ``syn`` (at most :data:`MAX_PER_CLASS` images per class; ``upscale``: pixels per image pixel, None: the
    grid's default), scaled by ``scale``."""
    grid = labelled_grid(syn, max_per_class=MAX_PER_CLASS, upscale=upscale)
    if scale != 1.0:
        size = (max(1, round(grid.width * scale)), max(1, round(grid.height * scale)))
        grid = grid.resize(size, Image.Resampling.NEAREST if scale > 0.5 else Image.Resampling.BOX)
    width = max(grid.width, MIN_WIDTH)
    canvas = Image.new("RGB", (width, grid.height + HEADER), "white")
    canvas.paste(grid, ((width - grid.width) // 2, HEADER))
    draw = ImageDraw.Draw(canvas)
    text = f"iteration {iteration}" + (f" / {total}" if total else "")
    draw.text((8, 5), text, fill=(20, 20, 20), font=font(18))
    if total:
        done = min(1.0, max(0.0, iteration / total))
        draw.rectangle((0, HEADER - 4, width - 1, HEADER - 2), fill=(225, 225, 225))
        draw.rectangle((0, HEADER - 4, round((width - 1) * done), HEADER - 2), fill=(0, 114, 178))
    return canvas


def encode(frames: list[Image.Image], grey: bool, colors: int = 255) -> bytes:
    """GIF bytes of ``frames`` with at most ``colors`` colours: greys as they are (L, fewer levels when asked),
    colour through one palette made from the first, middle and last frames, without dithering (dither noise costs
    bytes and flickers)."""
    if grey:
        step = max(1, 256 // colors)
        pal = [f.convert("L").point(lambda v, s=step: v // s * s) for f in frames]
    else:
        probe = [frames[0], frames[len(frames) // 2], frames[-1]]
        strip = Image.new("RGB", (probe[0].width, sum(f.height for f in probe)))
        y = 0
        for f in probe:
            strip.paste(f, (0, y))
            y += f.height
        palette = strip.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        pal = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    durations = [FRAME_MS] * (len(pal) - 1) + [LAST_FRAME_MS]
    buf = io.BytesIO()
    pal[0].save(buf, format="GIF", save_all=True, append_images=pal[1:], duration=durations, loop=0, optimize=False)
    return buf.getvalue()


# cheaper and cheaper renderings, tried in order until the file fits: (pixels per image pixel, colours)
ATTEMPTS: list[tuple[int | None, int]] = [(None, 255), (1, 255), (1, 64), (1, 32)]


def snapshots_gif(
    snapshots: Sequence[tuple[int, str | os.PathLike]], total_iterations: int | None = None, max_bytes: int = MAX_BYTES
) -> bytes:
    """An animated GIF of ``snapshots`` ([(iteration, path of its .pt)], in order): one frame per snapshot, at most
    ``max_bytes``: native pixels, then fewer colours, then smaller frames until the file fits (never a frame
    dropped)."""
    if not snapshots:
        raise ValueError("a GIF needs at least one snapshot")
    sets = [(it, SyntheticSet.load(path)) for it, path in snapshots]
    grey = int(sets[0][1].meta.get("channels") or 1) == 1
    total = total_iterations or max(it for it, _ in sets) or None
    for upscale, colors in ATTEMPTS:
        data = encode([frame(syn, it, total, 1.0, upscale) for it, syn in sets], grey, colors)
        if len(data) <= max_bytes:
            return data
    scale = 1.0
    while len(data) > max_bytes and scale >= 0.2:
        scale *= min(0.8, 0.95 * (max_bytes / len(data)) ** 0.5)
        data = encode([frame(syn, it, total, scale, 1) for it, syn in sets], grey, 32)
    return data
