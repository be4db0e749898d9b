"""ResNet18, CIFAR style (docs/algorithms.md §1)."""

from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from .layers import Net, norm2d


class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm2d(norm, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = norm2d(norm, c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), norm2d(norm, c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet18(Net):
    """ResNet18, CIFAR style: conv3×3(64, stride 1, no bias) → norm → ReLU (no max-pool), 4 stages of 2 BasicBlocks
    (64/128/256/512, strides 1/2/2/2, 1×1 conv + norm shortcut on shape change), global average pooling → 512 →
    Linear(K). Norm = instance (``resnet18``) or batch (``resnet18-bn``). The original's ``avg_pool2d(4)`` is written
    as adaptive average pooling to 1×1 — identical at 28 px (final map 4×4) and 32 px (4×4), and it makes 64/128 px
    inputs work (8×8 / 16×16 maps) with the same 512-d head. ``embed`` = the pooled 512-d vector; ``features`` = the
    outputs of the 4 stages (after each stage's last ReLU, before the global pooling).
    """

    def __init__(self, channels: int, num_classes: int, image_size: int, norm: str = "instance"):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = norm2d(norm, 64)
        stages = []
        c_in = 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(nn.Sequential(_BasicBlock(c_in, c_out, stride, norm), _BasicBlock(c_out, c_out, 1, norm)))
            c_in = c_out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.classifier = nn.Linear(512, num_classes)
        self.num_blocks = 4
        self.embed_dim = 512

    def _run(self, x, acts):
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            if acts is not None:
                acts.append(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)
