"""A two-hidden-layer MLP (docs/algorithms.md §1)."""

from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from .layers import Net


class MLP(Net):
    """MLP: flatten (C·H·W) → FC128 → ReLU → FC128 → ReLU → FC(K). ``embed`` = the second 128-d hidden activation;
    ``features`` = the two hidden activations, which are 2-D [N, 128] tensors (no spatial dimensions)."""

    def __init__(self, channels: int, num_classes: int, image_size: int):
        super().__init__()
        self.fc1 = nn.Linear(channels * image_size * image_size, 128)
        self.fc2 = nn.Linear(128, 128)
        self.classifier = nn.Linear(128, num_classes)
        self.num_blocks = 2
        self.embed_dim = 128

    def _run(self, x, acts):
        x = F.relu(self.fc1(x.flatten(1)), inplace=True)
        if acts is not None:
            acts.append(x)
        x = F.relu(self.fc2(x), inplace=True)
        if acts is not None:
            acts.append(x)
        return x
