"""ConvNet-D, the distillation backbone (docs/algorithms.md §1)."""

from __future__ import annotations

import math

import torch.nn as nn

from .layers import Net, activation, norm2d
from .norms import can_fuse_first_block, conv_instance_norm


class _ConvBlock(nn.Module):
    def __init__(self, conv: nn.Conv2d, norm: nn.Module, act: nn.Module, pool: nn.Module):
        super().__init__()
        self.conv, self.norm, self.act, self.pool = conv, norm, act, pool


class ConvNet(Net):
    """ConvNet-D: D × [Conv3×3(width, pad 1; pad 3 for the first conv on 28 px) → norm → act → 2×2 pool],
    flatten → Linear. ``embed`` is the flattened output of the last block (width·h·w features, 2048 for ConvNet-3 on
    28/32 px); ``features`` returns each block's activation before pooling. Submodules: ``blocks[i].conv/.norm/
    .act/.pool`` and ``classifier``.
    """

    def __init__(
        self,
        channels: int,
        num_classes: int,
        image_size: int,
        depth: int = 3,
        width: int = 128,
        norm: str = "instance",
        act: str = "relu",
        pool: str = "avg",
    ):
        super().__init__()
        h = image_size
        blocks = []
        c_in = channels
        for d in range(depth):
            pad = 3 if (d == 0 and image_size == 28) else 1
            h = h + 2 * pad - 2
            conv = nn.Conv2d(c_in, width, kernel_size=3, padding=pad)
            nrm = norm2d(norm, width, (h, h))
            pl: nn.Module = nn.Identity()
            if pool != "none":
                pl = nn.AvgPool2d(2, 2) if pool == "avg" else nn.MaxPool2d(2, 2)
                h //= 2
            blocks.append(_ConvBlock(conv, nrm, activation(act), pl))
            c_in = width
        self.blocks = nn.ModuleList(blocks)
        self.depth = depth
        self.num_blocks = depth
        self.out_hw = h
        self.embed_dim = width * h * h
        self.classifier = nn.Linear(self.embed_dim, num_classes)

    def _run(self, x, acts):
        for i, b in enumerate(self.blocks):
            if i == 0 and can_fuse_first_block(x, b.conv, b.norm):
                x = b.act(conv_instance_norm(x, b.conv, b.norm))
            else:
                x = b.act(b.norm(b.conv(x)))
            if acts is not None:
                acts.append(x)
            x = b.pool(x)
        return x.flatten(1)


def convnet_max_depth(image_size: int, pool: str) -> int:
    h = 32 if image_size == 28 else image_size
    if pool == "none":
        return 10**6
    return int(math.floor(math.log2(h))) if h >= 1 else 0
