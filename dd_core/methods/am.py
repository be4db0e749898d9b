"""AM: DataDAM attention matching (Sajedi et al., ICCV 2023), ALGORITHMS.md §5.

With a fresh random network and the same siamese DSA as DM, for each block l < D its activation A_l gives a spatial
attention vector per image

    a_l(x) = normalize_L2( flatten( Σ_channels |A_l(x)|^p ) )                          [N, H_l·W_l]

    L = 100 · Σ_{l<D} Σ_c ‖ mean_{R_c} a_l − mean_{S_c} a_l ‖²                     (attention term)
      + 100 · λ · Σ_c ‖ mean_{R_c} ψ(x) − mean_{S_c} ψ(s) ‖²                        (embedding / MMD term)

p = 1 (the official code; its paper's table says 4 — selectable), λ = task_balance = 0.01, batch_real 64 per class.
Instance norm by default (ALGORITHMS.md §8.1: the official script's ConvNet is batch norm; choose it with net norm).
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
from .random_nets import chunks


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
    config_cls = AMConfig

    def _parts(self, x: Tensor) -> list[Tensor]:
        """Attention vectors of blocks 1..D-1 and the embedding, for a batch x: [N,·] each."""
        blocks, emb = self.model.net.features(x)
        return [attention(a, self.cfg.power) for a in blocks[:-1]] + [emb]

    def step(self, it: int) -> dict:
        self.model.fresh(it)
        real_x, real_groups, syn_x, syn_groups = self.real_and_synthetic_batches()
        k = self.meta.num_classes
        with torch.no_grad():
            real_sums = None
            for start, x in chunks(real_x, self.chunk):
                g = real_groups[start : start + len(x)]
                parts = [
                    torch.zeros(k, p.shape[1], device=p.device).index_add_(0, g.to(p.device), p) for p in self._parts(x)
                ]
                real_sums = parts if real_sums is None else [a + b for a, b in zip(real_sums, parts)]
            counts = torch.bincount(real_groups, minlength=k).clamp_min(1).to(real_sums[0])[:, None]
            real_means = [s / counts for s in real_sums]
        syn_means = [class_means(p, syn_groups, k) for p in self._parts(syn_x)]
        diffs = [(r - s).square().sum() for r, s in zip(real_means, syn_means)]
        loss_attention = self.cfg.loss_weight * sum(diffs[:-1]) if len(diffs) > 1 else torch.zeros(())
        loss_embedding = self.cfg.loss_weight * self.cfg.task_balance * diffs[-1]
        loss = loss_attention + loss_embedding
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.iteration = it + 1
        return {"loss": loss.item(), "loss_attention": loss_attention.item(), "loss_embedding": loss_embedding.item()}
