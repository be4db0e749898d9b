"""What the zoo shares: the common network interface (:class:`Net`), norm/activation builders and the
conv-stack forward of AlexNet and VGG11."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .norms import GroupNormNCHW, InstanceNorm

NORMS: tuple[str, ...] = ("instance", "batch", "group", "layer", "none")
ACTS: tuple[str, ...] = ("relu", "leakyrelu", "swish", "sigmoid")
POOLS: tuple[str, ...] = ("avg", "max", "none")


def norm2d(norm: str, c: int, hw: tuple[int, int] | None = None) -> nn.Module:
    if norm == "instance":
        return InstanceNorm(c)
    if norm == "batch":
        return nn.BatchNorm2d(c)
    if norm == "group":
        return GroupNormNCHW(math.gcd(4, c), c)
    if norm == "layer":
        assert hw is not None
        return nn.LayerNorm([c, hw[0], hw[1]], elementwise_affine=True)
    return nn.Identity()


def activation(act: str) -> nn.Module:
    if act == "relu":
        return nn.ReLU(inplace=True)
    if act == "leakyrelu":
        return nn.LeakyReLU(0.01, inplace=True)
    if act == "swish":
        return nn.SiLU()
    return nn.Sigmoid()


class Net(nn.Module):
    """Shared interface. Subclasses implement ``_run(x, acts)`` returning the embedding and appending each block's
    activation to ``acts`` when it is a list."""

    num_blocks: int
    embed_dim: int
    classifier: nn.Linear

    def _run(self, x: torch.Tensor, acts: list | None) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self._run(x, None))

    def features(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        acts: list[torch.Tensor] = []
        emb = self._run(x, acts)
        return acts, emb


class ConvStack(Net):
    """Convs → norm → ReLU with 2×2 max pooling after the flagged layers (AlexNet, VGG11); ``features`` are the
    post-ReLU activations. Inputs larger than the CIFAR size are pooled adaptively to ``head_size`` before the head."""

    def _run(self, x, acts):
        for conv, norm, pool in zip(self.convs, self.norms, self._pool_after, strict=True):
            x = F.relu(norm(conv(x)), inplace=True)
            if acts is not None:
                acts.append(x)
            if pool:
                x = F.max_pool2d(x, 2)
        if self.adapt:
            x = F.adaptive_avg_pool2d(x, self.head_size)
        return x.flatten(1)
