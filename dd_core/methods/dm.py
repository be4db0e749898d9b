"""DM: Distribution Matching (Zhao & Bilen, WACV 2023), docs/algorithms.md §4.

Per iteration, with a freshly initialised (never trained) network ψ and one siamese DSA transform A_c per class:

    L(S) = Σ_c ‖ mean_{x∈R_c} ψ(A_c(x)) − mean_{s∈S_c} ψ(A_c(s)) ‖²        (real side constant)

then one SGD step (lr_img, momentum 0.5) on the synthetic images S. All classes go through one forward: exact
for per-sample norms (instance/group/layer/none) and what batch norm needs (statistics mixing classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..config import check_positive
from ..errors import ConfigError
from .base import Method, MethodConfig, class_means, sample_real_batch
from .random_nets import RandomNet, choose_chunk, real_class_means


@dataclass
class DMConfig(MethodConfig):
    lr_img: float = 1.0  # SGD on pixels (paper: 1 for IPC ≤ 50, 10 above)
    momentum: float = 0.5
    batch_real: int = 256  # real images per class per iteration
    chunk: int = -1  # real-forward chunk: -1 auto (measured), 0 one batch, n > 0 fixed

    def validate(self) -> None:
        super().validate()
        check_positive("lr_img", self.lr_img)
        check_positive("batch_real", self.batch_real, integer=True)
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}", field="momentum")
        if self.chunk < -1:
            raise ConfigError(
                f"chunk must be -1 (auto), 0 (one batch) or a positive size, got {self.chunk}", field="chunk"
            )


class DM(Method):
    name = "dm"
    label = "DM"
    description = (
        "**DM** (Zhao & Bilen, WACV 2023): match the mean embedding of real and synthetic images of each "
        "class under a fresh random ConvNet every iteration (docs/algorithms.md §4)."
    )
    config_cls = DMConfig
    cfg: DMConfig

    def __init__(self, real, cfg: DMConfig, device, on_event=None, should_stop=None):
        super().__init__(real, cfg, device, on_event, should_stop)
        self.model = RandomNet(self.net_name, self.meta, self.device, cfg.seed)
        self.optimizer = torch.optim.SGD([self.images], lr=cfg.lr_img, momentum=cfg.momentum)
        self.chunk = (
            cfg.chunk
            if cfg.chunk >= 0
            else choose_chunk(
                self.model.net,
                self.model.prepare(self.real.train_images[:256]),
                self.model.net.embed,  # the real side's forward
                self.model.batchnorm,
            )
        )

    def real_and_synthetic_batches(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Siamese-augmented real batch [ΣB_c,...] and synthetic batch [K·IPC,...] with their class ids."""
        real_x, real_groups = sample_real_batch(self.real, self.cfg.batch_real, self.generator)
        syn_x, syn_groups = self.images, self.labels
        if self.dsa is not None:
            params = self.dsa.sample(self.meta.num_classes, self.generator)  # one transform per class
            real_x = self.dsa.apply(real_x, params, real_groups)
            syn_x = self.dsa.apply(syn_x, params, syn_groups)
        return self.model.prepare(real_x), real_groups, self.model.prepare(syn_x), syn_groups

    def step(self, it: int) -> dict:
        net = self.model.fresh(it)
        real_x, real_groups, syn_x, syn_groups = self.real_and_synthetic_batches()
        k = self.meta.num_classes
        (real_mean,) = real_class_means(lambda x: [net.embed(x)], real_x, real_groups, k, self.chunk)
        syn_mean = class_means(net.embed(syn_x), syn_groups, k)
        loss = (real_mean - syn_mean).square().sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.iteration = it + 1
        return {"loss": loss.item()}
