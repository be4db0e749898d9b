"""Pixel helpers shared by the loaders' ``load()``: PIL decoding + resizing, tensor resizing / channel conversion,
normalisation, label tensors. Imported by ``load()`` only, so that ``status()`` never imports PyTorch."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ..errors import ConfigError

_GRAY = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, the weights of PIL's convert("L")


# ---------------------------------------------------------------- PIL side (folder, MHIST)


def load_image(path: str | Path, size: int, channels: int) -> np.ndarray:
    """Decode one image file -> uint8 [size,size,channels]: resize the shorter side to ``size`` (bilinear with
    antialiasing), then center-crop to a square. Raises the PIL / OS error for an unreadable file."""
    with Image.open(path) as opened:
        im: Image.Image = opened.convert("L" if channels == 1 else "RGB")
        w, h = im.size
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        if (nw, nh) != (w, h):
            im = im.resize((nw, nh), Image.Resampling.BILINEAR)
        if (nw, nh) != (size, size):
            left, top = (nw - size) // 2, (nh - size) // 2
            im = im.crop((left, top, left + size, top + size))
        arr = np.asarray(im, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def load_images(
    paths: Sequence[Path], size: int, channels: int, on_error: Callable[[int, Path, Exception], Exception]
) -> np.ndarray:
    """Decode many files in parallel threads (PIL releases the GIL) -> uint8 [N,size,size,channels].
    ``on_error(i, path, exc)`` builds the exception raised for the first unreadable file (in list order)."""
    out = np.empty((len(paths), size, size, channels), dtype=np.uint8)

    def work(i: int) -> Exception | None:
        try:
            out[i] = load_image(paths[i], size, channels)
            return None
        except Exception as e:  # noqa: BLE001 - any decoder failure means "unreadable image"
            return e

    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        errors = list(pool.map(work, range(len(paths))))
    for i, err in enumerate(errors):
        if err is not None:
            raise on_error(i, paths[i], err) from None
    return out


# ---------------------------------------------------------------- tensor side


def uint8_to_float(arr: np.ndarray, channels_last: bool) -> Tensor:
    """uint8 [N,H,W] or [N,H,W,C] (``channels_last``) or [N,C,H,W] -> float32 [N,C,H,W] in [0,1] (contiguous)."""
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:  # e.g. np.frombuffer over file bytes; torch wants a writable array
        arr = arr.copy()
    t = torch.from_numpy(arr)
    if t.ndim == 3:
        t = t.unsqueeze(1)
    elif channels_last:
        t = t.permute(0, 3, 1, 2)
    return t.contiguous().float().div_(255.0)


def resize_batch(x: Tensor, size: int, chunk: int = 4096) -> Tensor:
    """[N,C,H,W] square images -> [N,C,size,size], bilinear with antialiasing; chunked to bound peak memory."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    parts = [
        F.interpolate(x[i : i + chunk], size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        for i in range(0, len(x), chunk)
    ]
    return torch.cat(parts).clamp_(0.0, 1.0)


def convert_channels(x: Tensor, channels: int) -> Tensor:
    """[N,C,H,W] -> [N,channels,H,W]: gray -> RGB repeats the channel; RGB -> gray uses the luma weights."""
    c = x.shape[1]
    if c == channels:
        return x
    if c == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        w = torch.tensor(_GRAY, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * w).sum(dim=1, keepdim=True)
    raise ConfigError(f"cannot convert {c}-channel images to {channels} channels")


def channel_stats(x: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) std of [N,C,H,W] values; a zero std is replaced by 1 (constant images)."""
    flat = x.transpose(0, 1).reshape(x.shape[1], -1).double()
    mean = flat.mean(dim=1)
    std = flat.std(dim=1, unbiased=False)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def normalize_(x: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """In place: (x - mean) / std per channel; returns ``x``."""
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x.sub_(m).div_(s)


def adapt_and_normalize(
    train: Tensor,
    test: Tensor,
    native_channels: int,
    image_size: int | None,
    channels: int | None,
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> tuple[Tensor, Tensor, int, int, tuple[float, ...], tuple[float, ...]]:
    """For fixed-size datasets (MNIST, CIFAR): optional resize / channel change, then normalise both splits.
    Keeps the published constants (replicated for gray -> RGB); RGB -> gray recomputes them from the training split.
    Returns (train, test, channels, image_size, mean, std)."""
    size = image_size or train.shape[-1]
    ch = channels or native_channels
    train, test = resize_batch(train, size), resize_batch(test, size)
    if ch != native_channels:
        train, test = convert_channels(train, ch), convert_channels(test, ch)
        if native_channels == 1:
            mean, std = mean * ch, std * ch
        else:
            mean, std = channel_stats(train)
    return normalize_(train, mean, std), normalize_(test, mean, std), ch, size, mean, std


def label_tensor(labels: Sequence[int] | np.ndarray) -> Tensor:
    """Class labels (list or integer array) -> [N] int64 tensor."""
    return torch.as_tensor(np.asarray(labels), dtype=torch.int64)
