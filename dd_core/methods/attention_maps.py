"""Spatial attention maps of real and synthetic images, as AM (DataDAM) computes and matches them
(docs/algorithms.md §5): for each block l of a fresh random network,
``a_l(x) = normalize_L2(Σ_channels |A_l(x)|^p)`` reshaped to the block's H×W. A few images through one
random net: cheap enough for the Gallery page.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..device import seeded
from ..nets import build_net
from .am import attention


@torch.no_grad()
def attention_maps(
    syn: Tensor, real: Tensor, net_name: str, power: float = 1.0, seed: int = 0, *, num_classes: int = 10
) -> tuple[list[Tensor], list[Tensor]]:
    """Attention maps of ``syn [N,C,H,W]`` and ``real [M,C,H,W]`` (normalised images) through ONE freshly
    initialised ``net_name`` (seeded with ``seed``), as AM sees them.

    Returns ``(syn_maps, real_maps)``: for each block, a float tensor ``[N, H_l, W_l]`` (resp. ``[M, H_l, W_l]``),
    each map L2-normalised over its pixels like AM's attention vectors. AM matches the class means of every block
    except the last (the last enters through the embedding term).
    """
    if syn.dim() != 4 or real.dim() != 4 or syn.shape[1:] != real.shape[1:]:
        raise ValueError(
            f"synthetic {tuple(syn.shape)} and real {tuple(real.shape)} images must be [N,C,H,W] of the same C, H, W"
        )
    c, s = syn.shape[1], syn.shape[-1]
    with seeded(seed):
        net = build_net(net_name, c, num_classes, s)
    net.train()  # as AM uses it (batch-norm variants normalise with the batch's statistics)
    out = []
    for x in (syn, real):
        acts, _ = net.features(x.detach().float().cpu())
        out.append([attention(a, power).view(a.shape[0], a.shape[2], a.shape[3]) for a in acts])
    return out[0], out[1]
