"""Coreset baselines through the method contract: ``random`` (random real images per class) and ``herding``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..device import seeded
from ..errors import ConfigError
from ..evaluate import TrainSpec, train_network
from ..nets import build_net
from .base import Method, MethodConfig


@dataclass
class RandomConfig(MethodConfig):
    INITS = ("real",)


class RandomSubset(Method):
    """``random``: IPC random real images per class — the floor every distiller must beat."""

    name = "random"
    label = "random real"
    description = (
        "**Random real**: IPC random real images per class — the floor every distiller must beat. No iterations."
    )
    config_cls = RandomConfig
    iterative = False

    def step(self, it: int) -> dict:
        return {}


@dataclass
class HerdingConfig(MethodConfig):
    feature_epochs: int = 2  # epochs of training the feature ConvNet on real data (0: a random net)
    feature_train_size: int = 10000  # stratified training subset for that (0: the whole training set)
    pool: int = 0  # candidates per class (0: every training image of the class)
    INITS = ("real",)

    def validate(self) -> None:
        super().validate()
        for name in ("feature_epochs", "feature_train_size", "pool"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}", field=name)


def herding_select(features: Tensor, k: int) -> Tensor:
    """Greedy herding (Welling 2009): indices of ``k`` rows of ``features [N,F]`` whose running mean tracks the
    mean of all rows. Step t picks argmin_i ‖μ − (Σ_selected + f_i)/t‖ among unselected i."""
    mu = features.mean(0)
    chosen: list[int] = []
    total = torch.zeros_like(mu)
    available = torch.ones(len(features), dtype=torch.bool, device=features.device)
    for t in range(1, k + 1):
        dist = (mu - (total + features) / t).norm(dim=1)
        dist[~available] = float("inf")
        i = int(dist.argmin())
        chosen.append(i)
        available[i] = False
        total = total + features[i]
    return torch.tensor(chosen, dtype=torch.long)


class Herding(Method):
    """``herding``: per class, greedily pick real images whose running mean embedding tracks the class mean, in the
    feature space of a ConvNet trained briefly on the real training set (the papers' herding baseline)."""

    name = "herding"
    label = "herding"
    description = (
        "**Herding**: per class, greedily pick real images whose running mean embedding tracks the class "
        "mean, in the feature space of a briefly trained ConvNet (docs/algorithms.md §7). No iterations."
    )
    config_cls = HerdingConfig
    cfg: HerdingConfig
    iterative = False

    def init_images(self) -> Tensor:
        cfg, real, m = self.cfg, self.real, self.meta
        with seeded(cfg.seed, self.device):
            net = build_net(self.net_name, m.channels, m.num_classes, m.image_size).to(self.device)
        if cfg.feature_epochs:
            sub = (
                real
                if not cfg.feature_train_size or cfg.feature_train_size >= len(real.train_labels)
                else real.subset(cfg.feature_train_size, None, seed=cfg.seed)
            )
            spec = TrainSpec(epochs=cfg.feature_epochs, lr=0.01, momentum=0.9, weight_decay=5e-4, schedule="cosine")
            train_network(net, sub.train_images, sub.train_labels, spec, generator=self.generator)
        net.eval()
        picked = []
        with torch.inference_mode():
            for members in real.class_indices:
                if cfg.pool and cfg.pool < len(members):
                    members = members[
                        torch.randperm(len(members), generator=self.generator)[: cfg.pool].to(members.device)
                    ]
                feats = torch.cat(
                    [net.embed(real.train_images[members[i : i + 512]]) for i in range(0, len(members), 512)]
                )
                picked.append(members[herding_select(feats, cfg.ipc).to(members.device)])
        return real.train_images[torch.cat(picked)].clone()

    def step(self, it: int) -> dict:
        return {}
