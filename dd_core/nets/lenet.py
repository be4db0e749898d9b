"""LeNet as in the DC/DM code (docs/algorithms.md §1)."""

from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError
from .layers import Net


class LeNet(Net):
    """LeNet (DC): conv5×5(6, pad 2 on 28 px else 0) → ReLU → maxpool2 → conv5×5(16) → ReLU → maxpool2 → flatten
    (16·5·5) → FC120 → ReLU → FC84 → ReLU → FC(K). For other sizes (e.g. 64/128 px) an adaptive average pooling to
    5×5 is inserted after the second max-pool so the 400-d head is unchanged (identity, and absent, at 28/32 px).
    ``embed`` = the 84-d input of the final Linear; ``features`` = the two conv activations (before pooling).
    """

    def __init__(self, channels: int, num_classes: int, image_size: int):
        super().__init__()
        pad = 2 if image_size == 28 else 0
        self.conv1 = nn.Conv2d(channels, 6, 5, padding=pad)
        self.conv2 = nn.Conv2d(6, 16, 5)
        h = ((image_size + 2 * pad - 4) // 2 - 4) // 2
        if h < 1:
            raise ConfigError(f"lenet needs images of at least 16 px, got {image_size}")
        self.adapt = h != 5
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.classifier = nn.Linear(84, num_classes)
        self.num_blocks = 2
        self.embed_dim = 84

    def _run(self, x, acts):
        x = F.relu(self.conv1(x), inplace=True)
        if acts is not None:
            acts.append(x)
        x = F.relu(self.conv2(F.max_pool2d(x, 2)), inplace=True)
        if acts is not None:
            acts.append(x)
        x = F.max_pool2d(x, 2)
        if self.adapt:
            x = F.adaptive_avg_pool2d(x, 5)
        x = F.relu(self.fc1(x.flatten(1)), inplace=True)
        return F.relu(self.fc2(x), inplace=True)
