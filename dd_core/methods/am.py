"""AM: DataDAM attention matching (Sajedi et al., ICCV 2023), docs/algorithms.md §5.

With a fresh random network and the same siamese DSA as DM, for each block l < D its activation A_l gives a spatial
attention vector per image

    a_l(x) = normalize_L2( flatten( Σ_channels |A_l(x)|^p ) )                          [N, H_l·W_l]

    L = 100 · Σ_{l<D} Σ_c ‖ mean_{R_c} a_l − mean_{S_c} a_l ‖²                     (attention term)
      + 100 · λ · Σ_c ‖ mean_{R_c} ψ(x) − mean_{S_c} ψ(s) ‖²                        (embedding / MMD term)

p = 1 (the official code; its paper's table says 4 — selectable), λ = task_balance = 0.01, batch_real 64 per class.
Instance norm by default (docs/algorithms.md §8.1: the official script's ConvNet is batch norm; choose it with
the net's norm).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import check_positive
from ..errors import ConfigError
from .base import class_means
from .dm import DM, DMConfig
from .random_nets import real_class_means


@dataclass
class AMConfig(DMConfig):
    batch_real: int = 64  # official script default (paper table: 128–256 on large sets)
    power: float = 1.0  # p in Σ|A|^p (official code: 1; paper table: 4)
    task_balance: float = 0.01  # λ, weight of the embedding term relative to the attention term
    loss_weight: float = 100.0  # both terms are multiplied by this factor

    def validate(self) -> None:
        super().validate()
        check_positive("power", self.power)
        check_positive("loss_weight", self.loss_weight)
        if self.task_balance < 0:
            raise ConfigError(f"task_balance must be >= 0, got {self.task_balance}", field="task_balance")


def attention(activation: Tensor, power: float) -> Tensor:
    """Spatial attention of a block: [N,C,H,W] → L2-normalised [N, H·W] of Σ_c |A|^p."""
    if power == 1:  # Σ_c |A|, one pass without the |A| copy (its gradient, sign(A), is defined everywhere)
        a = torch.linalg.vector_norm(activation, ord=1, dim=1)
    else:
        a = activation.abs().pow(power).sum(1)
    return F.normalize(a.flatten(1), dim=1)


class AM(DM):
    name = "am"
    label = "AM (DataDAM)"
    description = (
        "**AM (DataDAM)** (Sajedi et al., ICCV 2023): match per-block spatial attention maps plus the "
        "embedding (docs/algorithms.md §5). Norm: **instance norm** by default (as DM, and the paper's table)"
        " while the official script builds batch-norm ConvNets — pick `convnet-3-bn` as the net to follow it "
        "(docs/algorithms.md §8.1). Power p = 1 by default (official code; the paper's table says 4)."
    )
    config_cls = AMConfig
    cfg: AMConfig

    def _parts(self, x: Tensor) -> list[Tensor]:
        """Attention vectors of blocks 1..D-1 and the embedding, for a batch x: [N,·] each."""
        blocks, emb = self.model.net.features(x)
        return [attention(a, self.cfg.power) for a in blocks[:-1]] + [emb]

    def step(self, it: int) -> dict:
        self.model.fresh(it)
        real_x, real_groups, syn_x, syn_groups = self.real_and_synthetic_batches()
        k = self.meta.num_classes
        real_means = real_class_means(self._parts, real_x, real_groups, k, self.chunk)
        syn_means = [class_means(p, syn_groups, k) for p in self._parts(syn_x)]
        diffs = [(r - s).square().sum() for r, s in zip(real_means, syn_means, strict=True)]
        loss_attention = self.cfg.loss_weight * torch.stack(diffs[:-1]).sum() if len(diffs) > 1 else torch.zeros(())
        loss_embedding = self.cfg.loss_weight * self.cfg.task_balance * diffs[-1]
        loss = loss_attention + loss_embedding
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.iteration = it + 1
        return {"loss": loss.item(), "loss_attention": loss_attention.item(), "loss_embedding": loss_embedding.item()}
