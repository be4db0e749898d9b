"""DataDAM's attention maps for an AM run's report: real and synthetic images of one class with their spatial
attention per block, through one fresh random net, as the Gallery draws them."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DDError
from ..grids import attention_tiles, class_names, png_bytes
from ..synthetic import SyntheticSet
from .data import Entry

N_REAL = 8
SEED = 0


@dataclass
class AttentionPictures:
    real_png: bytes
    syn_png: bytes
    caption: str


def attention_pictures(entry: Entry, cls: int = 0) -> AttentionPictures | str:
    """The pictures of class ``cls`` of the run's final (or latest) set, or why there are none (a sentence)."""
    import torch

    from ..data import load_dataset
    from ..methods.attention_maps import attention_maps

    path = entry.final_set()
    if path is None:
        return "no synthetic set yet"
    syn = SyntheticSet.load(path)
    cfg = entry.summary.get("config") or syn.meta.get("config") or {}
    power = float(cfg.get("power", 1.0))
    net = syn.meta.get("net") or cfg.get("net") or "convnet-3"
    try:
        real = load_dataset(entry.dataset, **(entry.config.get("dataset_options") or {}))
    except DDError as err:
        return f"the real images could not be loaded ({err})"
    members = real.class_indices[cls]
    pick = members[torch.randperm(len(members), generator=torch.Generator().manual_seed(SEED))[:N_REAL]]
    real_x, syn_x = real.train_images[pick], syn.images[syn.labels == cls]
    syn_maps, real_maps = attention_maps(syn_x, real_x, net, power, SEED, num_classes=syn.num_classes)
    mean = torch.tensor(syn.meta["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(syn.meta["std"]).view(1, -1, 1, 1)
    return AttentionPictures(
        png_bytes(attention_tiles((real_x * std + mean).clamp(0, 1), real_maps)),
        png_bytes(attention_tiles((syn_x * std + mean).clamp(0, 1), syn_maps)),
        f"class {class_names(syn)[cls]}: the images (top row) and their attention per block (rows below), "
        f"normalize(Σ_channels |A|^p) with p = {power:g}, through one fresh random {net}; AM matches every block "
        "but the last.",
    )
