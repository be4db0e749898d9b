"""VGG11, CIFAR variant (docs/algorithms.md §1)."""

from __future__ import annotations

import torch.nn as nn

from ..errors import ConfigError
from .layers import ConvStack, norm2d

_VGG11_CFG: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG11(ConvStack):
    """VGG11, CIFAR variant: config 64-M-128-M-256-256-M-512-512-M-512-512-M, each number conv3×3 (pad 1; pad 3 for
    the first conv on 28 px) → norm (instance by default; batch for ``vgg11-bn``) → ReLU, M = maxpool 2×2; then
    Linear(512 → K). At 28/32 px the map is already 1×1 (the original's trailing AvgPool(1) is the identity); for
    larger inputs (64/128 px) an adaptive average pooling to 1×1 is applied before the head. ``embed`` = the 512-d
    vector; ``features`` = the 8 conv activations (before pooling).
    """

    def __init__(self, channels: int, num_classes: int, image_size: int, norm: str = "instance"):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        pool_after: list[bool] = []
        c_in, h, first = channels, image_size, True
        for v in _VGG11_CFG:
            if v == "M":
                pool_after[-1] = True
                h //= 2
                continue
            assert isinstance(v, int)
            pad = 3 if (first and image_size == 28) else 1
            h = h + 2 * pad - 2
            first = False
            self.convs.append(nn.Conv2d(c_in, v, 3, padding=pad))
            self.norms.append(norm2d(norm, v, (h, h)))
            pool_after.append(False)
            c_in = v
        if h < 1:
            raise ConfigError(f"vgg11 needs images of at least 32 px (28 px is padded to 32), got {image_size}")
        self._pool_after = tuple(pool_after)
        self.head_size = 1
        self.adapt = h != 1
        self.classifier = nn.Linear(512, num_classes)
        self.num_blocks = 8
        self.embed_dim = 512
