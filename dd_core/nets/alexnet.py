"""AlexNet, the small CIFAR variant of the DC code (docs/algorithms.md §1)."""

from __future__ import annotations

import torch.nn as nn

from ..errors import ConfigError
from .layers import ConvStack


class AlexNet(ConvStack):
    """AlexNet, the small CIFAR variant of the DC code (no dropout/LRN): conv5×5(128, pad 2; pad 4 on 28 px) → ReLU
    → maxpool2 → conv5×5(192) → ReLU → maxpool2 → conv3×3(256) → ReLU → conv3×3(192) → ReLU → conv3×3(192) → ReLU →
    maxpool2 → flatten 192·4·4 = 3072 → Linear(K). ``batchnorm=True`` (``alexnet-bn``) puts BatchNorm2d after every
    conv. For inputs whose final map is not 4×4 (64/128 px) an adaptive average pooling to 4×4 is inserted before
    the flatten so the 3072-d head is unchanged. ``embed`` = the 3072-d vector; ``features`` = the 5 conv
    activations (before pooling).
    """

    def __init__(self, channels: int, num_classes: int, image_size: int, batchnorm: bool = False):
        super().__init__()
        cfg = [
            (channels, 128, 5, 4 if image_size == 28 else 2),
            (128, 192, 5, 2),
            (192, 256, 3, 1),
            (256, 192, 3, 1),
            (192, 192, 3, 1),
        ]
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for cin, cout, k, p in cfg:
            self.convs.append(nn.Conv2d(cin, cout, k, padding=p))
            self.norms.append(nn.BatchNorm2d(cout) if batchnorm else nn.Identity())
        self._pool_after = (True, True, False, False, True)
        h = image_size + 2 * cfg[0][3] - 4
        h = ((h // 2) // 2) // 2
        if h < 1:
            raise ConfigError(f"alexnet needs images of at least 8 px, got {image_size}")
        self.head_size = 4
        self.adapt = h != 4
        self.classifier = nn.Linear(192 * 4 * 4, num_classes)
        self.num_blocks = 5
        self.embed_dim = 192 * 16
