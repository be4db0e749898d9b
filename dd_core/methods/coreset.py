"""Coreset baselines: real images chosen without learning (random subset; herding is added with the methods)."""
from __future__ import annotations

import torch
from torch import Tensor

from ..data import RealData
from ..errors import ConfigError


def check_ipc(real: RealData, ipc: int) -> None:
    """IPC must be ≥ 1 and at most the size of the smallest class."""
    if not isinstance(ipc, int) or ipc < 1:
        raise ConfigError(f"IPC (images per class) must be a whole number >= 1, got {ipc!r}")
    counts = real.class_counts()
    smallest = min(counts)
    if ipc > smallest:
        c = counts.index(smallest)
        raise ConfigError(f"IPC {ipc} is larger than class {real.meta.class_names[c]!r} of {real.meta.name}, "
                          f"which has {smallest} training images; use --ipc {smallest} or less")


def random_real(real: RealData, ipc: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """``ipc`` random real training images per class, class-major: images [K*ipc,C,H,W], labels [K*ipc]."""
    check_ipc(real, ipc)
    k = real.meta.num_classes
    images = torch.cat([real.sample_class(c, ipc, generator) for c in range(k)])
    labels = torch.arange(k, device=images.device).repeat_interleave(ipc)
    return images, labels
